package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/par-project/par/internal/testio"

	"go.uber.org/goleak"

	"github.com/par-project/par"
	"github.com/par-project/par/cluster"
	"github.com/par-project/par/partest"
	"github.com/par-project/par/proc"
)

// envMain makes the test binary run the program, as a process the test
// can kill.
const envMain = "PRIMES_TEST_MAIN"

func TestMain(m *testing.M) {
	proc.Main()
	// The embedded cluster's worker processes run this test binary with
	// -worker, as they run the program's binary in real use.
	if len(os.Args) > 1 && os.Args[1] == "-worker" || os.Getenv(envMain) != "" {
		os.Exit(runWithSignals(os.Args[1:]))
	}
	goleak.VerifyTestMain(m)
}

// sieve sums the primes below n another way, to check the demo's answers.
func sieve(n int) int {
	composite := make([]bool, n)
	sum := 0
	for i := 2; i < n; i++ {
		if !composite[i] {
			sum += i
			for j := i * i; j < n; j += i {
				composite[j] = true
			}
		}
	}
	return sum
}

// wantSums is the block of lines every backend must print, in this order.
func wantSums(upto, count int) string {
	var b strings.Builder
	for _, n := range inputs(upto, count) {
		fmt.Fprintf(&b, "sum of primes below %d is %d\n", n, sieve(n))
	}
	return b.String() + "\n"
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// children returns the pids of this process's children that run this
// binary: the worker processes of the proc backend or of the embedded
// cluster.
func children(t *testing.T) []int {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, path := range stats {
		data, err := os.ReadFile(path)
		if err != nil {
			continue // exited since the glob
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
		if len(fields) < 2 || fields[1] != strconv.Itoa(os.Getpid()) {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(path)))
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && exe == self {
			pids = append(pids, pid)
		}
	}
	return pids
}

// ranOn parses the "ran on" table: jobs per worker process.
func ranOn(t *testing.T, out string) map[string]int {
	t.Helper()
	_, table, ok := strings.Cut(out, "ran on")
	if !ok {
		t.Fatalf("no \"ran on\" table in:\n%s", out)
	}
	rows := map[string]int{}
	for _, line := range strings.Split(table, "\n")[1:] {
		f := strings.Fields(line)
		if len(f) == 0 {
			break
		}
		n, err := strconv.Atoi(f[len(f)-2])
		if err != nil {
			t.Fatalf("bad row %q in:\n%s", line, out)
		}
		rows[strings.Join(f[:len(f)-2], " ")] = n
	}
	return rows
}

// TestPrimesBackends checks every backend's sums against a sieve, the
// statistics, and that no worker process outlives the run.
func TestPrimesBackends(t *testing.T) {
	const upto, count = 20000, 16
	for _, backend := range []string{"goroutines", "proc", "cluster"} {
		t.Run(backend, func(t *testing.T) {
			var out, errs testio.Buffer
			args := []string{"-backend", backend, "-upto", strconv.Itoa(upto), "-n", strconv.Itoa(count), "-jobs", "2"}
			if code := run(testCtx(t), args, &out, &errs); code != 0 {
				t.Fatalf("exit %d: %s", code, errs.String())
			}
			got := out.String()
			if backend == "cluster" {
				// The embedded cluster says where it ran first.
				first, rest, _ := strings.Cut(got, "\n\n")
				if !strings.HasPrefix(first, "par server at nats://127.0.0.1:") || !strings.Contains(first, "2 worker processes (worker-1, worker-2)") {
					t.Errorf("first line %q, want the embedded server and its workers", first)
				}
				got = rest
			}
			if want := wantSums(upto, count); !strings.HasPrefix(got, want) {
				t.Fatalf("output does not start with the sums:\n%s\nwant:\n%s", got, want)
			}
			for _, want := range []string{"16 jobs, 0 failed, 0 retried", "primes.sum  16", "speed-up"} {
				if !strings.Contains(got, want) {
					t.Errorf("missing %q in:\n%s", want, got)
				}
			}
			if backend != "goroutines" {
				rows := ranOn(t, got)
				total := 0
				for name, n := range rows {
					total += n
					if backend == "cluster" && name != "worker-1" && name != "worker-2" {
						t.Errorf("jobs ran on %q, want worker-1 or worker-2", name)
					}
					if backend == "proc" && (!strings.HasPrefix(name, "pid ") || name == fmt.Sprintf("pid %d", os.Getpid())) {
						t.Errorf("jobs ran on %q, want worker processes", name)
					}
				}
				if total != count {
					t.Errorf("ran-on table counts %d jobs, want %d: %v", total, count, rows)
				}
				t.Logf("jobs per worker: %v", rows)
			}
			if left := children(t); len(left) > 0 {
				t.Errorf("worker processes %v still running after the run", left)
			}
		})
	}
}

// killer is the demo's standard output that SIGKILLs a worker process as
// the result lines given in at appear: the run then has jobs left, some
// of them on the killed worker. When no worker is alive at that moment
// (the last one was just killed and its replacement is not up yet), the
// kill waits for the next line.
type killer struct {
	t     *testing.T
	at    []int // after which result lines to kill, in increasing order
	lines int
	kills []int // pids killed
	out   bytes.Buffer
}

func (k *killer) Write(p []byte) (int, error) {
	k.lines += bytes.Count(p, []byte("sum of primes"))
	if len(k.at) > 0 && k.lines >= k.at[0] {
		for _, pid := range children(k.t) {
			if !slices.Contains(k.kills, pid) && syscall.Kill(pid, syscall.SIGKILL) == nil {
				k.kills = append(k.kills, pid)
				k.at = k.at[1:]
				break
			}
		}
	}
	return k.out.Write(p)
}

// TestPrimesProcKilledWorkers kills a worker process three times while the
// jobs run on -backend proc, early on, while most jobs are still to run:
// the jobs a killed worker was running run again elsewhere, and every sum
// is still right.
func TestPrimesProcKilledWorkers(t *testing.T) {
	const upto, count = 100000, 64
	k := &killer{t: t, at: []int{1, 4, 8}}
	var errs testio.Buffer
	args := []string{"-backend", "proc", "-upto", strconv.Itoa(upto), "-n", strconv.Itoa(count), "-jobs", "2"}
	if code := run(testCtx(t), args, k, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	got := k.out.String()
	if want := wantSums(upto, count); !strings.HasPrefix(got, want) {
		t.Fatalf("output does not start with the sums:\n%s\nwant:\n%s", got, want)
	}
	if len(k.kills) != 3 {
		t.Fatalf("killed %v, want 3 workers", k.kills)
	}
	rows := ranOn(t, got)
	t.Logf("killed %v; jobs per worker %v; %s", k.kills, rows, firstLine(got, "jobs, "))
	if left := children(t); len(left) > 0 {
		t.Errorf("worker processes %v still running after the run", left)
	}
}

func firstLine(s, containing string) string {
	for line := range strings.Lines(s) {
		if strings.Contains(line, containing) {
			return strings.TrimSpace(line)
		}
	}
	return ""
}

// TestPrimesExistingCluster drives a cluster that someone else started,
// with -cluster URL: the jobs run on its workers.
func TestPrimesExistingCluster(t *testing.T) {
	t.Setenv("PAR_SECRET", "")
	url := partest.StartServer(t)
	partest.StartWorkers(t, url, 2, cluster.Jobs(1))
	var out, errs testio.Buffer
	if code := run(testCtx(t), []string{"-cluster", url, "-upto", "20000", "-n", "16"}, &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	if want := wantSums(20000, 16); !strings.HasPrefix(out.String(), want) {
		t.Fatalf("output does not start with the sums:\n%s\nwant:\n%s", out.String(), want)
	}
	total := 0
	for name, n := range ranOn(t, out.String()) {
		if strings.HasPrefix(name, "pid ") {
			t.Errorf("%d jobs ran outside the cluster's workers, in %s", n, name)
		}
		total += n
	}
	if total != 16 {
		t.Errorf("ran-on table counts %d jobs, want 16", total)
	}
}

// TestPrimesWorker serves a cluster with -worker until its context ends,
// as a worker host does.
func TestPrimesWorker(t *testing.T) {
	t.Setenv("PAR_SECRET", "")
	url := partest.StartServer(t)
	ctx, stop := context.WithCancel(testCtx(t))
	done := make(chan int)
	var errs testio.Buffer
	go func() {
		done <- run(ctx, []string{"-worker", "-cluster", url, "-name", "w9", "-jobs", "1"}, &bytes.Buffer{}, &errs)
	}()

	c, err := cluster.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	answers, err := par.Map(ctx, []int{10, 100, 1000}, SumPrimes.Func(), par.On(c))
	c.Close()
	stop()
	if code := <-done; code != 0 {
		t.Errorf("worker exit %d: %s", code, errs.String())
	}
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range []int{10, 100, 1000} {
		if want := (Answer{Sum: sieve(n), Worker: "w9"}); answers[i] != want {
			t.Errorf("N=%d: %+v, want %+v", n, answers[i], want)
		}
	}
}

func TestPrimesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-upto", "1"}, {"-jobs", "0"}, {"-n", "x"}, {"-backend", "threads"},
		{"-backend", "proc", "-cluster", "nats://127.0.0.1:4222"}, {"-worker"},
		{"-backend", "cluster", "-workers", "0"}, {"extra"},
	} {
		var out, errs bytes.Buffer
		if code := run(context.Background(), args, &out, &errs); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
		if !strings.Contains(errs.String(), "primes:") && !strings.Contains(errs.String(), "invalid value") {
			t.Errorf("%v: no clear error, stderr %q", args, errs.String())
		}
	}
}

// A cluster that is not there is an error, not a hang or a panic.
func TestPrimesNoCluster(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run(testCtx(t), []string{"-cluster", "nats://127.0.0.1:1", "-upto", "100", "-n", "2"}, &out, &errs); code != 1 {
		t.Errorf("exit %d, want 1; stderr %q", code, errs.String())
	}
	if !strings.Contains(errs.String(), "127.0.0.1:1") {
		t.Errorf("stderr %q does not name the cluster", errs.String())
	}
}

// workersOf returns the pids of the worker processes serving url.
func workersOf(t *testing.T, url string) []int {
	t.Helper()
	cmdlines, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, path := range cmdlines {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		args := strings.Split(string(data), "\x00")
		if len(args) > 3 && args[1] == "-worker" && args[3] == url && !zombie(path) {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(path)))
			pids = append(pids, pid)
		}
	}
	return pids
}

// zombie reports whether the process of /proc/PID/... has exited and
// waits to be reaped.
func zombie(procPath string) bool {
	data, err := os.ReadFile(filepath.Join(filepath.Dir(procPath), "stat"))
	if err != nil {
		return true // gone
	}
	fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	return len(fields) > 0 && fields[0] == "Z"
}

// TestPrimesClusterDriverKilled SIGKILLs the demo while its embedded
// cluster runs: its worker processes must not outlive it.
func TestPrimesClusterDriverKilled(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-backend", "cluster", "-upto", "100000", "-n", "64")
	// The killed driver leaves its server's directory behind: in TMPDIR,
	// which the test removes.
	cmd.Env = append(os.Environ(), envMain+"=1", "TMPDIR="+t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errs testio.Buffer
	cmd.Stderr = &errs
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	var url string
	for url == "" && sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "par server at "); ok {
			url, _, _ = strings.Cut(rest, ",")
		}
	}
	if url == "" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("no server line; stderr:\n%s", errs.String())
	}
	workers := workersOf(t, url)
	if len(workers) != 2 {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("worker processes of %s: %v, want 2", url, workers)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	for sc.Scan() {
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("driver ended with %v, want killed by SIGKILL: the run was over before the kill", err)
	}

	t.Logf("driver killed %v after its start", time.Since(t0).Round(time.Millisecond))
	t0 = time.Now()
	defer func() { t.Logf("workers gone %v after the driver", time.Since(t0).Round(time.Millisecond)) }()
	// The kernel sends each worker SIGTERM as the driver dies; a worker
	// then stops within seconds. Bounded wait: 30 s.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for left := workers; len(left) > 0; left = workersOf(t, url) {
		select {
		case <-deadline:
			for _, pid := range left {
				syscall.Kill(pid, syscall.SIGKILL)
			}
			t.Fatalf("worker processes %v still running 30 s after their driver was killed", left)
		case <-tick.C:
		}
	}
}
