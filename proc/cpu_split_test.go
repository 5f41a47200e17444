//go:build linux

package proc

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/par-project/par"
)

func procCPU(pid int) time.Duration {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	_, rest, _ := strings.Cut(string(data), ") ")
	f := strings.Fields(rest)
	var u, s int64
	fmt.Sscan(f[11], &u)
	fmt.Sscan(f[12], &s)
	return time.Duration(u+s) * 10 * time.Millisecond
}

func TestCPUSplit(t *testing.T) {
	if os.Getenv("PROC_CPU_SPLIT") == "" {
		t.Skip()
	}
	be := newBackend(t, Workers(2))
	xs := make([]float64, 100_000)
	ctx := context.Background()
	par.Map(ctx, xs[:1000], sqrtTask.Func(), par.On(be))
	pids := be.pids()
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	c0 := procCPU(pids[0]) + procCPU(pids[1])
	t0 := time.Now()
	for range 20 {
		par.Map(ctx, xs, sqrtTask.Func(), par.On(be))
	}
	wall := time.Since(t0)
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	c1 := procCPU(pids[0]) + procCPU(pids[1])
	self := time.Duration(ru1.Utime.Nano()+ru1.Stime.Nano()-ru0.Utime.Nano()-ru0.Stime.Nano())
	n := 20 * 100_000
	t.Logf("wall %v/job, parent CPU %v/job (sys %v), workers CPU %v/job",
		wall/time.Duration(n), self/time.Duration(n), time.Duration(ru1.Stime.Nano()-ru0.Stime.Nano())/time.Duration(n), (c1-c0)/time.Duration(n))
}
