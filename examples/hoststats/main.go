// Command hoststats collects statistics from many hosts at once. It starts
// a fleet of simulated hosts itself (HTTP servers on 127.0.0.1 with random
// latency, some answering 500, a few hanging), then fetches GET /stats from
// each on a par.Pool: at most -jobs requests at a time, a per-host timeout,
// retries of 5xx answers, the hosts submitted in groups of -batch and each
// group waited for in turn. It prints a table, the totals, and the time
// against fetching the hosts one at a time with the same policy.
//
//	go run ./examples/hoststats -hosts 200
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/par-project/par"
)

// StatusError is an HTTP answer other than 200.
type StatusError struct{ Code int }

func (e *StatusError) Error() string { return fmt.Sprintf("HTTP %d", e.Code) }

// client makes one connection per request: each host is asked once.
var client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// Fetch is the job, registered so that it can run on every backend: it
// asks the host at addr for its stats, and marks 5xx answers retryable.
var Fetch = par.Register("hoststats.fetch", func(ctx context.Context, addr string) (HostStats, error) {
	var st HostStats
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/stats", nil)
	if err != nil {
		return st, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		err := &StatusError{Code: resp.StatusCode}
		if resp.StatusCode >= 500 {
			return st, par.Retryable(err)
		}
		return st, err
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
})

// A result is one host's stats, or why there are none.
type result struct {
	Stats HostStats
	Err   error
}

// collect fetches every address on a pool of the given options, submitted
// in groups of batch; report is called after each group has finished.
func collect(ctx context.Context, addrs []string, batch int, opts []par.Option, report func(first, last int, failed error)) ([]result, par.Stats, error) {
	pool, err := par.NewPool(opts...)
	if err != nil {
		return nil, par.Stats{}, err
	}
	futures := make([]*par.Future[HostStats], len(addrs))
	var groups []*par.Group
	for i, addr := range addrs {
		if i%batch == 0 {
			groups = append(groups, pool.Group())
		}
		futures[i] = par.Submit(groups[len(groups)-1], ctx, Fetch.Func(), addr)
	}
	for g, group := range groups {
		failed := group.Wait(ctx) // every failure of the group, joined
		if ctx.Err() != nil {
			break
		}
		report(g*batch, min((g+1)*batch, len(addrs))-1, failed)
	}
	results := make([]result, len(addrs))
	for i, f := range futures {
		results[i].Stats, results[i].Err = f.Wait(ctx)
	}
	pool.Close() // waits for the jobs: none outlives collect
	return results, pool.Stats(), ctx.Err()
}

// cause names a failure for the table: a timeout or an HTTP status.
func cause(err error) string {
	var se *StatusError
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, par.ErrTimeout):
		return "timeout"
	case errors.As(err, &se):
		return se.Error()
	}
	return "error: " + err.Error()
}

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hoststats", flag.ContinueOnError)
	fs.SetOutput(stderr)
	spec := fleetSpec{}
	fs.IntVar(&spec.Hosts, "hosts", 200, "simulated hosts to start")
	fs.Uint64Var(&spec.Seed, "seed", 1, "seed of the hosts' latencies, stats and failures")
	fs.DurationVar(&spec.MinLatency, "min-latency", 20*time.Millisecond, "shortest host latency")
	fs.DurationVar(&spec.MaxLatency, "max-latency", 200*time.Millisecond, "longest host latency")
	fs.Float64Var(&spec.Flaky, "flaky", 0.10, "share of hosts that answer 500 once, then their stats")
	fs.Float64Var(&spec.Broken, "broken", 0.03, "share of hosts that always answer 500")
	fs.Float64Var(&spec.Hanging, "hanging", 0.03, "share of hosts that never answer")
	jobs := fs.Int("jobs", 64, "requests at a time")
	batch := fs.Int("batch", 50, "hosts per group")
	timeout := fs.Duration("timeout", 500*time.Millisecond, "per-request timeout (each try)")
	retries := fs.Int("retries", 2, "retries of a 5xx answer")
	backoff := fs.Duration("backoff", 20*time.Millisecond, "wait before the first retry, doubled for each next")
	serial := fs.Bool("serial", true, "also fetch the hosts one at a time, for the speed-up")
	table := fs.Bool("table", true, "print a row per host")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if spec.Hosts < 1 || *batch < 1 || *jobs == 0 || spec.MinLatency < 0 || spec.MaxLatency < spec.MinLatency || *timeout <= spec.MaxLatency || *retries < 0 || *backoff < 0 ||
		spec.Flaky < 0 || spec.Broken < 0 || spec.Hanging < 0 || spec.Flaky+spec.Broken+spec.Hanging > 1 {
		fmt.Fprintln(stderr, "hoststats: need -hosts, -batch ≥ 1, -jobs ≠ 0, 0 ≤ -min-latency ≤ -max-latency < -timeout, -retries, -backoff ≥ 0, shares ≥ 0 adding up to at most 1")
		return 2
	}
	fleet, err := startFleet(spec)
	if err != nil {
		fmt.Fprintln(stderr, "hoststats:", err)
		return 1
	}
	defer fleet.Close()
	// Where the jobs run: goroutines by default; one option changes it.
	policy := []par.Option{par.Timeout(*timeout), par.Retries(*retries, *backoff)}

	t0 := time.Now()
	results, stats, err := collect(ctx, fleet.addrs(), *batch, append(policy, par.Jobs(*jobs)),
		func(first, last int, failed error) {
			n := 0
			if failed != nil {
				n = len(failed.(interface{ Unwrap() []error }).Unwrap()) // errors.Join's
			}
			fmt.Fprintf(stdout, "hosts %d–%d: %d failed, done after %v\n", first+1, last+1, n, time.Since(t0).Round(time.Millisecond))
		})
	if err != nil {
		fmt.Fprintln(stderr, "hoststats:", err)
		return 1
	}
	parTime := time.Since(t0)
	var serialTime time.Duration
	if *serial {
		t1 := time.Now()
		if _, _, err := collect(ctx, fleet.addrs(), len(fleet.hosts), append(policy, par.Jobs(1)), func(int, int, error) {}); err != nil {
			fmt.Fprintln(stderr, "hoststats:", err)
			return 1
		}
		serialTime = time.Since(t1)
	}
	if *table {
		printTable(stdout, fleet, results)
	}
	fmt.Fprint(stdout, totals(results, stats))
	if *serial {
		fmt.Fprintf(stdout, "serial %v, par %v on %d at a time: speed-up %.1f×\n", serialTime.Round(time.Millisecond),
			parTime.Round(time.Millisecond), *jobs, serialTime.Seconds()/parTime.Seconds())
	} else {
		fmt.Fprintf(stdout, "par %v on %d at a time\n", parTime.Round(time.Millisecond), *jobs)
	}
	if err := check(fleet, results, stats, *retries); err != nil {
		fmt.Fprintln(stderr, "hoststats:", err)
		return 1
	}
	return 0
}
