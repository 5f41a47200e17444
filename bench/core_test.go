package bench

import (
	"context"
	"math"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/sourcegraph/conc/iter"
	"github.com/sourcegraph/conc/pool"
	"golang.org/x/sync/errgroup"

	"github.com/par-project/par"
)

const tinyJobs = 1_000_000

func inputs(n int) []float64 {
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = float64(i)
	}
	return xs
}

func sqrt(_ context.Context, x float64) (float64, error) { return math.Sqrt(x), nil }

func perJob(b *testing.B, jobs int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(jobs), "ns/job")
}

// BenchmarkTiny runs 1M square roots (about 1 ns each) through every peer;
// the slower, per-job peers get 100k jobs so one run stays short, and all
// report ns/job.
func BenchmarkTiny(b *testing.B) {
	ctx := context.Background()
	xs := inputs(tinyJobs)
	out := make([]float64, tinyJobs)
	cores := runtime.GOMAXPROCS(0)
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			for i, x := range xs {
				out[i] = math.Sqrt(x)
			}
		}
		perJob(b, tinyJobs)
	})
	// handsplit writes into a slice made once, as For does; handsplit.map
	// makes its result slice each time, as Map (and conc's iter.Map) must.
	b.Run("handsplit", func(b *testing.B) {
		for b.Loop() {
			handsplit(xs, out, cores)
		}
		perJob(b, tinyJobs)
	})
	b.Run("handsplit.map", func(b *testing.B) {
		for b.Loop() {
			handsplit(xs, make([]float64, len(xs)), cores)
		}
		perJob(b, tinyJobs)
	})
	b.Run("par.Map", func(b *testing.B) {
		for b.Loop() {
			if _, err := par.Map(ctx, xs, sqrt); err != nil {
				b.Fatal(err)
			}
		}
		perJob(b, tinyJobs)
	})
	b.Run("par.For", func(b *testing.B) {
		for b.Loop() {
			_ = par.For(ctx, tinyJobs, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					out[i] = math.Sqrt(xs[i])
				}
			})
		}
		perJob(b, tinyJobs)
	})
	b.Run("par.Stream", func(b *testing.B) {
		for b.Loop() {
			i := 0
			for v, err := range par.Stream(ctx, xs, sqrt) {
				if err != nil {
					b.Fatal(err)
				}
				out[i] = v
				i++
			}
		}
		perJob(b, tinyJobs)
	})
	b.Run("conc.iter.Map", func(b *testing.B) {
		for b.Loop() {
			iter.Map(xs, func(x *float64) float64 { return math.Sqrt(*x) })
		}
		perJob(b, tinyJobs)
	})
	const fewer = tinyJobs / 10
	b.Run("par.Submit", func(b *testing.B) {
		p, _ := par.NewPool()
		defer p.Close()
		for b.Loop() {
			g := p.Group()
			for _, x := range xs[:fewer] {
				par.Submit(g, ctx, sqrt, x)
			}
			_ = g.Wait(ctx)
		}
		perJob(b, fewer)
	})
	b.Run("conc.pool", func(b *testing.B) {
		for b.Loop() {
			p := pool.New().WithMaxGoroutines(cores)
			for i, x := range xs[:fewer] {
				p.Go(func() { out[i] = math.Sqrt(x) })
			}
			p.Wait()
		}
		perJob(b, fewer)
	})
	b.Run("errgroup", func(b *testing.B) {
		for b.Loop() {
			var g errgroup.Group
			g.SetLimit(cores)
			for i, x := range xs[:fewer] {
				g.Go(func() error { out[i] = math.Sqrt(x); return nil })
			}
			_ = g.Wait()
		}
		perJob(b, fewer)
	})
}

// handsplit computes square roots with one goroutine per core, each on one
// contiguous chunk: the least any parallel loop can cost.
func handsplit(xs, out []float64, cores int) {
	var wg sync.WaitGroup
	chunk := (len(xs) + cores - 1) / cores
	for lo := 0; lo < len(xs); lo += chunk {
		wg.Go(func() {
			for i := lo; i < min(lo+chunk, len(xs)); i++ {
				out[i] = math.Sqrt(xs[i])
			}
		})
	}
	wg.Wait()
}

// sink keeps work's results alive: a result nobody reads lets the compiler
// delete the loop that computed it.
var sink float64

// work does n rounds of arithmetic: a fixed amount of CPU work, unlike a
// wall-clock spin, which a busy machine would shorten. It is never inlined,
// so every caller pays for the whole loop.
//
//go:noinline
func work(n int) float64 {
	x := 1.0
	for range n {
		x = math.Sqrt(x + 1)
	}
	return x
}

// roundsPerMilli calibrates work to about one millisecond on this machine.
func roundsPerMilli() int {
	n := 1 << 16
	for {
		t0 := time.Now()
		sink += work(n)
		if d := time.Since(t0); d > 5*time.Millisecond {
			return int(float64(n) * float64(time.Millisecond) / float64(d))
		}
		n *= 2
	}
}

// BenchmarkCPUBound runs 64 jobs of about 1 ms serially and with par.Map in
// each iteration and reports the speed-up and the parallel efficiency
// (speed-up / cores), measured in the same run.
func BenchmarkCPUBound(b *testing.B) {
	ctx := context.Background()
	jobs := make([]int, 64)
	rounds := roundsPerMilli()
	job := func(context.Context, int) (float64, error) { return work(rounds), nil }
	var serial, parallel time.Duration
	for b.Loop() {
		t0 := time.Now()
		for _, x := range jobs {
			v, _ := job(ctx, x)
			sink += v
		}
		t1 := time.Now()
		if _, err := par.Map(ctx, jobs, job); err != nil {
			b.Fatal(err)
		}
		serial += t1.Sub(t0)
		parallel += time.Since(t1)
	}
	speedup := serial.Seconds() / parallel.Seconds()
	b.ReportMetric(speedup, "speedup")
	b.ReportMetric(speedup/float64(runtime.GOMAXPROCS(0)), "efficiency")
}

// BenchmarkStream10M streams ten million generated inputs and reports the
// largest live heap seen while it ran.
func BenchmarkStream10M(b *testing.B) {
	ctx := context.Background()
	seq := func(yield func(int) bool) {
		for i := range 10_000_000 {
			if !yield(i) {
				return
			}
		}
	}
	var peak uint64
	for b.Loop() {
		i := 0
		for _, err := range par.Stream(ctx, seq, func(_ context.Context, x int) (int, error) { return x * 2, nil }) {
			if err != nil {
				b.Fatal(err)
			}
			if i++; i%1_000_000 == 0 {
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				peak = max(peak, m.HeapInuse)
			}
		}
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	perJob(b, 10_000_000)
}
