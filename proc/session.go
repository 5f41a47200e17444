package proc

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/par-project/par"
	"github.com/par-project/par/internal/identity"
	"github.com/par-project/par/internal/remote"
	"github.com/par-project/par/internal/wire"
)

// session is one call's view of a Backend: its slot count and timeout.
type session struct {
	b       *Backend
	slots   atomic.Int64
	timeout time.Duration
}

// Slots is twice the worker count: while a worker runs one batch, the
// engine encodes the next for it and decodes the last, so a worker does
// not wait for the parent between batches. acquire still hands each
// worker one batch at a time.
func (s *session) Slots() int { return 2 * int(s.slots.Load()) }

// BatchTarget asks for batches of about 2 ms: long enough that a round
// trip on the pipes (about 0.1 ms) is small beside it, short enough that
// encoding one batch overlaps the run of another.
func (s *session) BatchTarget() time.Duration { return 2 * time.Millisecond }
func (s *session) Close() error               { return nil }

// Resize changes the number of worker processes of the Backend (for
// par.Pool.SetWorkers).
func (s *session) Resize(n int) error {
	if err := s.b.resize(n); err != nil {
		return err
	}
	s.slots.Store(int64(n))
	return nil
}

// Exec runs b on the worker processes. Jobs whose worker died under them
// fail with a *par.WorkerLostError; the jobs of the batch that had not
// started, or whose results were lost with the worker, run again on
// another worker at once, since they were not to blame.
func (s *session) Exec(ctx context.Context, b *par.Batch) error {
	n := b.Len()
	x := &execution{b: b}
	pending := identity.Ints(n)
	for len(pending) > 0 {
		sl, err := s.b.acquire(ctx)
		if err != nil {
			if len(pending) == n {
				return err
			}
			for _, k := range pending {
				x.fail(k, err)
			}
			break
		}
		chunk := s.chunk(pending, sl.p)
		again := s.run(ctx, sl.p, x, chunk)
		s.b.release(sl)
		pending = append(again, pending[len(chunk):]...)
	}
	x.finish()
	return nil
}

// execution is the state of one Exec: the batch, its inputs split by job
// once a part of them must be sent, and its outputs by job when they came
// in parts. A batch sent whole whose results come back in one frame is
// never split: its input array goes out and its output array comes back
// as they are.
type execution struct {
	b     *par.Batch
	items [][]byte   // b.Input by job, once needed
	outs  [][]byte   // each job's output, when they came in parts
	parts []*results // the results that outs points into
}

func (x *execution) fail(k int, err error) {
	if x.b.Errs == nil {
		x.b.Errs = make([]error, x.b.Len())
	}
	x.b.Errs[k] = err
}

// input returns the CBOR array of the inputs of jobs chunk, and the jobs
// past maxBatchFrame bytes of input (but at least one job), to send later.
func (x *execution) input(chunk []int) (input []byte, sent, later []int, err error) {
	if len(chunk) == x.b.Len() && len(x.b.Input) <= maxBatchFrame {
		return x.b.Input, chunk, nil, nil
	}
	if x.items == nil {
		if x.items, err = wire.SplitArray(x.b.Input); err == nil && len(x.items) != x.b.Len() {
			err = fmt.Errorf("%d inputs for %d jobs", len(x.items), x.b.Len())
		}
		if err != nil {
			x.items = nil
			return nil, chunk, nil, fmt.Errorf("proc: batch input: %w", err)
		}
	}
	size := 0
	for i, k := range chunk {
		size += len(x.items[k])
		if i > 0 && size > maxBatchFrame {
			chunk, later = chunk[:i], append([]int(nil), chunk[i:]...)
			break
		}
	}
	part := make([][]byte, len(chunk))
	for i, k := range chunk {
		part[i] = x.items[k]
	}
	return wire.JoinArray(part), chunk, later, nil
}

// output records the results rs of jobs chunk[got:].
func (x *execution) output(rs *results, chunk []int, got int) error {
	x.b.Ran += time.Duration(rs.Nanos)
	for _, e := range rs.Errs {
		x.fail(chunk[got+e.At], remote.FromWire(&e.Err, "", nil))
	}
	if got == 0 && rs.n == x.b.Len() && x.outs == nil {
		x.b.Output, x.b.Release = rs.Outputs, rs.release
		return nil
	}
	items, err := wire.SplitArray(rs.Outputs)
	if err != nil {
		return err
	}
	x.parts = append(x.parts, rs)
	if x.outs == nil {
		x.outs = make([][]byte, x.b.Len())
	}
	for i, it := range items {
		x.outs[chunk[got+i]] = it
	}
	return nil
}

// finish puts together the outputs that came in parts.
func (x *execution) finish() {
	if x.outs == nil {
		return
	}
	for k, out := range x.outs {
		if out == nil {
			x.outs[k] = []byte{0xf6} // null: the job failed
		}
	}
	x.b.Output = wire.JoinArray(x.outs)
	for _, rs := range x.parts {
		rs.release()
	}
}

