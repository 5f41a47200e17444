package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/par-project/par"
	"github.com/par-project/par/cluster"
	"github.com/par-project/par/proc"
)

// backend is where the pool's jobs run: the options of the run, built in
// this one place, and what to stop afterwards.
type backend struct {
	opts  []par.Option
	desc  string // for the speed-up line
	close func() error
}

// resolve turns -jobs' meaning (n ≥ 1, or -1 for every CPU, -2 for all
// but one…) into a count.
func resolve(jobs int) int {
	if jobs > 0 {
		return jobs
	}
	return max(1, runtime.GOMAXPROCS(0)+1+jobs)
}

// startBackend starts what f.backend names. The jobs are retried when the
// worker that ran them is lost (a killed process, a lost cluster worker):
// par.Retries retries only such *par.WorkerLostError failures here, since
// the job itself never fails.
func startBackend(ctx context.Context, f *flags, stdout, stderr io.Writer) (*backend, error) {
	retries := par.Retries(5, 0)
	switch f.backend {
	case "proc":
		n := resolve(f.jobs)
		b, err := proc.New(proc.Workers(n), proc.Stderr(stderr))
		if err != nil {
			return nil, err
		}
		return &backend{
			opts:  []par.Option{par.On(b), par.Jobs(n), retries},
			desc:  fmt.Sprintf("%d worker processes", n),
			close: b.Close,
		}, nil
	case "cluster":
		if f.clusterURL == "" {
			return startEmbedded(ctx, f, stdout, stderr)
		}
		c, err := cluster.Connect(f.clusterURL, cluster.Secret(os.Getenv("PAR_SECRET")))
		if err != nil {
			return nil, err
		}
		n := f.jobs
		if n < 0 {
			// As many jobs in flight as the live workers run at once.
			if n, err = capacity(ctx, c); err != nil {
				c.Close()
				return nil, err
			}
			if n == 0 {
				fmt.Fprintf(stderr, "primes: no live workers at %s yet: the jobs wait until one starts (primes -worker -cluster %s)\n", f.clusterURL, f.clusterURL)
				n = 1
			}
		}
		return &backend{
			opts:  []par.Option{par.On(c), par.Jobs(n), retries},
			desc:  fmt.Sprintf("the cluster at %s, %d jobs at once", f.clusterURL, n),
			close: c.Close,
		}, nil
	default:
		n := resolve(f.jobs)
		return &backend{
			opts:  []par.Option{par.Jobs(n), retries},
			desc:  fmt.Sprintf("%d workers", n),
			close: func() error { return nil },
		}, nil
	}
}

// capacity returns how many batches the cluster's live workers of the
// default queue run at once.
func capacity(ctx context.Context, c *cluster.Client) (int, error) {
	ws, err := c.Workers(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, w := range ws {
		if w.Queue == cluster.DefaultQueue {
			n += w.Slots
		}
	}
	return n, nil
}

// serve makes this process a worker of the cluster at f.clusterURL until
// ctx ends: it runs SumPrimes for whichever driver sends it jobs.
func serve(ctx context.Context, f *flags, stderr io.Writer) int {
	opts := []cluster.Option{cluster.Secret(os.Getenv("PAR_SECRET")), cluster.Jobs(f.jobs)}
	if f.name != "" {
		opts = append(opts, cluster.Name(f.name))
	}
	if err := cluster.Serve(ctx, f.clusterURL, opts...); err != nil {
		fmt.Fprintln(stderr, "primes: worker:", err)
		return 1
	}
	return 0
}
