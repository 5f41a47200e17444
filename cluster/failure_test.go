package cluster_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/par-project/par"
	"github.com/par-project/par/cluster"
	"github.com/par-project/par/partest"
)

func TestWrongSecret(t *testing.T) {
	url := partest.StartServerWith(t, cluster.ServerConfig{Secret: "right"})
	if _, err := cluster.Connect(url, cluster.Secret("wrong")); !errors.Is(err, cluster.ErrAuth) {
		t.Fatalf("Connect with a wrong secret: %v, want ErrAuth", err)
	}
	if _, err := cluster.Connect(url); !errors.Is(err, cluster.ErrAuth) {
		t.Fatalf("Connect without the secret: %v, want ErrAuth", err)
	}
	err := cluster.Serve(context.Background(), url, cluster.Secret("wrong"))
	if !errors.Is(err, cluster.ErrAuth) || !strings.Contains(err.Error(), "secret") {
		t.Fatalf("Serve with a wrong secret: %v, want ErrAuth naming the secret", err)
	}
	partest.StartWorkers(t, url, 1, cluster.Secret("right"))
	c := connect(t, url, cluster.Secret("right"))
	if _, err := par.Map(testCtx(t), []int{2}, squareTask.Func(), par.On(c)); err != nil {
		t.Fatal(err)
	}
}

func TestNonLoopbackNeedsSecret(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "10.1.2.3:4222"} {
		_, err := cluster.NewServer(cluster.ServerConfig{DataDir: t.TempDir(), Listen: addr})
		if !errors.Is(err, cluster.ErrInsecure) {
			t.Errorf("NewServer listening on %s without a secret: %v, want ErrInsecure", addr, err)
		}
	}
	_, err := cluster.NewServer(cluster.ServerConfig{DataDir: t.TempDir(), Listen: "127.0.0.1:0", HTTP: "0.0.0.0:0"})
	if !errors.Is(err, cluster.ErrInsecure) {
		t.Errorf("NewServer with HTTP on 0.0.0.0 without a secret: %v, want ErrInsecure", err)
	}
}

func TestUnknownTask(t *testing.T) {
	url := partest.StartServer(t)
	partest.StartWorkers(t, url, 1)
	c := connect(t, url)
	ctx := testCtx(t)
	// A func nobody registered fails at the call.
	_, err := par.Map(ctx, []int{1}, func(_ context.Context, x int) (int, error) { return x, nil }, par.On(c))
	if !errors.Is(err, par.ErrNotRegistered) {
		t.Fatalf("unregistered func: %v, want ErrNotRegistered", err)
	}
	// A name the worker does not know (a driver built from other code)
	// fails on the worker, clearly.
	s, err := c.Start(ctx, par.Spec{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b := &par.Batch{Task: "cluster-test.nobody", Indexes: []int{0}, Input: []byte{0x81, 0x01}, Attempt: 1}
	if err := s.Exec(ctx, b); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(b.Errs[0], par.ErrUnknownTask) || !strings.Contains(b.Errs[0].Error(), "cluster-test.nobody") {
		t.Fatalf("task unknown to the workers: %v, want ErrUnknownTask naming it", b.Errs[0])
	}
}

// shellTask stands for the par command's shell runner, registered under the
// reserved name.
var shellTask = par.Register(cluster.ExecTask, func(_ context.Context, cmd string) (string, error) {
	return "ran " + cmd, nil
})

func TestExecNeedsAllowExec(t *testing.T) {
	url := partest.StartServer(t)
	partest.StartWorkers(t, url, 1)
	c := connect(t, url)
	_, err := par.Map(testCtx(t), []string{"rm -rf /"}, shellTask.Func(), par.On(c))
	if !errors.Is(err, cluster.ErrExecNotAllowed) || !strings.Contains(err.Error(), "--allow-exec") {
		t.Fatalf("exec job on a worker without AllowExec: %v, want ErrExecNotAllowed", err)
	}
}

func TestExecAllowed(t *testing.T) {
	url := partest.StartServer(t)
	partest.StartWorkers(t, url, 1, cluster.AllowExec())
	c := connect(t, url)
	out, err := par.Map(testCtx(t), []string{"true"}, shellTask.Func(), par.On(c))
	if err != nil || out[0] != "ran true" {
		t.Fatalf("exec job on a worker with AllowExec: %q, %v", out, err)
	}
}

func TestOversizedPayload(t *testing.T) {
	url := partest.StartServerWith(t, cluster.ServerConfig{Settings: cluster.Settings{MaxObjectStoreBytes: 3 << 20}})
	partest.StartWorkers(t, url, 1)
	c := connect(t, url)
	ctx := testCtx(t)
	// An input beyond the max payload and the object store's bound fails
	// at the driver (TestLargePayloads sends those within it).
	_, err := par.Map(ctx, [][]byte{make([]byte, 4<<20)}, echoTask.Func(), par.On(c))
	if !errors.Is(err, cluster.ErrTooLarge) {
		t.Fatalf("4 MiB input: %v, want ErrTooLarge", err)
	}
	// A result beyond both fails on the worker, and comes back as an error.
	_, err = par.Map(ctx, []int{4 << 20}, blobTask.Func(), par.On(c))
	if !errors.Is(err, cluster.ErrTooLarge) {
		t.Fatalf("4 MiB result: %v, want ErrTooLarge", err)
	}
	// Many inputs that fit one by one but not together are split.
	xs := make([][]byte, 40)
	for i := range xs {
		xs[i] = make([]byte, 100<<10)
	}
	out, err := par.Map(ctx, xs, echoTask.Func(), par.On(c), par.BatchSize(40))
	if err != nil || len(out) != 40 || len(out[39]) != 100<<10 {
		t.Fatalf("40 inputs of 100 KiB: %d results, %v", len(out), err)
	}
}

var echoTask = par.Register("cluster-test.echo", func(_ context.Context, b []byte) ([]byte, error) { return b, nil })

func TestCancelWithdrawsJobs(t *testing.T) {
	url := partest.StartServer(t)
	partest.StartWorkers(t, url, 1, cluster.Jobs(1))
	c := connect(t, url)
	ctx, cancel := context.WithCancel(testCtx(t))
	xs := make([]int, 200)
	done := make(chan error)
	go func() {
		_, err := par.Map(ctx, xs, blockTask.Func(), par.On(c), par.BatchSize(1))
		done <- err
	}()
	<-blockStarted
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Map after cancel: %v, want context.Canceled", err)
	}
	// The worker gives up the running job and the queue is empty: a new
	// run goes through at once.
	out, err := par.Map(testCtx(t), []int{3}, squareTask.Func(), par.On(c))
	if err != nil || out[0] != 9 {
		t.Fatalf("after a cancelled run: %v, %v", out, err)
	}
}

// blockTask blocks until its context ends, after saying it started.
var (
	blockStarted = make(chan struct{}, 1000)
	blockTask    = par.Register("cluster-test.block", func(ctx context.Context, _ int) (int, error) {
		blockStarted <- struct{}{}
		<-ctx.Done()
		return 0, ctx.Err()
	})
)
