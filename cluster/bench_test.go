package cluster_test

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/par-project/par"
	"github.com/par-project/par/cluster"
	"github.com/par-project/par/partest"
)

// benchCluster starts a server with par server's defaults (every write
// fsynced, unless PAR_BENCH_NOSYNC=1) and n in-process workers running one
// batch at a time.
func benchCluster(b *testing.B, workers int) *cluster.Client {
	url := partest.StartServerWith(b, cluster.ServerConfig{DataDir: b.TempDir(), NoSync: os.Getenv("PAR_BENCH_NOSYNC") == "1"})
	partest.StartWorkers(b, url, workers, cluster.Jobs(1))
	return connect(b, url)
}

// BenchmarkTinyJobs runs 20,000 tiny jobs through the cluster path per op.
func BenchmarkTinyJobs(b *testing.B) {
	c := benchCluster(b, 2)
	ctx := context.Background()
	xs := make([]int, 20000)
	for i := range xs {
		xs[i] = i
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := par.Map(ctx, xs, squareTask.Func(), par.On(c)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(xs)*b.N)/b.Elapsed().Seconds(), "jobs/s")
}

// BenchmarkRoundTrip submits one tiny job at a time to a pool on the
// cluster and reports the median and 99th percentile of submit → result.
func BenchmarkRoundTrip(b *testing.B) {
	c := benchCluster(b, 2)
	ctx := context.Background()
	pool, err := par.NewPool(par.On(c))
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	var ds []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		t0 := time.Now()
		if _, err := par.Submit(pool, ctx, squareTask.Func(), i).Wait(ctx); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(t0))
	}
	slices.Sort(ds)
	b.ReportMetric(float64(ds[len(ds)/2].Microseconds()), "µs-median")
	b.ReportMetric(float64(ds[len(ds)*99/100].Microseconds()), "µs-p99")
}

// BenchmarkCPUBound runs 100 jobs of 5 ms of CPU each over 2 workers and
// reports the speed-up over running them one after another.
func BenchmarkCPUBound(b *testing.B) {
	c := benchCluster(b, 2)
	ctx := context.Background()
	ds := make([]time.Duration, 100)
	for i := range ds {
		ds[i] = 5 * time.Millisecond
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := par.Map(ctx, ds, spinTask.Func(), par.On(c)); err != nil {
			b.Fatal(err)
		}
	}
	serial := time.Duration(len(ds)*b.N) * 5 * time.Millisecond
	b.ReportMetric(serial.Seconds()/b.Elapsed().Seconds(), "speedup")
}

// BenchmarkCPUBoundProcs is BenchmarkCPUBound over 2 worker processes (this
// test binary serving the cluster), as par worker runs: the workers do not
// share the driver's process.
func BenchmarkCPUBoundProcs(b *testing.B) {
	url := partest.StartServerWith(b, cluster.ServerConfig{DataDir: b.TempDir(), NoSync: os.Getenv("PAR_BENCH_NOSYNC") == "1"})
	for range 2 {
		startWorkerProc(b, url, 1)
	}
	c := connect(b, url)
	ctx := context.Background()
	// Wait until both workers are listed, so the session sizes its slots
	// for them.
	for {
		ws, err := c.Workers(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if len(ws) == 2 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	ds := make([]time.Duration, 100)
	for i := range ds {
		ds[i] = 5 * time.Millisecond
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := par.Map(ctx, ds, spinTask.Func(), par.On(c)); err != nil {
			b.Fatal(err)
		}
	}
	serial := time.Duration(len(ds)*b.N) * 5 * time.Millisecond
	b.ReportMetric(serial.Seconds()/b.Elapsed().Seconds(), "speedup")
}
