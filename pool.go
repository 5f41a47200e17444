package par

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/par-project/par/internal/wire"
)

// A Pool is a long-lived set of workers that runs jobs given to Submit, one
// at a time each (Parallel Python's job server, concurrent.futures'
// executors). Jobs may be of any func and type; their results come back as
// Futures. Its worker count can change while it runs (SetWorkers), it
// keeps statistics (Stats), and Close drains it. Create pools with NewPool.
//
// Submit costs about 1 µs a job on goroutines (BenchmarkTiny in bench/):
// for many tiny jobs use Map, which batches them.
type Pool struct {
	o     *options
	sess  Session
	local bool
	start time.Time

	mu      sync.Mutex
	cond    *sync.Cond
	queue   []*poolJob
	head    int
	target  int
	live    int
	closed  bool
	jobs    int // jobs submitted, numbering them
	workers []*WorkerStats
	tasks   map[string]*TaskStats
	wg      sync.WaitGroup
}

type poolJob struct {
	ctx   context.Context
	task  string
	start func(context.Context) (context.Context, bool)
	// run runs the job, reports it to record, then finishes its future,
	// so that Stats counts a job before its Wait returns.
	run func(ctx context.Context, record func(retried int, err error))
}

// NewPool starts a pool. It takes Jobs (the initial worker count), On
// (the backend), Retries and Timeout; other options are ignored.
func NewPool(opts ...Option) (*Pool, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	backend := o.backend
	if backend == nil {
		backend = goroutines{}
	}
	n := o.workers()
	sess, err := backend.Start(context.Background(), Spec{Workers: n, Timeout: o.timeout})
	if err != nil {
		return nil, fmt.Errorf("par: starting backend: %w", err)
	}
	p := &Pool{o: o, sess: sess, local: isLocal(sess), start: time.Now(), target: n, tasks: map[string]*TaskStats{}}
	p.cond = sync.NewCond(&p.mu)
	p.mu.Lock()
	p.grow()
	p.mu.Unlock()
	return p, nil
}

// A Submitter takes jobs: a *Pool, or a *Group of one.
type Submitter interface {
	submitter() (*Pool, *Group)
}

func (p *Pool) submitter() (*Pool, *Group) { return p, nil }

// Submit queues fn(ctx, arg) on s (a Pool, or a Group of one) and returns
// its Future at once. Cancelling ctx withdraws the job if it has not
// started and cancels its context if it has. The job's error, if any, is a
// *JobError whose Index is the job's submission number in the pool.
// Submitting to a closed pool, a nil fn, or (on a backend outside this
// process) a func that is not registered yields a Future that has already
// failed.
func Submit[A, R any](s Submitter, ctx context.Context, fn func(context.Context, A) (R, error), arg A) *Future[R] {
	p, g := s.submitter()
	f := newFuture[R](g)
	if fn == nil {
		f.fail(ErrNilFunc)
		return f
	}
	var name string
	var input []byte
	if p.local {
		name = jobName(fn)
	} else {
		var err error
		if name, err = taskName(fn); err != nil {
			f.fail(err)
			return f
		}
		if input, err = wire.Marshal(arg); err != nil {
			f.fail(fmt.Errorf("par: encoding input: %w", err))
			return f
		}
	}
	if ctx.Done() != nil {
		// Withdraw the job as soon as the caller gives up, even queued.
		stop := context.AfterFunc(ctx, func() { f.fail(ctx.Err()) })
		f.mu.Lock()
		f.unwatch = stop
		f.mu.Unlock()
	}
	p.mu.Lock()
	idx := p.jobs
	p.jobs++
	p.mu.Unlock()
	job := &poolJob{ctx: ctx, task: name, start: f.start}
	job.run = func(ctx context.Context, record func(int, error)) {
		var r R
		var err error
		var retried int
		if p.local {
			r, err, retried = runJob(ctx, fn, arg, p.o)
		} else {
			r, err, retried = execOne[R](ctx, p, name, idx, input)
		}
		if err != nil {
			err = &JobError{Index: idx, Input: printable(arg), Err: err}
		}
		record(retried, err)
		f.finish(r, err)
	}
	if err := p.enqueue(job); err != nil {
		f.fail(err)
	}
	return f
}

