package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/par-project/par"
	"github.com/par-project/par/cluster"
)

// embedded is the whole cluster on this machine, as the demo starts it: a
// par server in this process (an embedded nats-server with JetStream on a
// free 127.0.0.1 port, its files in a temporary directory, a secret made
// for the run) and worker processes that run this same binary with
// -worker, so they know SumPrimes.
type embedded struct {
	dir     string
	srv     *cluster.Server
	client  *cluster.Client
	workers []*workerProc
}

// workerProc is one worker process and the end of its Wait.
type workerProc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // Wait's, once done is closed
}

// stopGrace is how long a worker may take to hand back its batches and
// leave after SIGTERM before it is killed.
const stopGrace = 15 * time.Second

// startEmbedded starts the server and f.workers worker processes, waits
// until every worker is listed as live, and returns the backend that runs
// the pool's jobs on them.
func startEmbedded(ctx context.Context, f *flags, stdout, stderr io.Writer) (_ *backend, err error) {
	t0 := time.Now()
	e := &embedded{}
	defer func() {
		if err != nil {
			err = errors.Join(err, e.stop())
		}
	}()
	if e.dir, err = os.MkdirTemp("", "primes-cluster-"); err != nil {
		return nil, err
	}
	secret := rand.Text()
	e.srv, err = cluster.NewServer(cluster.ServerConfig{DataDir: e.dir, Listen: "127.0.0.1:0", Secret: secret, NoSync: true})
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	// Each worker runs its share of -jobs at once; the pool keeps that
	// many jobs in flight in all.
	per := (resolve(f.jobs) + f.workers - 1) / f.workers
	errw := stderr
	if _, ok := stderr.(*os.File); !ok {
		errw = &syncWriter{w: stderr} // the driver and the workers write to it at once
	}
	for i := range f.workers {
		w := &workerProc{name: fmt.Sprintf("worker-%d", i+1), done: make(chan struct{})}
		w.cmd = exec.Command(self, "-worker", "-cluster", e.srv.URL(), "-name", w.name, "-jobs", strconv.Itoa(per))
		w.cmd.Env = append(os.Environ(), "PAR_SECRET="+secret)
		w.cmd.Stderr = errw
		w.cmd.SysProcAttr = workerAttr()
		if err := w.cmd.Start(); err != nil {
			return nil, fmt.Errorf("starting %s: %w", w.name, err)
		}
		e.workers = append(e.workers, w)
		go func() {
			w.err = w.cmd.Wait()
			close(w.done)
		}()
	}
	if e.client, err = cluster.Connect(e.srv.URL(), cluster.Secret(secret)); err != nil {
		return nil, err
	}
	if err := e.waitLive(ctx); err != nil {
		return nil, err
	}
	names := make([]string, len(e.workers))
	for i, w := range e.workers {
		names[i] = w.name
	}
	fmt.Fprintf(stdout, "par server at %s, %d worker processes (%s) up in %v\n\n",
		e.srv.URL(), len(e.workers), strings.Join(names, ", "), time.Since(t0).Round(time.Millisecond))
	return &backend{
		opts:  []par.Option{par.On(e.client), par.Jobs(per * f.workers), par.Retries(5, 0)},
		desc:  fmt.Sprintf("%d cluster worker processes", len(e.workers)),
		close: e.stop,
	}, nil
}

// waitLive returns once every worker has registered with the server, so
// that the timing of the run does not count their start-up. It fails if a
// worker exits first, or after 30 seconds.
func (e *embedded) waitLive(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		ws, err := e.client.Workers(ctx)
		if err != nil && ctx.Err() == nil {
			return err
		}
		live := map[string]bool{}
		for _, w := range ws {
			live[w.ID] = true
		}
		missing := 0
		for _, w := range e.workers {
			select {
			case <-w.done:
				return fmt.Errorf("%s exited before it served: %v", w.name, w.err)
			default:
			}
			if !live[w.name] {
				missing++
			}
		}
		if missing == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d of %d workers to start: %w", missing, len(e.workers), context.Cause(ctx))
		case <-tick.C:
		}
	}
}

// stop closes the client, stops every worker with SIGTERM and waits for
// it (a worker still running after stopGrace is killed), then shuts the
// server down and removes its files. It reports workers that failed.
func (e *embedded) stop() error {
	var errs []error
	if e.client != nil {
		errs = append(errs, e.client.Close())
	}
	for _, w := range e.workers {
		_ = w.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, w := range e.workers {
		select {
		case <-w.done:
		case <-time.After(stopGrace):
			_ = w.cmd.Process.Kill()
			<-w.done
			errs = append(errs, fmt.Errorf("%s did not stop within %v of SIGTERM and was killed", w.name, stopGrace))
			continue
		}
		if w.err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", w.name, w.err))
		}
	}
	if e.srv != nil {
		e.srv.Shutdown()
	}
	if e.dir != "" {
		errs = append(errs, os.RemoveAll(e.dir))
	}
	return errors.Join(errs...)
}

// syncWriter serialises writes to w.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
