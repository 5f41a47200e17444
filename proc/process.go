package proc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/par-project/par"
	"github.com/par-project/par/internal/wire"
)

const (
	// startTimeout bounds how long a new worker may take to reach Main; the
	// initializer, after that, has no bound but the caller's context.
	startTimeout = 10 * time.Second
	// stopGrace is how long a worker asked to stop may take before it is
	// killed.
	stopGrace = 5 * time.Second
)

// Why the parent killed or stopped a worker; nil means it died on its own.
const (
	reasonStopped   = "stopped"
	reasonCancelled = "cancelled"
	reasonClosed    = "backend closed"
)

// process is one worker process, seen from the parent.
type process struct {
	slot int
	pid  int
	cmd  *exec.Cmd
	jobs *os.File // fd 3 of the worker
	w    *wire.Writer
	page *progress
	tail tail

	status  chan status   // the worker's status frames
	results chan *results // its results; closed when its output ends
	frames  frames        // buffers for its results frames (see read)
	dead    chan struct{} // closed once it has been reaped
	reason  atomic.Pointer[string]

	// Set before dead is closed.
	exitCode int
	signal   string

	// Used by the one Exec that holds the process.
	seq uint64 // batches sent
	ran int    // jobs sent
}

// spawn starts a worker process for slot id and waits until it is ready
// to take jobs.
func (b *Backend) spawn(ctx context.Context, id int) (*process, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("proc: finding this program to start a worker: %w", err)
	}
	page, err := newProgress()
	if err != nil {
		return nil, err
	}
	var files []*os.File // the parent's copies of the worker's ends, closed after Start
	pipe := func() (r, w *os.File) {
		if err == nil {
			r, w, err = os.Pipe()
		}
		return r, w
	}
	jobsR, jobsW := pipe()
	resR, resW := pipe()
	if err == nil {
		growPipe(jobsW)
		growPipe(resW)
	}
	errR, errW := pipe()
	if err != nil {
		for _, f := range []*os.File{jobsR, jobsW, resR, resW, errR, errW} {
			if f != nil {
				f.Close()
			}
		}
		page.close()
		return nil, fmt.Errorf("proc: starting worker %d: %w", id, err)
	}
	files = append(files, jobsR, resW, errW)

	cmd := exec.Command(exe)
	cmd.Args = []string{os.Args[0]}
	cmd.Env = os.Environ()
	if _, set := os.LookupEnv("GORACE"); raceEnv != "" && !set {
		cmd.Env = append(cmd.Env, raceEnv)
	}
	// A worker runs one job at a time: one CPU each, as Workers counts
	// them. Its runtime then spends less on idle threads and parallel GC
	// (a fifth less CPU a tiny job, BenchmarkProcMap's worker-cpu-ns/job).
	if _, set := os.LookupEnv("GOMAXPROCS"); !set {
		cmd.Env = append(cmd.Env, "GOMAXPROCS=1")
	}
	cmd.Env = append(append(cmd.Env, b.cfg.env...),
		envWorker+"="+strconv.Itoa(id), envParent+"="+strconv.Itoa(os.Getpid()))
	cmd.Stdout = os.Stdout
	cmd.Stderr = errW
	cmd.ExtraFiles = []*os.File{jobsR, resW, page.f}
	cmd.SysProcAttr = sysProcAttr()
	err = cmd.Start()
	for _, f := range files {
		f.Close()
	}
	if err != nil {
		jobsW.Close()
		resR.Close()
		errR.Close()
		page.close()
		return nil, fmt.Errorf("proc: starting worker %d: %w", id, err)
	}
	p := &process{
		slot: id, pid: cmd.Process.Pid, cmd: cmd, jobs: jobsW, w: wire.NewWriter(jobsW), page: page,
		status: make(chan status, 2), results: make(chan *results), frames: make(frames, 2), dead: make(chan struct{}),
	}
	b.track(p, +1)
	stderrDone := make(chan struct{})
	go func() {
		defer close(stderrDone)
		defer errR.Close()
		copyStderr(b.stderr(), &b.stderrMu, "[worker "+strconv.Itoa(id)+"] ", errR, &p.tail)
	}()
	go func() {
		p.read(resR)
		p.reap(stderrDone)
		// Out of the live set before dead closes: whoever waited for
		// the worker to end sees it gone from Backend.pids too.
		b.track(p, -1)
		close(p.dead)
	}()
	if err := p.handshake(ctx, &b.cfg); err != nil {
		p.kill(reasonStopped)
		p.wait()
		p.release()
		return nil, err
	}
	return p, nil
}

// spawnRetry is spawn, tried again when the new worker is killed by a
// signal before it is ready (by an OOM killer, or a user's kill), up to
// three times.
func (b *Backend) spawnRetry(ctx context.Context, id int) (*process, error) {
	for try := 1; ; try++ {
		p, err := b.spawn(ctx, id)
		var lost *par.WorkerLostError
		if err == nil || try == 3 || !errors.As(err, &lost) || lost.Signal == "" || ctx.Err() != nil {
			return p, err
		}
	}
}

// handshake waits for the worker to reach Main, sends it the hello and
// waits for its initializer.
func (p *process) handshake(ctx context.Context, cfg *config) error {
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	fail := func(format string, args ...any) error {
		return fmt.Errorf("proc: starting worker %d: "+format, append([]any{p.slot}, args...)...)
	}
	for ready := false; !ready; {
		select {
		case st := <-p.status:
			if st.Err != "" {
				return fail("%s", st.Err)
			}
			if st.Ready {
				ready = true
				break
			}
			timer.Stop()
			h := hello{Worker: p.slot, Init: cfg.initName, InitArg: cfg.initArg, MemoryLimit: cfg.memoryLimit}
			if err := p.send(&h); err != nil {
				return fail("%v", err)
			}
		case <-p.dead:
			return fail("%w", p.lostError("it exited before taking jobs (does main call proc.Main first?)"))
		case <-timer.C:
			return fail("no answer after %v: does main call proc.Main first?", startTimeout)
		case <-ctx.Done():
			return fail("%w", context.Cause(ctx))
		}
	}
	return nil
}

// send writes one frame to the worker; sendJobs writes a jobs frame.
func (p *process) send(v any) error       { return writeFrame(p.w, v, nil) }
func (p *process) sendJobs(j *jobs) error { return writeFrame(p.w, j, j.Inputs) }

// read receives the worker's frames until its output ends or breaks, and
// closes p.results.
func (p *process) read(f *os.File) {
	defer f.Close()
	defer close(p.results)
	r := wire.NewReader(f, 0)
	for n := 0; n < 2; n++ {
		var st status
		if err := r.Decode(&st); err != nil {
			p.protocolError(err)
			return
		}
		p.status <- st
		if st.Err != "" {
			return
		}
	}
	// Results stay in the frame they came in (decodeResults) until the
	// engine has decoded them and calls release, which gives the frame's
	// buffer back for a later frame: a worker's results reuse the same
	// memory batch after batch.
	for {
		frame, err := r.ReadFrameInto(p.frames.get())
		if err != nil {
			p.protocolError(err)
			return
		}
		rs := &results{frame: frame, frames: p.frames}
		if err := decodeResults(frame, rs); err != nil {
			p.protocolError(err)
			return
		}
		p.results <- rs
	}
}

func (p *process) protocolError(err error) {
	if errors.Is(err, wire.ErrDecode) || errors.Is(err, wire.ErrInvalid) || errors.Is(err, wire.ErrFrameTooLarge) {
		p.kill("protocol error: " + err.Error())
	}
}

// reap waits for the worker to exit, once its output has ended, and
// records how it ended; its caller then closes p.dead.
func (p *process) reap(stderrDone <-chan struct{}) {
	exited := make(chan struct{})
	go func() {
		p.cmd.Wait()
		close(exited)
	}()
	select {
	case <-exited:
	case <-time.After(stopGrace): // it closed its output but lives on
		p.kill(reasonStopped)
		<-exited
	}
	select {
	case <-stderrDone:
	case <-time.After(time.Second): // something the job started holds stderr open
	}
	p.exitCode = -1
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
		switch {
		case ws.Signaled():
			p.signal = ws.Signal().String()
		case ws.Exited():
			p.exitCode = ws.ExitStatus()
		}
	}
}

// kill records why and kills the worker and whatever its jobs started. The
// first reason given sticks.
func (p *process) kill(reason string) {
	p.reason.CompareAndSwap(nil, &reason)
	killGroup(p.pid)
}

// stop asks the worker to exit by closing its input, and kills it if it
// has not after stopGrace. It returns once the worker is reaped.
func (p *process) stop(reason string) {
	p.reason.CompareAndSwap(nil, &reason)
	p.jobs.Close()
	t := time.NewTimer(stopGrace)
	defer t.Stop()
	select {
	case <-p.dead:
	case <-t.C:
		p.kill(reason)
	}
	p.wait()
}

// wait drains the worker's remaining results and waits until it is reaped.
func (p *process) wait() {
	for range p.results {
	}
	<-p.dead
}

// isDead reports whether the worker has been reaped.
func (p *process) isDead() bool {
	select {
	case <-p.dead:
		return true
	default:
		return false
	}
}

// why returns the reason the parent killed the worker, or "".
func (p *process) why() string {
	if r := p.reason.Load(); r != nil {
		return *r
	}
	return ""
}

// release frees what the parent holds of a reaped worker.
func (p *process) release() {
	p.jobs.Close()
	p.page.close()
}

// lostError describes the death of the worker, which must be reaped.
func (p *process) lostError(reason string) *par.WorkerLostError {
	return &par.WorkerLostError{
		Worker:   fmt.Sprintf("%d (pid %d)", p.slot, p.pid),
		ExitCode: p.exitCode,
		Signal:   p.signal,
		Reason:   reason,
		Stderr:   p.tail.String(),
	}
}