// execOne runs one encoded job on a backend outside the process.
func execOne[R any](ctx context.Context, p *Pool, task string, idx int, input []byte) (r R, err error, retried int) {
	for attempt := 1; ; attempt++ {
		b := &Batch{Task: task, Indexes: []int{idx}, Input: wire.JoinArray([][]byte{input}), Attempt: attempt}
		err = p.sess.Exec(ctx, b)
		if err == nil {
			err = b.Err(0)
		}
		if err == nil {
			out, serr := wire.SplitArray(b.Output)
			if serr != nil || len(out) != 1 {
				return r, errors.New("par: backend returned no result"), attempt - 1
			}
			if err = wire.Unmarshal(out[0], &r); err != nil {
				err = fmt.Errorf("par: decoding result: %w", err)
			}
			if b.Release != nil {
				b.Release()
			}
			return r, err, attempt - 1
		}
		if attempt > p.o.retries || !IsRetryable(err) || ctx.Err() != nil ||
			!sleepCtx(ctx, backoffFor(p.o.backoff, attempt)) {
			return r, err, attempt - 1
		}
	}
}

func (p *Pool) enqueue(job *poolJob) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	if p.head > 64 && p.head > len(p.queue)/2 {
		p.queue = append(p.queue[:0], p.queue[p.head:]...)
		p.head = 0
	}
	p.queue = append(p.queue, job)
	p.cond.Signal()
	return nil
}

// grow starts workers until target run. p.mu is held.
func (p *Pool) grow() {
	for p.live < p.target {
		w := &WorkerStats{ID: len(p.workers) + 1, Active: true}
		p.workers = append(p.workers, w)
		p.live++
		p.wg.Add(1)
		go p.work(w)
	}
}

func (p *Pool) work(w *WorkerStats) {
	defer p.wg.Done()
	for {
		p.mu.Lock()
		for p.head == len(p.queue) && !p.closed && p.live <= p.target {
			p.cond.Wait()
		}
		if p.live > p.target || p.head == len(p.queue) {
			p.live--
			w.Active = false
			p.mu.Unlock()
			return
		}
		job := p.queue[p.head]
		p.queue[p.head] = nil
		p.head++
		p.mu.Unlock()
		jctx, ok := job.start(job.ctx)
		if !ok {
			continue
		}
		t0 := time.Now()
		job.run(context.WithValue(jctx, slotKey{}, w.ID), func(retried int, err error) {
			p.record(w, job.task, time.Since(t0), retried, err)
		})
	}
}

func (p *Pool) record(w *WorkerStats, task string, busy time.Duration, retried int, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.tasks[task]
	if t == nil {
		t = &TaskStats{Name: task}
		p.tasks[task] = t
	}
	for _, c := range []*counters{&w.counters, &t.counters} {
		c.Done++
		c.Retried += retried
		c.Busy += busy
		if err != nil {
			c.Failed++
		}
	}
}

// SetWorkers changes the number of workers while the pool runs (Parallel
// Python's set_ncpus), with Jobs' meaning for n. New workers start at
// once; surplus ones stop after their current job.
func (p *Pool) SetWorkers(n int) error {
	if n == 0 {
		return invalid("SetWorkers must not be 0")
	}
	n = resolveJobs(n)
	if r, ok := p.sess.(Resizer); ok {
		if err := r.Resize(n); err != nil {
			return err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	p.target = n
	p.grow()
	p.cond.Broadcast()
	return nil
}

// Close stops taking jobs, waits for every queued and running job to
// finish, and stops the workers and the backend session. Calling it again
// does nothing.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.cond.Broadcast()
	p.mu.Unlock()
	p.wg.Wait()
	return p.sess.Close()
}

func joinErrors(errs []error) error { return errors.Join(errs...) }
