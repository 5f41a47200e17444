package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/sourcegraph/conc/iter"
	"github.com/sourcegraph/conc/pool"
	"golang.org/x/sync/errgroup"

	"github.com/par-project/par"
	"github.com/par-project/par/cluster"
	"github.com/par-project/par/proc"
)

// runJob is one measured run of a Go tool on a workload, in a process of
// its own so that its peak memory is its own: it starts what the tool
// needs (worker processes, a cluster), warms it, runs the workload's n
// jobs and prints "seconds S" for that last part alone. The latency
// workload then prints "median S" and "p99 S", those of one job's round
// trip.
func runJob(ctx context.Context, workload, tool string, n int) error {
	var run func() error
	report := func() {}
	switch workload {
	case "tiny":
		r, cleanup, err := tinyRun(ctx, tool, n)
		if err != nil {
			return err
		}
		defer cleanup()
		run = r
	case "cpu":
		jobs := make([]float64, n)
		for i := range jobs {
			jobs[i] = 5
		}
		r, cleanup, err := mapRun(ctx, tool, spinTask, jobs, jobs[:4])
		if err != nil {
			return err
		}
		defer cleanup()
		run = r
	case "boundary":
		xs := floats(n)
		r, cleanup, err := mapRun(ctx, tool, sqrtTask, xs, xs[:1000])
		if err != nil {
			return err
		}
		defer cleanup()
		run = r
	case "fanout":
		r, err := fanoutRun(ctx, tool, n, strings.Split(os.Getenv("BENCH_URLS"), ","))
		if err != nil {
			return err
		}
		run = r
	case "latency":
		r, rep, cleanup, err := latencyRun(ctx, tool, sqrtTask, floats(n))
		if err != nil {
			return err
		}
		defer cleanup()
		run, report = r, rep
	default:
		return fmt.Errorf("unknown workload %q", workload)
	}
	t0 := time.Now()
	if err := run(); err != nil {
		return err
	}
	fmt.Printf("seconds %.6f\n", time.Since(t0).Seconds())
	report()
	return nil
}

// tinyRun runs n jobs of about 10 ns on the Go tools, each used the way
// its documentation shows, with as many workers as cores.
func tinyRun(ctx context.Context, tool string, n int) (run func() error, cleanup func(), err error) {
	xs := floats(n)
	cores := runtime.GOMAXPROCS(0)
	out := make([]float64, n)
	nop := func() {}
	runs := map[string]func(xs []float64) error{
		"serial": func(xs []float64) error {
			for i, x := range xs {
				out[i] = tiny(x)
			}
			return nil
		},
		"par": func(xs []float64) error {
			_, err := par.Map(ctx, xs, tinyTask.Func())
			return err
		},
		"errgroup": func(xs []float64) error {
			var g errgroup.Group
			g.SetLimit(cores)
			for i, x := range xs {
				g.Go(func() error { out[i] = tiny(x); return nil })
			}
			return g.Wait()
		},
		"conc-pool": func(xs []float64) error {
			p := pool.New().WithMaxGoroutines(cores)
			for i, x := range xs {
				p.Go(func() { out[i] = tiny(x) })
			}
			p.Wait()
			return nil
		},
		"conc-iter": func(xs []float64) error {
			iter.Map(xs, func(x *float64) float64 { return tiny(*x) })
			return nil
		},
	}
	if tool == "par-proc" {
		return mapRun(ctx, tool, tinyTask, xs, xs[:min(n, 1000)])
	}
	f, ok := runs[tool]
	if !ok {
		return nil, nil, fmt.Errorf("unknown tool %q for tiny jobs", tool)
	}
	if err := f(xs[:n/10]); err != nil { // warm the runtime
		return nil, nil, err
	}
	return func() error { return f(xs) }, nop, nil
}

// mapRun runs task over inputs with par.Map on goroutines, worker
// processes or a cluster of two workers, after a warm-up call on warm.
func mapRun[A, R any](ctx context.Context, tool string, task *par.Task[A, R], inputs, warm []A) (run func() error, cleanup func(), err error) {
	if tool == "serial" {
		f := task.Func()
		return func() error {
			for _, x := range inputs {
				if _, err := f(ctx, x); err != nil {
					return err
				}
			}
			return nil
		}, func() {}, nil
	}
	opts, cleanup, err := backendOptions(ctx, tool)
	if err != nil {
		return nil, nil, err
	}
	if _, err := par.Map(ctx, warm, task.Func(), opts...); err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("warm-up: %w", err)
	}
	return func() error {
		_, err := par.Map(ctx, inputs, task.Func(), opts...)
		return err
	}, cleanup, nil
}

// backendOptions starts what a par tool runs on: nothing for "par" (its
// goroutines), 2 worker processes for "par-proc", a cluster of 2 workers
// for "par-cluster" and "par-cluster-nosync". It returns the options that
// put par on it and a func that stops it.
func backendOptions(ctx context.Context, tool string) ([]par.Option, func(), error) {
	switch tool {
	case "par":
		return nil, func() {}, nil
	case "par-proc":
		b, err := proc.New(proc.Workers(2))
		if err != nil {
			return nil, nil, err
		}
		return []par.Option{par.On(b)}, func() { b.Close() }, nil
	case "par-cluster", "par-cluster-nosync":
		c, stop, err := startCluster(ctx, 2, tool == "par-cluster-nosync")
		if err != nil {
			return nil, nil, err
		}
		return []par.Option{par.On(c)}, stop, nil
	}
	return nil, nil, fmt.Errorf("unknown tool %q", tool)
}

// latencyWarm is how many jobs the latency workload runs, one at a time,
// before the clock starts.
const latencyWarm = 20

