package cluster_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/par-project/par/internal/testio"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/par-project/par"
	"github.com/par-project/par/cluster"
	"github.com/par-project/par/partest"
)

// workerProc is a worker process: the test binary serving the cluster.
type workerProc struct {
	cmd    *exec.Cmd
	stderr testio.Buffer
	done   chan struct{}
	err    error
}

// startWorkerProc starts a worker process with jobs slots; it is stopped
// with SIGTERM when the test ends if it is still running.
func startWorkerProc(t testing.TB, url string, jobs int) *workerProc {
	t.Helper()
	w := &workerProc{done: make(chan struct{})}
	w.cmd = exec.Command(os.Args[0], "-test.run=^$")
	w.cmd.Env = append(os.Environ(), envWorker+"="+url, envJobs+"="+itoa(jobs))
	w.cmd.Stderr = &w.stderr
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		w.err = w.cmd.Wait()
		close(w.done)
	}()
	t.Cleanup(func() {
		_ = w.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-w.done:
		case <-time.After(15 * time.Second):
			_ = w.cmd.Process.Kill()
			<-w.done
			t.Errorf("worker %d did not stop on SIGTERM; stderr:\n%s", w.cmd.Process.Pid, w.stderrText())
		}
	})
	return w
}

func (w *workerProc) kill() {
	_ = w.cmd.Process.Kill()
	<-w.done
}

func (w *workerProc) stderrText() string {
	return w.stderr.String()
}

func itoa(n int) string { return string(appendInt(nil, n)) }

func appendInt(b []byte, n int) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}

// TestWorkerProcesses runs Map, Stream and Submit over worker processes.
func TestWorkerProcesses(t *testing.T) {
	url := partest.StartServer(t)
	for range 3 {
		startWorkerProc(t, url, 1)
	}
	c := connect(t, url)
	ctx := testCtx(t)

	// Map, ordered: every worker process takes part.
	pids, err := par.Map(ctx, make([]time.Duration, 60), pidOfSlowTask.Func(), par.On(c), par.BatchSize(1))
	if err != nil {
		t.Fatal(err)
	}
	distinct := slices.Compact(slices.Sorted(slices.Values(pids)))
	if len(distinct) < 2 || slices.Contains(distinct, os.Getpid()) {
		t.Errorf("jobs ran in processes %v, want 2 or more worker processes", distinct)
	}

	// Stream, unordered, with a failure and a panic collected.
	var got, failed int
	for _, err := range par.Stream(ctx, slices.Values([]int{1, 2, 3, 4, 5, 6}), panicOrFail.Func(), par.On(c), par.Unordered(), par.CollectErrors()) {
		if err != nil {
			failed++
			continue
		}
		got++
	}
	if got != 4 || failed != 2 {
		t.Errorf("stream: %d results and %d errors, want 4 and 2", got, failed)
	}

	// Submit on a pool.
	pool, err := par.NewPool(par.On(c))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	fs := make([]*par.Future[int], 20)
	for i := range fs {
		fs[i] = par.Submit(pool, ctx, squareTask.Func(), i)
	}
	for i, f := range fs {
		if y, err := f.Wait(ctx); err != nil || y != i*i {
			t.Fatalf("Submit(%d) = %d, %v; want %d", i, y, err, i*i)
		}
	}
}

var (
	pidOfSlowTask = par.Register("cluster-test.pid-slow", func(_ context.Context, _ time.Duration) (int, error) {
		time.Sleep(2 * time.Millisecond)
		return os.Getpid(), nil
	})
	panicOrFail = par.Register("cluster-test.panic-or-fail", func(_ context.Context, x int) (int, error) {
		switch x {
		case 3:
			return 0, errors.New("no good")
		case 5:
			panic("boom")
		}
		return x, nil
	})
)

// TestChaos runs 5,000 jobs over 3 worker processes, kills one with
// SIGKILL mid-run and starts another, then restarts the server on the same
// data directory mid-run: every result must arrive once, and be right.
func TestChaos(t *testing.T) {
	dir := t.TempDir()
	cfg := cluster.ServerConfig{DataDir: dir, Listen: "127.0.0.1:0", Settings: cluster.Settings{AckWait: time.Second}}
	srv, err := cluster.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	url := srv.URL()
	cfg.Listen = strings.TrimPrefix(url, "nats://")
	defer func() { srv.Shutdown() }()

	workers := []*workerProc{}
	for range 3 {
		workers = append(workers, startWorkerProc(t, url, 2))
	}
	c := connect(t, url, cluster.Logger(slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))))
	ctx := testCtx(t)

	const n = 5000
	xs := make([]int, n)
	for i := range xs {
		xs[i] = i
	}
	i := 0
	for y, err := range par.Stream(ctx, xs, slowSquare.Func(), par.On(c), par.BatchSize(10)) {
		if err != nil {
			for _, w := range workers {
				t.Logf("worker %d stderr:\n%s", w.cmd.Process.Pid, w.stderrText())
			}
			dumpState(t, url)
			t.Fatalf("job %d: %v", i, err)
		}
		if y != i*i {
			t.Fatalf("job %d: got %d, want %d", i, y, i*i)
		}
		i++
		switch i {
		case n / 5:
			workers[0].kill()
			workers = append(workers, startWorkerProc(t, url, 2))
			t.Logf("killed a worker at %d", i)
		case n / 2:
			srv.Shutdown()
			if srv, err = cluster.NewServer(cfg); err != nil {
				t.Fatalf("restarting the server: %v", err)
			}
			t.Logf("restarted the server at %d", i)
		}
	}
	if i != n {
		t.Fatalf("%d results, want %d", i, n)
	}
}

var slowSquare = par.Register("cluster-test.slow-square", func(_ context.Context, x int) (int, error) {
	time.Sleep(time.Millisecond)
	return x * x, nil
})

// dumpState logs what the server holds, to explain a stuck run.
func dumpState(t testing.TB, url string) {
	nc, err := nats.Connect(url)
	if err != nil {
		t.Logf("dump: %v", err)
		return
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, name := range []string{cluster.JobsStream, cluster.ResultsStream} {
		if st, err := js.Stream(ctx, name); err == nil {
			t.Logf("stream %s: %+v", name, st.CachedInfo().State)
			for ci := range st.ListConsumers(ctx).Info() {
				t.Logf("consumer %s: pending %d ack-pending %d redelivered %d waiting %d delivered %+v ackfloor %+v",
					ci.Name, ci.NumPending, ci.NumAckPending, ci.NumRedelivered, ci.NumWaiting, ci.Delivered, ci.AckFloor)
			}
		}
	}
}
