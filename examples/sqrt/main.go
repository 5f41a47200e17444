// Command sqrt is joblib's first example in par: the square roots of
// i² for i in range(10) on two workers, line for line. It then takes the
// square roots of a large list (-n) serially and with par.Map, checks that
// both agree, and reports the times: with jobs this small the figure to
// watch is par's overhead, not a speed-up.
//
//	go run ./examples/sqrt -n 1000000
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"iter"
	"math"
	"os"
	"runtime"
	"time"

	"github.com/par-project/par"
)

// Sqrt is the job, registered so that it can run on every backend.
var Sqrt = par.Register("sqrt.sqrt", func(_ context.Context, x float64) (float64, error) {
	return math.Sqrt(x), nil
})

// squares yields i² for i in [0, n): Python's generator (i ** 2 for i in
// range(n)), read lazily by par.
func squares(n int) iter.Seq[float64] {
	return func(yield func(float64) bool) {
		for i := range n {
			if !yield(float64(i * i)) {
				return
			}
		}
	}
}

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sqrt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 1_000_000, "size of the large run")
	jobs := fs.Int("jobs", -1, "workers for the large run (-1: every CPU)")
	rounds := fs.Int("rounds", 5, "time the large run this many times and keep the fastest")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *n < 0 || *jobs == 0 || *rounds < 1 {
		fmt.Fprintln(stderr, "sqrt: -n must not be negative, -jobs not 0, -rounds at least 1")
		return 2
	}
	// Where the jobs run: goroutines by default; one option changes it.
	opts := []par.Option{}

	// Python:
	//
	//	from math import sqrt
	//	from joblib import Parallel, delayed
	//	Parallel(n_jobs=2)(delayed(sqrt)(i ** 2) for i in range(10))
	roots, err := par.Map(ctx, squares(10), Sqrt.Func(), append(opts, par.Jobs(2))...)
	if err != nil {
		fmt.Fprintln(stderr, "sqrt:", err)
		return 1
	}
	fmt.Fprintln(stdout, roots)

	// The large run: the same job over a slice of n inputs.
	xs := make([]float64, *n)
	for i := range xs {
		xs[i] = float64(i) * float64(i)
	}
	serial := make([]float64, *n)
	var serialTime, parTime time.Duration
	var parallel []float64
	for r := range *rounds {
		t0 := time.Now()
		for i, x := range xs {
			serial[i], _ = Sqrt.Func()(ctx, x)
		}
		if d := time.Since(t0); r == 0 || d < serialTime {
			serialTime = d
		}
		t1 := time.Now()
		parallel, err = par.Map(ctx, xs, Sqrt.Func(), append(opts, par.Jobs(*jobs))...)
		if err != nil {
			fmt.Fprintln(stderr, "sqrt:", err)
			return 1
		}
		if d := time.Since(t1); r == 0 || d < parTime {
			parTime = d
		}
	}
	for i := range serial {
		if parallel[i] != serial[i] || serial[i] != float64(i) {
			fmt.Fprintf(stderr, "sqrt: root %d: serial %v, parallel %v\n", i, serial[i], parallel[i])
			return 1
		}
	}
	perJob := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(max(*n, 1)) }
	fmt.Fprintf(stdout, "%d square roots, fastest of %d rounds: serial %v (%.2f ns each), par.Map %v (%.2f ns each) on %d workers: speed-up %.2f×\n",
		*n, *rounds, serialTime.Round(time.Microsecond), perJob(serialTime),
		parTime.Round(time.Microsecond), perJob(parTime), workers(*jobs),
		serialTime.Seconds()/parTime.Seconds())
	return 0
}

// workers resolves -jobs as par.Jobs does.
func workers(jobs int) int {
	if jobs > 0 {
		return jobs
	}
	return max(1, runtime.GOMAXPROCS(0)+1+jobs)
}
