package cluster_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/par-project/par"
	"github.com/par-project/par/cluster"
	"github.com/par-project/par/partest"
)

// TestFairSharing runs two drivers at once on the same queue: each gets
// results while the other runs, so neither starves. A driver keeps only
// its slots' batches in the queue, so a second driver's batches wait
// behind a few of the first's, never behind its whole run.
func TestFairSharing(t *testing.T) {
	url := partest.StartServer(t)
	partest.StartWorkers(t, url, 2, cluster.Jobs(1))
	ctx := testCtx(t)
	const n = 60
	var mu sync.Mutex
	got := map[string]int{}
	var aAfterB, bBeforeAEnd int // A's results once B had one; B's when A ended
	bStarted := make(chan struct{})
	run := func(name string) {
		c := connect(t, url, cluster.Slots(4))
		for _, err := range par.Stream(ctx, make([]time.Duration, n), slowJob.Func(), par.On(c), par.BatchSize(1), par.Unordered()) {
			if err != nil {
				t.Errorf("driver %s: %v", name, err)
				return
			}
			mu.Lock()
			got[name]++
			if name == "A" && got["A"] == 10 {
				close(bStarted)
			}
			if name == "A" && got["B"] > 0 {
				aAfterB++
			}
			mu.Unlock()
		}
		if name == "A" {
			mu.Lock()
			bBeforeAEnd = got["B"]
			mu.Unlock()
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() { run("A") })
	select {
	case <-bStarted:
	case <-ctx.Done():
		t.Fatal("driver A made no progress")
	}
	wg.Go(func() { run("B") })
	wg.Wait()
	t.Logf("A got %d results after B's first; B had %d when A ended", aAfterB, bBeforeAEnd)
	if got["A"] != n || got["B"] != n {
		t.Fatalf("results: %v, want %d each", got, n)
	}
	// Once both run, they share the workers: each gets a fair part of
	// the results while the other runs, not a trickle.
	if aAfterB < n/4 || bBeforeAEnd < n/4 {
		t.Fatalf("a driver starved: A got %d results after B's first, B had %d when A ended", aAfterB, bBeforeAEnd)
	}
}

var slowJob = par.Register("cluster-test.slow-job", func(_ context.Context, _ time.Duration) (int, error) {
	time.Sleep(5 * time.Millisecond)
	return 0, nil
})
