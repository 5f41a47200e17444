// Command primes is Parallel Python's classic demo in par: it sums the
// primes below N for 64 values of N, first serially and then in parallel on
// a par.Pool, prints one line per N and the pool's per-worker statistics,
// and reports the speed-up. The same jobs run on any of par's backends:
//
//	go run ./examples/primes                      # goroutines
//	go run ./examples/primes -backend proc        # worker processes
//	go run ./examples/primes -backend cluster     # an embedded par server and two worker processes
//
// On a cluster of one's own, each worker host runs this binary as a worker
// and one host drives:
//
//	primes -worker -cluster nats://host:4222      # on every worker host
//	primes -cluster nats://host:4222              # the driver
//
// Both read the cluster's secret from PAR_SECRET.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/par-project/par"
	"github.com/par-project/par/cluster"
	"github.com/par-project/par/proc"
)

// Answer is one job's result: the sum, and the worker that found it.
type Answer struct {
	Sum    int
	Worker string // the cluster worker's name, else "pid N" of the process that ran the job
}

// SumPrimes is registered so that it can run on every backend: worker
// processes and cluster workers, which run this same binary, find it by
// its name.
var SumPrimes = par.Register("primes.sum", func(ctx context.Context, n int) (Answer, error) {
	worker := cluster.WorkerName(ctx)
	if worker == "" {
		worker = fmt.Sprintf("pid %d", os.Getpid())
	}
	return Answer{Sum: sumPrimes(n), Worker: worker}, nil
})

func isPrime(n int) bool {
	if n < 2 {
		return false
	}
	for d := 2; d*d <= n; d++ {
		if n%d == 0 {
			return false
		}
	}
	return true
}

// sumPrimes is the job: the sum of the primes below n, by trial division,
// as in Parallel Python's example.
func sumPrimes(n int) int {
	sum := 0
	for x := 2; x < n; x++ {
		if isPrime(x) {
			sum += x
		}
	}
	return sum
}

// inputs returns count values of N spread evenly up to upto.
func inputs(upto, count int) []int {
	ns := make([]int, count)
	for i := range ns {
		ns[i] = upto * (i + 1) / count
	}
	return ns
}

func main() {
	proc.Main() // in a worker process of -backend proc: serve jobs and exit
	os.Exit(runWithSignals(os.Args[1:]))
}

// runWithSignals runs the program until it ends or SIGINT or SIGTERM
// arrives: a driver then stops its run and its workers, a worker hands
// its batches back to the queue.
func runWithSignals(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, args, os.Stdout, os.Stderr)
}

// flags are the program's settings.
type flags struct {
	upto, count, jobs int
	backend           string
	clusterURL        string
	worker            bool   // serve the cluster at clusterURL instead of driving
	name              string // the worker's name, with -worker
	workers           int    // worker processes of the embedded cluster
}

