package proc

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/par-project/par"
)

// BenchmarkProcMap runs 100,000 tiny jobs (a square root each) on two
// worker processes that are already running.
func BenchmarkProcMap(b *testing.B) {
	be := newBackend(b, Workers(2), Env(os.Getenv("PROC_BENCH_ENV")))
	xs := make([]float64, 100_000)
	for i := range xs {
		xs[i] = float64(i)
	}
	ctx := context.Background()
	if _, err := par.Map(ctx, xs[:1000], sqrtTask.Func(), par.On(be)); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := par.Map(ctx, xs, sqrtTask.Func(), par.On(be)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(xs)), "ns/job")
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
