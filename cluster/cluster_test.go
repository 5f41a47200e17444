package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/par-project/par"
	"github.com/par-project/par/cluster"
	"github.com/par-project/par/partest"
)

// connect returns a client of the cluster at url, closed when the test
// ends (before the workers stop).
func connect(t testing.TB, url string, opts ...cluster.Option) *cluster.Client {
	t.Helper()
	c, err := cluster.Connect(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestMapOrdered(t *testing.T) {
	url := partest.StartServer(t)
	partest.StartWorkers(t, url, 3, cluster.Jobs(2))
	c := connect(t, url)
	xs := make([]int, 2000)
	for i := range xs {
		xs[i] = i
	}
	out, err := par.Map(testCtx(t), xs, squareTask.Func(), par.On(c))
	if err != nil {
		t.Fatal(err)
	}
	for i, y := range out {
		if y != i*i {
			t.Fatalf("out[%d] = %d, want %d", i, y, i*i)
		}
	}
}

func TestStreamUnordered(t *testing.T) {
	url := partest.StartServer(t)
	partest.StartWorkers(t, url, 2)
	c := connect(t, url)
	seen := map[int]bool{}
	xs := make([]int, 500)
	for i := range xs {
		xs[i] = i
	}
	for y, err := range par.Stream(testCtx(t), slices.Values(xs), squareTask.Func(), par.On(c), par.Unordered()) {
		if err != nil {
			t.Fatal(err)
		}
		if seen[y] {
			t.Fatalf("result %d delivered twice", y)
		}
		seen[y] = true
	}
	for _, x := range xs {
		if !seen[x*x] {
			t.Fatalf("result of %d missing", x)
		}
	}
}

func TestErrorsAndPanics(t *testing.T) {
	url := partest.StartServer(t)
	partest.StartWorkers(t, url, 2)
	c := connect(t, url)
	ctx := testCtx(t)

	_, err := par.Map(ctx, []int{1, 2, 3, 4}, failTask.Func(), par.On(c))
	var je *par.JobError
	if !errors.As(err, &je) || je.Index != 2 || !strings.Contains(err.Error(), "no good: 3") {
		t.Fatalf("error = %v, want job 2's 'no good: 3'", err)
	}

	_, err = par.Map(ctx, []int{1, 5, 6}, panicTask.Func(), par.On(c))
	var pe *par.PanicError
	if !errors.As(err, &pe) || pe.Value != "boom 5" || !strings.Contains(pe.Stack, "goroutine") {
		t.Fatalf("error = %v, want a *par.PanicError with value boom 5 and a stack", err)
	}
}

// flakyTries counts the tries of each input of flakyTask.
var flakyTries sync.Map // int → *atomic.Int32

// flakyTask fails odd inputs on their first try with a retryable error,
// and multiples of 7 on every try.
var flakyTask = par.Register("cluster-test.flaky", func(_ context.Context, x int) (int, error) {
	n, _ := flakyTries.LoadOrStore(x, new(atomic.Int32))
	try := n.(*atomic.Int32).Add(1)
	switch {
	case x%7 == 0:
		return 0, fmt.Errorf("never good: %d", x)
	case x%2 == 1 && try == 1:
		return 0, par.Retryable(fmt.Errorf("not yet: %d", x))
	}
	return -x, nil
})

// TestRetriesAndCollectedErrors runs batches whose jobs partly fail: the
// retryable ones go again as batches of scattered indexes, and the others
// come back, each with its index, while the rest of the results arrive.
func TestRetriesAndCollectedErrors(t *testing.T) {
	flakyTries.Clear()
	url := partest.StartServer(t)
	partest.StartWorkers(t, url, 2)
	c := connect(t, url)
	const n = 200
	xs := make([]int, n)
	for i := range xs {
		xs[i] = 1000 + i
	}
	out, err := par.Map(testCtx(t), xs, flakyTask.Func(), par.On(c), par.BatchSize(30), par.Retries(1, 0), par.CollectErrors())
	failed := map[int]bool{}
	for _, e := range unjoin(err) {
		var je *par.JobError
		if !errors.As(e, &je) || !strings.Contains(e.Error(), fmt.Sprintf("never good: %d", xs[je.Index])) {
			t.Fatalf("error %v, want a job error of a multiple of 7", e)
		}
		failed[je.Index] = true
	}
	for i, x := range xs {
		switch {
		case x%7 == 0 && !failed[i]:
			t.Errorf("job %d (%d) did not fail", i, x)
		case x%7 != 0 && (failed[i] || out[i] != -x):
			t.Errorf("job %d (%d): %d, failed %v; want %d", i, x, out[i], failed[i], -x)
		}
	}
	if len(failed) != 29 { // 1001, 1008, …, 1197
		t.Errorf("%d jobs failed, want 29", len(failed))
	}
	retried := 0
	flakyTries.Range(func(x, n any) bool {
		if x.(int)%2 == 1 && x.(int)%7 != 0 && n.(*atomic.Int32).Load() >= 2 {
			retried++
		}
		return true
	})
	if retried != 100-15 { // the odd inputs but 1001, 1015, …, 1197
		t.Errorf("%d jobs ran again after a retryable error, want 85", retried)
	}
}

// unjoin returns the errors joined in err.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err != nil {
		return []error{err}
	}
	return nil
}

// TestServerRestart restarts the server on the same data directory in the
// middle of a run served by in-process workers.
func TestServerRestart(t *testing.T) {
	cfg := cluster.ServerConfig{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Settings: cluster.Settings{AckWait: time.Second}}
	srv, err := cluster.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	url := srv.URL()
	cfg.Listen = strings.TrimPrefix(url, "nats://")
	defer func() { srv.Shutdown() }()
	partest.StartWorkers(t, url, 2, cluster.Jobs(2))
	c := connect(t, url)
	const n = 1000
	xs := make([]int, n)
	for i := range xs {
		xs[i] = i
	}
	i := 0
	for y, err := range par.Stream(testCtx(t), xs, slowSquare.Func(), par.On(c), par.BatchSize(5)) {
		if err != nil || y != i*i {
			t.Fatalf("job %d: %d, %v", i, y, err)
		}
		i++
		if i == n/3 {
			srv.Shutdown()
			if srv, err = cluster.NewServer(cfg); err != nil {
				t.Fatalf("restarting the server: %v", err)
			}
		}
	}
	if i != n {
		t.Fatalf("%d results, want %d", i, n)
	}
}
