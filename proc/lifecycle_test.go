//go:build linux

package proc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/par-project/par"
)

// barrierTask connects to the test's socket and waits until the test lets
// it go: the test sees how many jobs run at once without sleeping.
var barrierTask = par.Register("proc-test.barrier", func(ctx context.Context, addr string) (int, error) {
	c, err := net.Dial("unix", addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	if _, err := c.Read(make([]byte, 1)); err != nil {
		return 0, err
	}
	return os.Getpid(), nil
})

// barrier accepts n connections from barrierTask jobs, then releases them.
func barrier(t *testing.T, l *net.UnixListener, n int) {
	t.Helper()
	l.SetDeadline(time.Now().Add(30 * time.Second))
	var conns []net.Conn
	for range n {
		c, err := l.Accept()
		if err != nil {
			t.Fatalf("waiting for %d jobs at once: %v", n, err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.Write([]byte{1})
		c.Close()
	}
}

func TestSetWorkers(t *testing.T) {
	b := newBackend(t)
	pool, err := par.NewPool(par.On(b), par.Jobs(1))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	ctx := testCtx(t)
	addr := filepath.Join(t.TempDir(), "barrier")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: addr, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	if err := pool.SetWorkers(3); err != nil {
		t.Fatal(err)
	}
	var fs []*par.Future[int]
	for range 3 {
		fs = append(fs, par.Submit(pool, ctx, barrierTask.Func(), addr))
	}
	barrier(t, l, 3) // three jobs at once: three workers
	pids := map[int]bool{}
	for _, f := range fs {
		pid, err := f.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pids[pid] = true
	}
	if len(pids) != 3 {
		t.Errorf("jobs ran in %d processes, want 3", len(pids))
	}

	if err := pool.SetWorkers(1); err != nil {
		t.Fatal(err)
	}
	b.stops.Wait()
	live := b.pids()
	if len(live) != 1 {
		t.Fatalf("%d worker processes after SetWorkers(1), want 1", len(live))
	}
	for pid := range pids {
		if pid != live[0] && alive(pid) {
			t.Errorf("surplus worker %d still runs", pid)
		}
	}
	for range 5 {
		if pid, err := par.Submit(pool, ctx, pidTask.Func(), 0).Wait(ctx); err != nil || pid != live[0] {
			t.Fatalf("job ran in %d (%v), want the one worker %d", pid, err, live[0])
		}
	}
}

func TestNotRegistered(t *testing.T) {
	b := newBackend(t)
	_, err := par.Map(testCtx(t), ints(3), func(_ context.Context, x int) (int, error) { return x, nil }, par.On(b))
	if !errors.Is(err, par.ErrNotRegistered) {
		t.Fatalf("error = %v, want par.ErrNotRegistered", err)
	}
	if pids := b.pids(); len(pids) != 0 {
		t.Errorf("workers %v started for nothing", pids)
	}
}

func TestInitEnvAndRecycle(t *testing.T) {
	b := newBackend(t, Workers(1), Init(initTask, "ready"), Env("PROC_TEST_X=42"), MaxJobsPerWorker(5))
	ctx := testCtx(t)
	got, err := par.Map(ctx, []string{"PROC_TEST_INIT", "PROC_TEST_X", envWorker}, envTask.Func(), par.On(b))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"ready", "42", ""}) {
		t.Errorf("worker environment: %q", got)
	}
	pids, err := par.Map(ctx, ints(20), pidTask.Func(), par.On(b))
	if err != nil {
		t.Fatal(err)
	}
	distinct := map[int]int{}
	for _, pid := range pids {
		distinct[pid]++
	}
	for pid, n := range distinct {
		if n > 5 {
			t.Errorf("worker %d ran %d jobs, more than MaxJobsPerWorker", pid, n)
		}
	}
	if len(distinct) < 4 {
		t.Errorf("20 jobs ran in %d processes, want at least 4", len(distinct))
	}
}

func TestInitFails(t *testing.T) {
	b := newBackend(t, Workers(1), Init(initTask, "fail"))
	_, err := par.Map(testCtx(t), ints(3), squareTask.Func(), par.On(b))
	if err == nil || !strings.Contains(err.Error(), "initializer proc-test.init: cannot set up") {
		t.Fatalf("error = %v, want the initializer's", err)
	}
}

func TestOptions(t *testing.T) {
	for name, opt := range map[string]Option{
		"Workers(0)":          Workers(0),
		"MaxJobsPerWorker(0)": MaxJobsPerWorker(0),
		"MemoryLimit(10)":     MemoryLimit(10),
		"Env(x)":              Env("x"),
		"Init(nil)":           Init[int, int](nil, 0),
		"Stderr(nil)":         Stderr(nil),
	} {
		if _, err := New(opt); !errors.Is(err, par.ErrInvalidOption) {
			t.Errorf("%s: error = %v, want par.ErrInvalidOption", name, err)
		}
	}
}

func TestZeroBackend(t *testing.T) {
	var b Backend
	defer b.Close()
	got, err := par.Map(testCtx(t), ints(10), squareTask.Func(), par.On(&b), par.Jobs(2))
	if err != nil || got[9] != 81 {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestCloseReapsAll(t *testing.T) {
	b, err := New(Workers(3))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := par.Map(testCtx(t), ints(100), squareTask.Func(), par.On(b)); err != nil {
		t.Fatal(err)
	}
	pids := b.pids()
	if len(pids) != 3 {
		t.Fatalf("%d workers, want 3", len(pids))
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			t.Errorf("worker %d outlived Close", pid)
		}
	}
	if _, err := par.Map(testCtx(t), ints(3), squareTask.Func(), par.On(b)); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: error = %v, want ErrClosed", err)
	}
}

const envOrphanParent = "PROC_TEST_ORPHAN_PARENT"

// orphanParent is the helper process of TestParentKilled: it starts two
// workers, prints their pids and waits to be killed.
func orphanParent() int {
	b, err := New(Workers(2))
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	if _, err := par.Map(context.Background(), ints(10), squareTask.Func(), par.On(b)); err != nil {
		fmt.Println("error", err)
		return 1
	}
	fmt.Println("pids", strings.Trim(fmt.Sprint(b.pids()), "[]"))
	select {}
}

// TestParentKilled kills a program that has workers, with SIGKILL so that
// it cannot clean up, and checks that its workers die with it.
func TestParentKilled(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envOrphanParent+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "pids ") {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper said %q, %v", line, err)
	}
	var pids []int
	for _, f := range strings.Fields(strings.TrimPrefix(line, "pids ")) {
		pid, _ := strconv.Atoi(f)
		pids = append(pids, pid)
	}
	if len(pids) != 2 {
		t.Fatalf("helper reported workers %v", pids)
	}
	// Hold a handle on each worker before the parent dies, so that the pid
	// cannot be reused under us.
	var fds []int
	for _, pid := range pids {
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			t.Fatalf("worker %d: %v", pid, err)
		}
		defer unix.Close(fd)
		fds = append(fds, fd)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	for i, fd := range fds {
		// A pidfd turns readable when its process exits.
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 10_000)
		if err != nil || n != 1 {
			t.Errorf("worker %d still runs 10s after its parent was killed", pids[i])
		}
		if alive(pids[i]) {
			t.Errorf("worker %d is alive", pids[i])
		}
	}
}

// alive reports whether process pid exists and is not a zombie.
func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(data), ") ")
	return !strings.HasPrefix(rest, "Z") && !strings.HasPrefix(rest, "X")
}
