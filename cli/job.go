package cli

import (
	"context"
	"errors"
	"io"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// job is one command to run: its sequence number and arguments.
type job struct {
	seq   int64
	args  []string
	stdin []byte // --pipe: the block fed to the job's standard input
}

// outcome is how one run of a command ended.
type outcome struct {
	cmd     string
	start   time.Time
	dur     time.Duration
	exit    int // -1 when par killed the job (timeout, halt now, interrupt)
	signal  int
	out     *spool
	errOut  *spool
	skipped bool // never ran: --halt stopped new jobs
	slot    int
	recv    int64  // bytes of standard output
	host    string // the cluster worker that ran it; "" when local
	err     error
}

func (o *outcome) failed() bool { return o.exit != 0 || o.signal != 0 }

// termStep is one step of --termseq: a signal, then how long to wait.
type termStep struct {
	sig  syscall.Signal
	wait time.Duration
}

// defaultTermSeq is GNU parallel's --termseq TERM,200,TERM,100,TERM,50,KILL,25.
var defaultTermSeq = []termStep{{syscall.SIGTERM, 200 * time.Millisecond},
	{syscall.SIGTERM, 100 * time.Millisecond}, {syscall.SIGTERM, 50 * time.Millisecond},
	{syscall.SIGKILL, 25 * time.Millisecond}}

// execOnce runs cmdline once in its own process group. The job is killed
// with the term sequence when ctx is done or the timeout passes. Output
// goes to spools unless out/errOut writers are given (--ungroup,
// --line-buffer).
func (r *runner) execOnce(ctx context.Context, j *job, slot int, cmdline string, timeout time.Duration, out, errOut io.Writer) outcome {
	oc := outcome{cmd: cmdline, start: time.Now(), slot: slot}
	var c *exec.Cmd
	if path, argv, ok := directArgv(cmdline, &r.paths); ok {
		c = &exec.Cmd{Path: path, Args: argv}
	} else {
		c = &exec.Cmd{Path: r.shell, Args: []string{r.shell, "-c", cmdline}}
	}
	// r.env has no spare capacity (see newRunner), so each job gets its own copy.
	c.Env = append(r.env, "PARALLEL_SEQ="+strconv.FormatInt(j.seq, 10), "PARALLEL_JOBSLOT="+strconv.Itoa(slot))
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.WaitDelay = 2 * time.Second // background children holding the pipes do not hang par
	if j.stdin != nil {
		c.Stdin = bytesReader(j.stdin)
	}
	if out == nil {
		oc.out = &spool{dir: r.o.TmpDir}
		oc.errOut = &spool{dir: r.o.TmpDir}
		out, errOut = oc.out, oc.errOut
	}
	c.Stdout, c.Stderr = out, errOut
	if err := c.Start(); err != nil {
		oc.exit, oc.err = 255, err
		oc.dur = time.Since(oc.start)
		return oc
	}
	done := make(chan struct{})
	killed := make(chan bool, 1)
	go func() {
		var timer <-chan time.Time
		if timeout > 0 {
			t := time.NewTimer(timeout)
			defer t.Stop()
			timer = t.C
		}
		select {
		case <-done:
			killed <- false
			return
		case <-ctx.Done():
		case <-timer:
		}
		killed <- terminate(c.Process.Pid, r.termSeq, done)
	}()
	err := c.Wait()
	close(done)
	wasKilled := <-killed
	oc.dur = time.Since(oc.start)
	var ee *exec.ExitError
	switch {
	case err == nil || errors.Is(err, exec.ErrWaitDelay):
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			oc.signal = int(ws.Signal())
		} else {
			oc.exit = ee.ExitCode()
		}
	default:
		oc.exit, oc.err = 255, err
	}
	if wasKilled {
		oc.exit = -1
		if oc.signal == 0 {
			oc.signal = int(syscall.SIGTERM)
		}
	}
	return oc
}

// terminate sends the term sequence to the process group of pid until the
// job ends. It reports whether it sent anything.
func terminate(pid int, seq []termStep, done <-chan struct{}) bool {
	for _, st := range seq {
		if err := syscall.Kill(-pid, st.sig); err != nil {
			syscall.Kill(pid, st.sig)
		}
		t := time.NewTimer(st.wait)
		select {
		case <-done:
			t.Stop()
			return true
		case <-t.C:
		}
	}
	syscall.Kill(-pid, syscall.SIGKILL)
	return true
}

func bytesReader(b []byte) io.Reader { return &sliceReader{b: b} }

// sliceReader is a bytes.Reader without WriteTo, so os/exec's copy to the
// job's pipe handles EPIPE from a job that stops reading early.
type sliceReader struct{ b []byte }

func (s *sliceReader) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.b)
	s.b = s.b[n:]
	return n, nil
}
