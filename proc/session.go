package proc

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/par-project/par"
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
	b.Outputs = make([][]byte, n)
	b.Errs = make([]error, n)
	pending := make([]int, n)
	for k := range pending {
		pending[k] = k
	}
	for len(pending) > 0 {
		sl, err := s.b.acquire(ctx)
		if err != nil {
			if len(pending) == n {
				return err
			}
			for _, k := range pending {
				b.Errs[k] = err
			}
			return nil
		}
		chunk := s.chunk(pending, sl.p)
		again := s.run(ctx, sl.p, b, chunk)
		s.b.release(sl)
		pending = append(again, pending[len(chunk):]...)
	}
	return nil
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

// run sends the jobs chunk of b to p and waits for their results. It
// returns the jobs to run again elsewhere.
func (s *session) run(ctx context.Context, p *process, b *par.Batch, chunk []int) (again []int) {
	p.seq++
	id := p.seq
	size := 0
	for i, k := range chunk {
		size += len(b.Inputs[k])
		if i > 0 && size > maxBatchFrame {
			again = append([]int(nil), chunk[i:]...)
			chunk = chunk[:i]
			size -= len(b.Inputs[k])
			break
		}
	}
	msg := &jobs{
		ID: id, Task: b.Task, Attempt: max(1, b.Attempt), TimeoutNanos: int64(s.timeout),
		Lens: make([]byte, 0, 2*len(chunk)), Data: make([]byte, 0, size),
	}
	for _, k := range chunk {
		msg.Lens = appendLen(msg.Lens, len(b.Inputs[k]))
		msg.Data = append(msg.Data, b.Inputs[k]...)
	}
	p.ran += len(chunk)
	if err := p.send(msg); err != nil && (errors.Is(err, wire.ErrEncode) || errors.Is(err, wire.ErrFrameTooLarge)) {
		for _, k := range chunk {
			b.Errs[k] = fmt.Errorf("proc: sending job: %w", err)
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
				return append(again, s.lost(p, b, chunk, got, id, overLimit)...)
			}
			if rs.Batch != id {
				p.kill(fmt.Sprintf("protocol error: results of batch %d, want %d", rs.Batch, id))
				continue
			}
			if got+len(rs.sizes) > len(chunk) {
				p.kill("protocol error: too many results")
				continue
			}
			off, e := 0, 0
			for i, n := range rs.sizes {
				k := chunk[got+i]
				if n == 0 {
					b.Errs[k] = remote.FromWire(&rs.Errs[e].Err, "", nil)
					e++
					continue
				}
				b.Outputs[k] = rs.Data[off : off+int(n) : off+int(n)]
				off += int(n)
			}
			got += len(rs.sizes)
		case <-ctx.Done():
			p.kill(reasonCancelled)
			p.wait()
			for _, k := range chunk[got:] {
				b.Errs[k] = ctx.Err()
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
func (s *session) lost(p *process, b *par.Batch, chunk []int, got int, id uint64, overLimit int64) (again []int) {
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
			b.Errs[k] = err
		}
		return nil
	case at < got:
		// It died between jobs: none is to blame, all are retryable.
		err := p.lostError("the worker died before running this job")
		for _, k := range rest {
			b.Errs[k] = err
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
	b.Errs[chunk[at]] = err
	again = append(again, chunk[got:at]...)
	return append(again, chunk[at+1:]...)
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
