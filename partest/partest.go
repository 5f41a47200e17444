// Package partest helps users test their own par cluster code: it starts
// an in-process JetStream server, and workers serving the test binary's
// registered tasks, each stopped when the test ends.
//
//	func TestOnCluster(t *testing.T) {
//		url := partest.StartServer(t)
//		partest.StartWorkers(t, url, 2)
//		c, err := cluster.Connect(url)
//		...
//		out, err := par.Map(ctx, inputs, myTask.Func(), par.On(c))
//	}
package partest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/par-project/par/cluster"
)

// StartServer starts a par server (an embedded nats-server with JetStream)
// on a free 127.0.0.1 port with its data in t.TempDir(), and returns its
// URL. The server fsyncs lazily, since a test's data need not survive the
// machine, and hands a batch to another worker 2 seconds after its worker
// is lost. It stops when the test ends.
func StartServer(t testing.TB) (url string) {
	t.Helper()
	return StartServerWith(t, cluster.ServerConfig{})
}

// StartServerWith is StartServer with cfg: its zero fields get
// StartServer's choices (DataDir, a free port, NoSync is left as given).
func StartServerWith(t testing.TB, cfg cluster.ServerConfig) (url string) {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
		cfg.NoSync = true
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.Settings.AckWait == 0 {
		cfg.Settings.AckWait = 2 * time.Second
	}
	s, err := cluster.NewServer(cfg)
	if err != nil {
		t.Fatalf("partest: starting a par server: %v", err)
	}
	t.Cleanup(s.Shutdown)
	return s.URL()
}

// StartWorkers starts n workers in this process serving the cluster at
// url (see cluster.Serve), each running opts' Jobs batches at once, and
// stops them when the test ends, after the test's other cleanups that
// were registered later (such as closing a client).
func StartWorkers(t testing.TB, url string, n int, opts ...cluster.Option) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			if err := cluster.Serve(ctx, url, opts...); err != nil {
				errs <- err
			}
		})
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("partest: worker: %v", err)
		}
	})
}
