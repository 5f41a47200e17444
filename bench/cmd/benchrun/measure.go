package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A sample is one measured run of one tool.
type sample struct {
	seconds float64 // the timed part: what the child printed, else the wall time
	wall    float64 // the whole process, start-up included
	rssKiB  int64   // peak resident memory of the process tree
	// median and p99 are one job's round trip, as the child printed
	// them: the latency workload's; zero for the others.
	median, p99 float64
}

// measure runs argv (with stdin from the file stdin, if given) and returns
// its time and peak memory. The peak is the larger of the kernel's
// figure for the largest single process of the tree and the sum over the
// live tree sampled every 20 ms, so that a pool of worker processes counts
// as the sum of its workers. The kernel's figure comes from /usr/bin/time
// (GNU time), which runs the command: taken here, it would count this
// program's memory too, which a child holds for a moment before its exec.
func measure(ctx context.Context, argv []string, stdin string, env []string, timeout time.Duration) (sample, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	wrapped := false
	var rssFile string
	if _, err := os.Stat(gnuTime); err == nil {
		f, err := os.CreateTemp("", "par-bench-rss-")
		if err != nil {
			return sample{}, err
		}
		f.Close()
		rssFile = f.Name()
		defer os.Remove(rssFile)
		argv = append([]string{gnuTime, "-f", "%M", "-o", rssFile}, argv...)
		wrapped = true
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &limited{w: &stdout, n: 1 << 20}
	cmd.Stderr = &limited{w: &stderr, n: 1 << 16}
	if stdin != "" {
		f, err := os.Open(stdin)
		if err != nil {
			return sample{}, err
		}
		defer f.Close()
		cmd.Stdin = f
	}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return sample{}, err
	}
	done := make(chan struct{})
	peak := make(chan int64, 1)
	go func() {
		var max int64
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			max = maxInt(max, treeRSS(cmd.Process.Pid, wrapped))
			select {
			case <-done:
				peak <- max
				return
			case <-tick.C:
			}
		}
	}()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var err error
	select {
	case err = <-waited:
	case <-ctx.Done():
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-waited
		err = fmt.Errorf("a run took longer than %v and was stopped", timeout)
	}
	wall := time.Since(t0).Seconds()
	close(done)
	s := sample{seconds: wall, wall: wall, rssKiB: <-peak}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // leftovers of the tree, if any
	if wrapped {
		if b, err := os.ReadFile(rssFile); err == nil {
			kib, _ := strconv.ParseInt(lastLine(string(b)), 10, 64)
			s.rssKiB = maxInt(s.rssKiB, kib)
		}
	}
	if err != nil {
		if msg := lastLine(stderr.String()); msg != "" {
			return s, fmt.Errorf("%v: %s", err, msg)
		}
		return s, err
	}
	fields := map[string]*float64{"seconds": &s.seconds, "median": &s.median, "p99": &s.p99}
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), " ")
		if dst := fields[name]; ok && dst != nil {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				*dst = f
			}
		}
	}
	return s, nil
}

const gnuTime = "/usr/bin/time"

// treeRSS sums the resident memory of pid and its descendants, in KiB,
// leaving pid itself out if skipRoot.
func treeRSS(pid int, skipRoot bool) int64 {
	var sum int64
	seen := map[int]bool{}
	stack := []int{pid}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[p] {
			continue
		}
		seen[p] = true
		if !skipRoot || p != pid {
			sum += rssKiB(p)
		}
		tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", p))
		for _, t := range tasks {
			kids, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", p, t.Name()))
			for _, k := range strings.Fields(string(kids)) {
				if c, err := strconv.Atoi(k); err == nil {
					stack = append(stack, c)
				}
			}
		}
	}
	return sum
}

// rssKiB is the resident memory of process pid, 0 if it is gone.
func rssKiB(pid int) int64 {
	statm, err := os.ReadFile(fmt.Sprintf("/proc/%d/statm", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(statm))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize()) / 1024
}

func maxInt(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// limited writes at most n bytes to w and drops the rest.
type limited struct {
	w *bytes.Buffer
	n int
}

func (l *limited) Write(p []byte) (int, error) {
	if room := l.n - l.w.Len(); room > 0 {
		l.w.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func listenLocal() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }
