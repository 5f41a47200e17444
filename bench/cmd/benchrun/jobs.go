package main

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"github.com/par-project/par"
)

// The jobs every workload runs, registered so that they can cross a
// process or machine boundary (par's process and cluster backends).
var (
	tinyTask = par.Register("bench.tiny", func(_ context.Context, x float64) (float64, error) { return tiny(x), nil })
	sqrtTask = par.Register("bench.sqrt", func(_ context.Context, x float64) (float64, error) { return math.Sqrt(x), nil })
	spinTask = par.Register("bench.spin", func(_ context.Context, ms float64) (int, error) { return spinCPU(ms), nil })
)

// tiny is a job of about 10 ns: a short chain of square roots, each
// waiting for the one before.
func tiny(x float64) float64 {
	for range 4 {
		x = math.Sqrt(x + 1)
	}
	return x
}

// spinCPU burns ms milliseconds of this thread's CPU time, as the Python
// peers' jobs do with time.thread_time: the same work on both sides, and
// a job that is preempted on a busy machine still does all of it.
func spinCPU(ms float64) int {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	end := threadCPU() + time.Duration(ms*float64(time.Millisecond))
	n := 0
	x := 1.0
	for threadCPU() < end {
		for range 100 {
			x = math.Sqrt(x + 1)
		}
		n++
	}
	if x < 0 { // never: keeps the loop from being removed
		n = -1
	}
	return n
}

func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		panic(fmt.Sprintf("benchrun: thread CPU clock: %v", err))
	}
	return time.Duration(ts.Nano())
}

func floats(n int) []float64 {
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = float64(i)
	}
	return xs
}
