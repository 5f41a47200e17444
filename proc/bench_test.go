//go:build linux

package proc

import (
	"context"
	"testing"
	"time"

	"github.com/par-project/par"
)

// BenchmarkProcMap runs 100,000 tiny jobs (a square root each) on two
// worker processes that are already running.
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

// BenchmarkProcCPU runs 200 CPU-bound jobs of 5 ms each on two worker
// processes and reports the speed-up over running them one after another
// in this process.
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
	t0 := time.Now()
	for _, d := range jobs {
		spinTask.Func()(ctx, d)
	}
	serial := time.Since(t0)
	b.ResetTimer()
	for b.Loop() {
		if _, err := par.Map(ctx, jobs, spinTask.Func(), par.On(be)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(serial)/(float64(b.Elapsed())/float64(b.N)), "speedup")
}
