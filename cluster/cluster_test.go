package cluster_test

import (
	"context"
	"errors"
	"slices"
	"strings"
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
