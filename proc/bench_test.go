//go:build linux

package proc

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/par-project/par"
	"github.com/par-project/par/internal/wire"
)

// BenchmarkProcMap runs 100,000 tiny jobs (a square root each) on two
// worker processes that are already running. Besides the time it reports
// the CPU time spent per job in this process and in the workers.
func BenchmarkProcMap(b *testing.B) {
	be := newBackend(b, Workers(2))
	xs := make([]float64, 100_000)
	for i := range xs {
		xs[i] = float64(i)
	}
	ctx := context.Background()
	if _, err := par.Map(ctx, xs[:1000], sqrtTask.Func(), par.On(be)); err != nil {
		b.Fatal(err)
	}
	pids := be.pids()
	self0, workers0 := cpuTime(os.Getpid()), cpuTimes(pids)
	for b.Loop() {
		if _, err := par.Map(ctx, xs, sqrtTask.Func(), par.On(be)); err != nil {
			b.Fatal(err)
		}
	}
	jobs := float64(b.N * len(xs))
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/jobs, "ns/job")
	b.ReportMetric(float64(cpuTime(os.Getpid())-self0)/jobs, "parent-cpu-ns/job")
	b.ReportMetric(float64(cpuTimes(pids)-workers0)/jobs, "worker-cpu-ns/job")
}

// cpuTime returns the CPU time process pid has used, from /proc.
func cpuTime(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	_, rest, _ := strings.Cut(string(data), ") ")
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond // clock ticks of 10 ms
}

func cpuTimes(pids []int) time.Duration {
	var sum time.Duration
	for _, pid := range pids {
		sum += cpuTime(pid)
	}
	return sum
}

// BenchmarkProcStart measures a worker's start-up: New, the first job on a
// new worker process, and Close.
func BenchmarkProcStart(b *testing.B) {
	ctx := context.Background()
	var first time.Duration
	for b.Loop() {
		t0 := time.Now()
		be, err := New(Workers(1))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := par.Map(ctx, []int{1}, squareTask.Func(), par.On(be)); err != nil {
			b.Fatal(err)
		}
		first += time.Since(t0)
		be.Close()
	}
	b.ReportMetric(float64(first.Microseconds())/float64(b.N)/1000, "ms/first-job")
}

// BenchmarkProcRoundTrip measures one job's round trip to a running worker
// and back: the fixed cost of a batch.
func BenchmarkProcRoundTrip(b *testing.B) {
	be := newBackend(b, Workers(1))
	ctx := context.Background()
	xs := make([]float64, 1000)
	for b.Loop() {
		if _, err := par.Map(ctx, xs, sqrtTask.Func(), par.On(be), par.BatchSize(1)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(xs)), "ns/batch")
}

// BenchmarkProcCPU runs 200 CPU-bound jobs of 5 ms each on two worker
// processes and reports the speed-up over running them one after another
// in this process; each iteration does both, so that a shared machine's
// load weighs on both alike.
func BenchmarkProcCPU(b *testing.B) {
	be := newBackend(b, Workers(2))
	ctx := context.Background()
	jobs := make([]time.Duration, 200)
	for i := range jobs {
		jobs[i] = 5 * time.Millisecond
	}
	if _, err := par.Map(ctx, jobs[:4], spinTask.Func(), par.On(be)); err != nil {
		b.Fatal(err)
	}
	var serial, parallel time.Duration
	for b.Loop() {
		t0 := time.Now()
		for _, d := range jobs {
			spinTask.Func()(ctx, d)
		}
		t1 := time.Now()
		if _, err := par.Map(ctx, jobs, spinTask.Func(), par.On(be)); err != nil {
			b.Fatal(err)
		}
		serial, parallel = serial+t1.Sub(t0), parallel+time.Since(t1)
	}
	b.ReportMetric(float64(serial)/float64(parallel), "speedup")
	b.ReportMetric(float64(parallel.Milliseconds())/float64(b.N), "ms/run")
}

// BenchmarkProcExec measures the backend alone, without par's engine: two
// goroutines hand 100,000 already encoded square-root jobs, in batches of
// 5,000, to a session of two workers. The difference from BenchmarkProcMap
// is what par's engine adds (encoding each input, decoding each result).
func BenchmarkProcExec(b *testing.B) {
	be := newBackend(b, Workers(2))
	ctx := context.Background()
	sess, err := be.Start(ctx, par.Spec{Workers: 2})
	if err != nil {
		b.Fatal(err)
	}
	const n, size = 100_000, 5_000
	inputs := make([][]byte, n/size)
	for i := range inputs {
		xs := make([]float64, size)
		for k := range xs {
			xs[k] = float64(i*size + k)
		}
		inputs[i], _ = wire.Marshal(xs)
	}
	for b.Loop() {
		var next atomic.Int64
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				for {
					lo := int(next.Add(size)) - size
					if lo >= n {
						return
					}
					batch := &par.Batch{Task: sqrtTask.Name(), Attempt: 1, Indexes: make([]int, size), Input: inputs[lo/size]}
					for k := range batch.Indexes {
						batch.Indexes[k] = lo + k
					}
					if err := sess.Exec(ctx, batch); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/job")
}