func parseFlags(args []string, stderr io.Writer) (*flags, error) {
	f := &flags{}
	fs := flag.NewFlagSet("primes", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&f.upto, "upto", 250_000, "largest N")
	fs.IntVar(&f.count, "n", 64, "how many values of N")
	fs.IntVar(&f.jobs, "jobs", -1, "jobs at once (-1: every CPU); with -worker, batches at once")
	fs.StringVar(&f.backend, "backend", "goroutines", "where jobs run: goroutines, proc or cluster")
	fs.StringVar(&f.clusterURL, "cluster", "", "NATS URL of a running par cluster (secret from PAR_SECRET); without it -backend cluster starts its own")
	fs.BoolVar(&f.worker, "worker", false, "serve the cluster at -cluster as a worker until SIGTERM or SIGINT")
	fs.StringVar(&f.name, "name", "", "with -worker: the worker's name in par status")
	fs.IntVar(&f.workers, "workers", 2, "worker processes of the cluster that -backend cluster starts without -cluster")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	backendSet := false
	fs.Visit(func(fl *flag.Flag) { backendSet = backendSet || fl.Name == "backend" })
	if f.clusterURL != "" && !backendSet {
		f.backend = "cluster"
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case f.upto < 2 || f.count < 1 || f.jobs == 0:
		return nil, fmt.Errorf("-upto must be at least 2, -n at least 1, -jobs not 0")
	case !slices.Contains([]string{"goroutines", "proc", "cluster"}, f.backend):
		return nil, fmt.Errorf("-backend %q: want goroutines, proc or cluster", f.backend)
	case f.clusterURL != "" && f.backend != "cluster":
		return nil, fmt.Errorf("-cluster needs -backend cluster, not %s", f.backend)
	case f.worker && f.clusterURL == "":
		return nil, fmt.Errorf("-worker needs -cluster URL")
	case f.workers < 1:
		return nil, fmt.Errorf("-workers must be at least 1")
	}
	return f, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f, err := parseFlags(args, stderr)
	if err != nil {
		if err != flag.ErrHelp && err.Error() != "" {
			fmt.Fprintln(stderr, "primes:", err)
		}
		return 2
	}
	if f.worker {
		return serve(ctx, f, stderr)
	}
	ns := inputs(f.upto, f.count)

	t0 := time.Now()
	serial := make([]int, len(ns))
	for i, n := range ns {
		serial[i] = sumPrimes(n)
	}
	serialTime := time.Since(t0)

	b, err := startBackend(ctx, f, stdout, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "primes:", err)
		return 1
	}
	code := drive(ctx, f, b, ns, serial, serialTime, stdout, stderr)
	if err := b.close(); err != nil {
		fmt.Fprintln(stderr, "primes:", err)
		code = 1
	}
	return code
}

// drive runs the jobs on b's pool, checks them against serial and prints
// the sums, the statistics and the speed-up.
func drive(ctx context.Context, f *flags, b *backend, ns, serial []int, serialTime time.Duration, stdout, stderr io.Writer) int {
	pool, err := par.NewPool(b.opts...)
	if err != nil {
		fmt.Fprintln(stderr, "primes:", err)
		return 2
	}
	t1 := time.Now()
	futures := make([]*par.Future[Answer], len(ns))
	for i, n := range ns {
		futures[i] = par.Submit(pool, ctx, SumPrimes.Func(), n)
	}
	byWorker := map[string]int{}
	for i, fut := range futures {
		a, err := fut.Wait(ctx)
		if err != nil {
			fmt.Fprintln(stderr, "primes:", err)
			pool.Close()
			return 1
		}
		if a.Sum != serial[i] {
			fmt.Fprintf(stderr, "primes: N=%d: parallel sum %d differs from serial %d\n", ns[i], a.Sum, serial[i])
			pool.Close()
			return 1
		}
		byWorker[a.Worker]++
		fmt.Fprintf(stdout, "sum of primes below %d is %d\n", ns[i], a.Sum)
	}
	parallelTime := time.Since(t1)
	if err := pool.Close(); err != nil {
		fmt.Fprintln(stderr, "primes:", err)
		return 1
	}
	fmt.Fprintln(stdout)
	fmt.Fprint(stdout, pool.Stats())
	if f.backend != "goroutines" {
		// The pool's workers are its lanes in this process; these are the
		// processes that ran the jobs.
		fmt.Fprintln(stdout)
		printByWorker(stdout, byWorker, len(ns))
	}
	cpus := runtime.GOMAXPROCS(0)
	speedup := serialTime.Seconds() / parallelTime.Seconds()
	fmt.Fprintf(stdout, "\nserial %v, parallel %v on %s: speed-up %.2f×, efficiency %.0f%% of %d CPUs\n",
		serialTime.Round(time.Millisecond), parallelTime.Round(time.Millisecond), b.desc,
		speedup, 100*speedup/float64(cpus), cpus)
	return 0
}

// printByWorker prints how many jobs each worker process ran.
func printByWorker(w io.Writer, byWorker map[string]int, total int) {
	names := make([]string, 0, len(byWorker))
	for name := range byWorker {
		names = append(names, name)
	}
	slices.Sort(names)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ran on\tjobs\tshare\t")
	for _, name := range names {
		fmt.Fprintf(tw, "%s\t%d\t%.1f%%\t\n", name, byWorker[name], 100*float64(byWorker[name])/float64(total))
	}
	tw.Flush()
}
