package par

import (
	"context"
	"sync"
	"sync/atomic"
)

// A Future is the pending result of a job given to Submit
// (concurrent.futures' Future, Parallel Python's job object).
type Future[R any] struct {
	done  chan struct{}
	state atomic.Int32 // queued, running or finished
	val   R
	err   error

	mu        sync.Mutex
	cancel    context.CancelCauseFunc // the running job's, set by start
	cancelReq bool                    // Cancel was called
	unwatch   func() bool             // stops watching the caller's context
	thens     []func(R, error)
	group     *Group
}

const (
	queued int32 = iota
	running
	finished
)

func newFuture[R any](g *Group) *Future[R] {
	f := &Future[R]{done: make(chan struct{}), group: g}
	if g != nil {
		g.add()
	}
	return f
}

// Wait blocks until the job has finished or ctx is done, and returns the
// job's result and error, or ctx.Err() when ctx ended first (the job goes
// on; see Cancel).
func (f *Future[R]) Wait(ctx context.Context) (R, error) {
	select {
	case <-f.done:
		return f.val, f.err
	case <-ctx.Done():
		var zero R
		return zero, ctx.Err()
	}
}

// Done returns a channel closed when the job has finished.
func (f *Future[R]) Done() <-chan struct{} { return f.done }

// Cancel withdraws the job: a job still queued never runs and a running
// job's context is cancelled. The job then finishes with context.Canceled
// unless it had already finished.
func (f *Future[R]) Cancel() {
	if f.state.CompareAndSwap(queued, finished) {
		var zero R
		f.settle(zero, context.Canceled)
		return
	}
	f.mu.Lock()
	f.cancelReq = true
	cancel := f.cancel
	f.mu.Unlock()
	if cancel != nil {
		cancel(context.Canceled)
	}
}

// OnDone registers fn to run with the job's result once it has finished:
// at once, on the calling goroutine, if it already has; otherwise on the
// goroutine that finishes it, before Wait returns. Callbacks run in the
// order they were registered.
func (f *Future[R]) OnDone(fn func(R, error)) {
	f.mu.Lock()
	select {
	case <-f.done:
		f.mu.Unlock()
		fn(f.val, f.err)
		return
	default:
	}
	f.thens = append(f.thens, fn)
	f.mu.Unlock()
}

// start moves a queued job to running and returns the context it runs
// with; false means it was cancelled while queued.
func (f *Future[R]) start(ctx context.Context) (context.Context, bool) {
	if !f.state.CompareAndSwap(queued, running) {
		return nil, false
	}
	jctx, cancel := context.WithCancelCause(ctx)
	f.mu.Lock()
	f.cancel = cancel
	req := f.cancelReq
	f.mu.Unlock()
	if req {
		cancel(context.Canceled)
	}
	return jctx, true
}

// finish records the result of a job that ran.
func (f *Future[R]) finish(v R, err error) {
	f.state.Store(finished)
	f.settle(v, err)
}

// fail finishes a job that never ran.
func (f *Future[R]) fail(err error) {
	if f.state.CompareAndSwap(queued, finished) {
		var zero R
		f.settle(zero, err)
	}
}

func (f *Future[R]) settle(v R, err error) {
	f.mu.Lock()
	f.val, f.err = v, err
	thens := f.thens
	f.thens = nil
	f.mu.Unlock()
	for _, fn := range thens {
		fn(v, err)
	}
	f.mu.Lock()
	close(f.done)
	cancel, unwatch := f.cancel, f.unwatch
	f.mu.Unlock()
	if cancel != nil {
		cancel(nil)
	}
	if unwatch != nil {
		unwatch()
	}
	if f.group != nil {
		f.group.finished(err)
	}
}

// A Group collects jobs submitted together so they can be waited for
// together (Parallel Python's group= and wait(group)). Make one with
// Pool.Group and pass it to Submit in place of the pool.
type Group struct {
	pool    *Pool
	mu      sync.Mutex
	pending int
	idle    chan struct{} // closed when pending drops to zero
	errs    []error
}

// Group returns a new, empty job group of p.
func (p *Pool) Group() *Group { return &Group{pool: p} }

func (g *Group) submitter() (*Pool, *Group) { return g.pool, g }

func (g *Group) add() {
	g.mu.Lock()
	if g.pending == 0 {
		g.idle = make(chan struct{})
	}
	g.pending++
	g.mu.Unlock()
}

func (g *Group) finished(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err != nil {
		g.errs = append(g.errs, err)
	}
	if g.pending--; g.pending == 0 {
		close(g.idle)
	}
}

// Wait blocks until every job submitted to g so far has finished, or ctx
// is done, and returns the errors of the jobs that failed, joined, in the
// order they finished.
func (g *Group) Wait(ctx context.Context) error {
	g.mu.Lock()
	idle := g.idle
	g.mu.Unlock()
	if idle != nil {
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return joinErrors(g.errs)
}