// latencyRun submits task's inputs one at a time to a par.Pool on the
// tool's backend (see backendOptions), waiting for each job's result
// before submitting the next, after doing so with the first latencyWarm
// of them. report prints the median and 99th percentile of the round
// trips that run timed.
func latencyRun[A, R any](ctx context.Context, tool string, task *par.Task[A, R], inputs []A) (run func() error, report func(), cleanup func(), err error) {
	opts, stop, err := backendOptions(ctx, tool)
	if err != nil {
		return nil, nil, nil, err
	}
	pool, err := par.NewPool(opts...)
	if err != nil {
		stop()
		return nil, nil, nil, err
	}
	cleanup = func() { pool.Close(); stop() }
	f := task.Func()
	one := func(x A) error {
		_, err := par.Submit(pool, ctx, f, x).Wait(ctx)
		return err
	}
	for _, x := range inputs[:min(latencyWarm, len(inputs))] {
		if err := one(x); err != nil {
			cleanup()
			return nil, nil, nil, fmt.Errorf("warm-up: %w", err)
		}
	}
	rtts := make([]float64, 0, len(inputs))
	run = func() error {
		for _, x := range inputs {
			t0 := time.Now()
			if err := one(x); err != nil {
				return err
			}
			rtts = append(rtts, time.Since(t0).Seconds())
		}
		return nil
	}
	report = func() {
		fmt.Printf("median %.6f\np99 %.6f\n", median(rtts), percentile(rtts, 99))
	}
	return run, report, cleanup, nil
}

// startCluster starts par server (the par binary in $BENCH_PAR) on a free
// port with its data in a temporary directory, and workers processes of
// this binary serving it, one batch at a time each, as a user's cluster
// of one machine would run: server and workers are processes of their
// own. With noSync the server does not fsync every write. It returns a client connected to it and a func that stops it all.
func startCluster(ctx context.Context, workers int, noSync bool) (*cluster.Client, func(), error) {
	parBin := os.Getenv("BENCH_PAR")
	if parBin == "" {
		return nil, nil, errors.New("BENCH_PAR must name the par binary")
	}
	dir, err := os.MkdirTemp("", "par-bench-cluster-")
	if err != nil {
		return nil, nil, err
	}
	var procs []*exec.Cmd
	stop := func() {
		for i := len(procs) - 1; i >= 0; i-- {
			procs[i].Process.Signal(syscall.SIGTERM)
			procs[i].Wait()
		}
		os.RemoveAll(dir)
	}
	args := []string{"server", "--listen", "127.0.0.1:0", "--data", dir}
	if noSync {
		args = append(args, "--no-sync")
	}
	srv := exec.Command(parBin, args...)
	srv.Stderr = os.Stderr
	out, err := srv.StdoutPipe()
	if err == nil {
		err = srv.Start()
	}
	if err != nil {
		stop()
		return nil, nil, fmt.Errorf("par server: %w", err)
	}
	procs = append(procs, srv)
	url, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		stop()
		return nil, nil, fmt.Errorf("par server printed no URL: %w", err)
	}
	go io.Copy(io.Discard, out)
	url = strings.TrimSpace(url)
	self, err := os.Executable()
	if err != nil {
		stop()
		return nil, nil, err
	}
	for range workers {
		w := exec.Command(self, "cluster-worker", url)
		w.Stderr = os.Stderr
		if err := w.Start(); err != nil {
			stop()
			return nil, nil, err
		}
		procs = append(procs, w)
	}
	c, err := cluster.Connect(url)
	if err != nil {
		stop()
		return nil, nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ws, err := c.Workers(ctx)
		if err == nil && len(ws) >= workers {
			break
		}
		if time.Now().After(deadline) {
			c.Close()
			stop()
			return nil, nil, fmt.Errorf("%d workers did not show up in 30s (last error: %v)", workers, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return c, func() { c.Close(); stop() }, nil
}

// serveCluster is a cluster worker process: it runs this binary's
// registered tasks, one batch at a time, until SIGTERM.
func serveCluster(ctx context.Context, url string) error {
	err := cluster.Serve(ctx, url, cluster.Jobs(1))
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// fanoutRun sends n GET requests, 64 at a time, to the servers at urls in
// turn, and checks each answer.
func fanoutRun(ctx context.Context, tool string, n int, urls []string) (func() error, error) {
	const conc = 64
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc}}
	get := func(ctx context.Context, i int) (int, error) {
		req, err := http.NewRequestWithContext(ctx, "GET", urls[i%len(urls)], nil)
		if err != nil {
			return 0, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("GET %s: %d %v", req.URL, resp.StatusCode, err)
		}
		return len(body), nil
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	switch tool {
	case "par":
		return func() error {
			_, err := par.Map(ctx, idx, get, par.Jobs(conc))
			return err
		}, nil
	case "errgroup":
		return func() error {
			g, ctx := errgroup.WithContext(ctx)
			g.SetLimit(conc)
			for _, i := range idx {
				g.Go(func() error { _, err := get(ctx, i); return err })
			}
			return g.Wait()
		}, nil
	}
	return nil, fmt.Errorf("unknown tool %q for fan-out", tool)
}

// serveSlow answers every request after delay on each of ports listeners
// on 127.0.0.1, printing one URL a line, until ctx ends.
func serveSlow(ctx context.Context, ports int, delay time.Duration) error {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		io.WriteString(w, "ok\n")
	})
	errc := make(chan error, ports)
	for range ports {
		srv := &http.Server{Handler: h}
		ln, err := listenLocal()
		if err != nil {
			return err
		}
		fmt.Printf("http://%s/\n", ln.Addr())
		go func() { errc <- srv.Serve(ln) }()
		go func() { <-ctx.Done(); srv.Close() }()
	}
	os.Stdout.Sync()
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		return err
	}
}