// chunk returns the jobs of pending to send to p at once: no more than
// p may run before MaxJobsPerWorker replaces it, and no more than
// maxBatchFrame bytes of input (but at least one job).
func (s *session) chunk(pending []int, p *process) []int {
	k := len(pending)
	if m := s.b.cfg.maxJobs; m > 0 {
		k = min(k, max(1, m-p.ran))
	}
	return pending[:k]
}

// run sends the jobs chunk of x to p and waits for their results. It
// returns the jobs to run again elsewhere.
func (s *session) run(ctx context.Context, p *process, x *execution, chunk []int) (again []int) {
	input, chunk, again, err := x.input(chunk)
	if err != nil {
		for _, k := range chunk {
			x.fail(k, err)
		}
		return nil
	}
	p.seq++
	id := p.seq
	msg := &jobs{ID: id, Task: x.b.Task, Attempt: max(1, x.b.Attempt), TimeoutNanos: int64(s.timeout), Inputs: input}
	p.ran += len(chunk)
	if err := p.sendJobs(msg); err != nil && (errors.Is(err, wire.ErrEncode) || errors.Is(err, wire.ErrFrameTooLarge)) {
		for _, k := range chunk {
			x.fail(k, fmt.Errorf("proc: sending job: %w", err))
		}
		// The frame was not written, but the writer may hold part of it.
		p.kill(reasonStopped)
		p.wait()
		return again
	}
	// A failed write means the worker is gone: its results channel closes.

	var tick <-chan time.Time
	poll := pollEvery
	if s.timeout > 0 {
		poll = min(poll, max(s.timeout/10, time.Millisecond))
	}
	if s.timeout > 0 || s.b.cfg.memoryLimit > 0 {
		t := time.NewTicker(poll)
		defer t.Stop()
		tick = t.C
	}
	var (
		got       int // results received, in order
		last      uint64
		since     time.Time
		overLimit int64
	)
	for got < len(chunk) {
		select {
		case rs, ok := <-p.results:
			if !ok {
				return append(again, s.lost(p, x, chunk, got, id, overLimit)...)
			}
			if rs.Batch != id {
				p.kill(fmt.Sprintf("protocol error: results of batch %d, want %d", rs.Batch, id))
				continue
			}
			if got+rs.n > len(chunk) {
				p.kill("protocol error: too many results")
				continue
			}
			if err := x.output(rs, chunk, got); err != nil {
				p.kill("protocol error: " + err.Error())
				continue
			}
			got += rs.n
		case <-ctx.Done():
			p.kill(reasonCancelled)
			p.wait()
			for _, k := range chunk[got:] {
				x.fail(k, ctx.Err())
			}
			return nil
		case now := <-tick:
			if lim := s.b.cfg.memoryLimit; lim > 0 {
				if m, err := rss(p.pid); err == nil && m > lim {
					overLimit = m
					p.kill("memory")
				}
			}
			if s.timeout > 0 {
				if v := p.page.load(); v != last || since.IsZero() {
					last, since = v, now
				} else if started(v, id) > 0 && now.Sub(since) > s.timeout+killGrace(s.timeout) {
					p.kill("timeout")
				}
			}
		}
	}
	return again
}

// killGrace is how long past its timeout a job may take to return before
// its worker is killed: a job that honours its context needs a moment to
// notice, longer on a busy machine. A quarter of the timeout, at least
// 100 ms.
func killGrace(timeout time.Duration) time.Duration {
	return max(timeout/4, 100*time.Millisecond)
}

// lost handles the death of p while it ran chunk, whose first got results
// had arrived. It fails the job the worker was running when it died and
// returns the other jobs, to run again: those that had not started, and
// those that finished but whose results died with the worker.
func (s *session) lost(p *process, x *execution, chunk []int, got int, id uint64, overLimit int64) (again []int) {
	<-p.dead
	why := p.why()
	at := started(p.page.load(), id) - 1 // the job running at the end, if any
	rest := chunk[got:]
	switch {
	case why == reasonCancelled || why == reasonClosed || why == reasonStopped:
		err := ErrClosed
		if why != reasonClosed {
			err = &par.WorkerLostError{Worker: p.lostError("").Worker, ExitCode: -1, Reason: "stopped"}
		}
		for _, k := range rest {
			x.fail(k, err)
		}
		return nil
	case at < got:
		// It died between jobs: none is to blame, all are retryable.
		err := p.lostError("the worker died before running this job")
		for _, k := range rest {
			x.fail(k, err)
		}
		return nil
	}
	var err error
	switch {
	case why == "timeout":
		err = fmt.Errorf("%w after %v (worker %d killed)", par.ErrTimeout, s.timeout, p.slot)
	case why == "memory":
		err = p.lostError(fmt.Sprintf("memory limit exceeded: %s resident, limit %s",
			mib(overLimit), mib(s.b.cfg.memoryLimit)))
	case why != "":
		err = p.lostError(why)
	default:
		err = p.lostError("the worker died while running this job")
	}
	x.fail(chunk[at], err)
	again = append(again, chunk[got:at]...)
	return append(again, chunk[at+1:]...)
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
