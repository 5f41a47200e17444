// Command primes is Parallel Python's classic demo in par: it sums the
// primes below N for 64 values of N, first serially and then in parallel on
// a par.Pool, prints one line per N and the pool's per-worker statistics,
// and reports the speed-up.
//
//	go run ./examples/primes -upto 250000
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/par-project/par"
)

// SumPrimes is registered so that it can run on every backend.
var SumPrimes = par.Register("primes.sum", func(_ context.Context, n int) (int, error) {
	return sumPrimes(n), nil
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
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("primes", flag.ContinueOnError)
	fs.SetOutput(stderr)
	upto := fs.Int("upto", 250_000, "largest N")
	count := fs.Int("n", 64, "how many values of N")
	jobs := fs.Int("jobs", -1, "workers (-1: every CPU)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *upto < 2 || *count < 1 || *jobs == 0 {
		fmt.Fprintln(stderr, "primes: -upto must be at least 2, -n at least 1, -jobs not 0")
		return 2
	}
	ns := inputs(*upto, *count)

	t0 := time.Now()
	serial := make([]int, len(ns))
	for i, n := range ns {
		serial[i] = sumPrimes(n)
	}
	serialTime := time.Since(t0)

	pool, err := par.NewPool(par.Jobs(*jobs))
	if err != nil {
		fmt.Fprintln(stderr, "primes:", err)
		return 2
	}
	t1 := time.Now()
	futures := make([]*par.Future[int], len(ns))
	for i, n := range ns {
		futures[i] = par.Submit(pool, ctx, SumPrimes.Func(), n)
	}
	for i, f := range futures {
		sum, err := f.Wait(ctx)
		if err != nil {
			fmt.Fprintln(stderr, "primes:", err)
			return 1
		}
		if sum != serial[i] {
			fmt.Fprintf(stderr, "primes: N=%d: parallel sum %d differs from serial %d\n", ns[i], sum, serial[i])
			return 1
		}
		fmt.Fprintf(stdout, "sum of primes below %d is %d\n", ns[i], sum)
	}
	parallelTime := time.Since(t1)
	if err := pool.Close(); err != nil {
		fmt.Fprintln(stderr, "primes:", err)
		return 1
	}
	fmt.Fprintln(stdout)
	fmt.Fprint(stdout, pool.Stats())
	speedup := serialTime.Seconds() / parallelTime.Seconds()
	fmt.Fprintf(stdout, "\nserial %v, parallel %v on %d workers: speed-up %.2f×, efficiency %.0f%% of %d CPUs\n",
		serialTime.Round(time.Millisecond), parallelTime.Round(time.Millisecond), len(pool.Stats().PerWorker),
		speedup, 100*speedup/float64(runtime.GOMAXPROCS(0)), runtime.GOMAXPROCS(0))
	return 0
}
