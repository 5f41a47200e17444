package par

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/par-project/par/internal/identity"
	"github.com/par-project/par/internal/wire"
)

// Inputs is what Map, ForEach and Stream take: a slice or an iter.Seq.
// Slices are split in place; sequences are consumed lazily, a batch at a
// time, with back-pressure.
type Inputs[In any] interface {
	~[]In | ~func(yield func(In) bool)
}

// A batch is a run of consecutive jobs taken by one worker slot.
type batch[In, Out any] struct {
	first int
	in    []In
	out   []Out
	errs  []error // nil unless a job failed
	nerr  int
	ran   int // jobs that ran, from the start; less than len(in) if the run stopped
	retry int // retries spent
}

func (b *batch[In, Out]) setErr(k int, err error) {
	if b.errs == nil {
		b.errs = make([]error, len(b.in))
	}
	if b.errs[k] == nil {
		b.nerr++
	}
	b.errs[k] = err
}

// engine runs one call of Map, ForEach or Stream.
type engine[In, Out any] struct {
	o      *options
	fn     func(context.Context, In) (Out, error)
	sess   Session
	local  bool
	task   string
	parent context.Context
	ctx    context.Context
	cancel context.CancelCauseFunc
	stop   atomic.Bool
	slots  int

	slice []In // inputs when they came as a slice
	n     int  // len(slice), or -1 for a sequence
	next  atomic.Int64
	seq   iter.Seq[In]
	feed  chan *batch[In, Out]
	outs  []Out // Map over a slice writes results here in place

	size   sizer
	window *semaphore.Weighted
	done   chan *batch[In, Out]
	wg     sync.WaitGroup
	track  *tracker

	// direct runs keep nothing per batch: workers record failures here
	// instead of waking the collecting goroutine for every batch.
	direct   bool
	mu       sync.Mutex
	failures []*JobError
}

// errFinished is the cancel cause of a run that ended normally.
var errFinished = errors.New("par: run finished")

// newEngine prepares a run of fn over inputs. named is the func the user
// passed, looked up by name when the backend runs jobs outside the process.
func newEngine[S Inputs[In], In, Out any](ctx context.Context, inputs S, fn func(context.Context, In) (Out, error), named any, opts []Option) (*engine[In, Out], error) {
	if fn == nil {
		return nil, ErrNilFunc
	}
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	e := &engine[In, Out]{o: o, fn: fn, parent: ctx, n: -1}
	if e.slice, e.seq, err = split[S, In](inputs); err != nil {
		return nil, err
	}
	if e.seq == nil {
		e.n = len(e.slice)
	}
	backend := o.backend
	if backend == nil {
		backend = goroutines{}
	}
	if _, ok := backend.(goroutines); !ok {
		// Jobs that leave the process are found by name: fail at the call,
		// not in a worker.
		if e.task, err = taskName(named); err != nil {
			return nil, err
		}
	}
	if e.sess, err = backend.Start(ctx, Spec{Workers: o.workers(), Timeout: o.timeout}); err != nil {
		return nil, fmt.Errorf("par: starting backend: %w", err)
	}
	e.local = isLocal(e.sess)
	e.slots = max(1, e.sess.Slots())
	target := 100 * time.Microsecond
	if !e.local {
		target = 10 * time.Millisecond
		if t, ok := e.sess.(BatchTargeter); ok {
			target = t.BatchTarget()
		}
	}
	e.size = sizer{fixed: o.batch, target: target.Nanoseconds(), slots: e.slots, max: 1 << 20}
	if m, ok := e.sess.(MinBatcher); ok && !e.local {
		e.size.minBatch = m.MinBatch().Nanoseconds()
	}
	if e.seq == nil {
		e.size.total = e.n
	}
	e.size.last.Store(1)
	if !e.local {
		e.size.remember(taskCost(e.task))
	}
	return e, nil
}

// split turns inputs into a slice or a sequence.
func split[S Inputs[In], In any](inputs S) ([]In, iter.Seq[In], error) {
	switch v := any(inputs).(type) {
	case []In:
		return v, nil, nil
	case iter.Seq[In]:
		if v == nil {
			return nil, nil, ErrNilInputs
		}
		return nil, v, nil
	case func(func(In) bool):
		if v == nil {
			return nil, nil, ErrNilInputs
		}
		return nil, v, nil
	}
	rv := reflect.ValueOf(inputs)
	if rv.Kind() == reflect.Slice {
		return rv.Convert(reflect.TypeFor[[]In]()).Interface().([]In), nil, nil
	}
	if rv.IsNil() {
		return nil, nil, ErrNilInputs
	}
	return nil, rv.Convert(reflect.TypeFor[iter.Seq[In]]()).Interface().(iter.Seq[In]), nil
}

// start launches the feeder and the worker slots. ordered bounds how far
// ahead of the oldest undelivered job the run may go.
func (e *engine[In, Out]) start(ordered bool, total int, direct bool) {
	e.ctx, e.cancel = context.WithCancelCause(e.parent)
	context.AfterFunc(e.ctx, func() { e.stop.Store(true) })
	if ordered {
		w := e.o.window
		if w == 0 {
			w = 4096 * e.slots
		}
		w = max(w, e.o.batch)
		e.window = semaphore.NewWeighted(int64(w))
		e.size.max = max(1, w/(2*e.slots))
	}
	e.track = newTracker(e.o, total)
	e.direct = direct && !e.track.active()
	e.done = make(chan *batch[In, Out], e.slots)
	if e.seq != nil {
		e.feed = make(chan *batch[In, Out], e.slots)
		e.wg.Add(1)
		go e.feedSeq()
	}
	e.wg.Add(e.slots)
	for id := 1; id <= e.slots; id++ {
		go e.runSlot(id)
	}
	go func() {
		e.wg.Wait()
		close(e.done)
	}()
}

// finish stops the run, waits for every goroutine it started and closes the
// session. It returns the error that ended the run early, if any.
func (e *engine[In, Out]) finish() error {
	e.cancel(errFinished)
	for range e.done {
	}
	e.track.finish()
	if err := e.sess.Close(); err != nil {
		return fmt.Errorf("par: closing backend: %w", err)
	}
	return nil
}

// collect receives every finished batch, hands it to keep, and applies
// the error policy. It returns the error the call should return and
// whether the results are complete apart from the failed jobs.
func (e *engine[In, Out]) collect(keep func(*batch[In, Out])) (err error, complete bool) {
	for b := range e.done {
		e.track.add(b)
		if keep != nil {
			keep(b)
		}
		e.absorb(b)
	}
	failures := e.failures
	runErr := e.err()
	if err := e.finish(); err != nil && runErr == nil {
		runErr = err
	}
	switch {
	case runErr != nil:
		return runErr, false
	case len(failures) > 0:
		return joinByIndex(failures), true
	}
	return nil, true
}

// absorb records b's failures in collect mode.
func (e *engine[In, Out]) absorb(b *batch[In, Out]) {
	if !e.o.collect || b.nerr == 0 || e.parent.Err() != nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, err := range b.errs {
		if err != nil {
			e.failures = append(e.failures, b.jobError(k))
		}
	}
}

// err returns the error that ends the run early, if any: the caller's
// context, the first failed job in fail-fast mode, or a failure outside any
// job (a panicking input sequence).
func (e *engine[In, Out]) err() error {
	if err := e.parent.Err(); err != nil {
		return err
	}
	if cause := context.Cause(e.ctx); cause != nil && cause != errFinished {
		return cause
	}
	return nil
}

// fail records that job k of b failed with err. In fail-fast mode the
// first failure stops the run at once, from the worker that saw it.
func (e *engine[In, Out]) fail(b *batch[In, Out], k int, err error) {
	b.setErr(k, err)
	if !e.o.collect {
		e.stop.Store(true)
		e.cancel(b.jobError(k))
	}
}

func (e *engine[In, Out]) feedSeq() {
	defer e.wg.Done()
	defer close(e.feed)
	defer func() {
		if v := recover(); v != nil {
			e.cancel(fmt.Errorf("par: input sequence panicked: %w", newPanicError(v)))
		}
	}()
	var b *batch[In, Out]
	idx, size := 0, 0
	for x := range e.seq {
		if b == nil {
			size = e.size.next(-1)
			b = &batch[In, Out]{first: idx, in: make([]In, 0, size)}
		}
		b.in = append(b.in, x)
		idx++
		if len(b.in) >= size {
			if !e.send(b) {
				return
			}
			b = nil
		}
	}
	if b != nil {
		e.send(b)
	}
}

func (e *engine[In, Out]) send(b *batch[In, Out]) bool {
	if e.window != nil && e.window.Acquire(e.ctx, int64(len(b.in))) != nil {
		return false
	}
	b.out = make([]Out, len(b.in))
	select {
	case e.feed <- b:
		return true
	case <-e.ctx.Done():
		return false
	}
}

// take returns the slot's next batch, or nil when there is none.
func (e *engine[In, Out]) take(ctx context.Context) *batch[In, Out] {
	if done(ctx) {
		return nil
	}
	if e.seq != nil {
		select {
		case b, ok := <-e.feed:
			if !ok {
				return nil
			}
			return b
		case <-ctx.Done():
			return nil
		}
	}
	if e.stop.Load() {
		return nil
	}
	size := e.size.next(e.n - int(e.next.Load()))
	if e.window != nil && e.window.Acquire(ctx, int64(size)) != nil {
		return nil
	}
	lo := int(e.next.Add(int64(size)) - int64(size))
	if lo >= e.n {
		if e.window != nil {
			e.window.Release(int64(size))
		}
		return nil
	}
	hi := min(lo+size, e.n)
	if e.window != nil && hi-lo < size {
		e.window.Release(int64(size - (hi - lo)))
	}
	b := &batch[In, Out]{first: lo, in: e.slice[lo:hi:hi]}
	if e.outs != nil {
		b.out = e.outs[lo:hi:hi]
	} else {
		b.out = make([]Out, hi-lo)
	}
	return b
}

func (e *engine[In, Out]) runSlot(id int) {
	defer e.wg.Done()
	ctx := context.WithValue(e.ctx, slotKey{}, id)
	sc, _ := scratches.Get().(*scratch)
	if sc == nil {
		sc = new(scratch)
	}
	defer scratches.Put(sc)
	for {
		b := e.take(ctx)
		if b == nil {
			return
		}
		t0 := time.Now()
		if e.local {
			for k := 0; k < len(b.in); {
				k = e.execLocal(ctx, b, k)
			}
			e.size.observe(time.Since(t0), b.ran)
		} else if ran := e.execRemote(ctx, b, sc); ran > 0 {
			e.size.observe(ran, b.ran)
		} else {
			e.size.observe(time.Since(t0), b.ran)
		}
		if e.direct {
			e.absorb(b)
			continue
		}
		select {
		case e.done <- b:
		case <-e.ctx.Done():
			return
		}
	}
}

// execLocal runs b's jobs from k on and returns where it stopped: past the
// end, or just past a job that panicked. One deferred recover covers the
// whole batch, so a job costs a direct call. The loop keeps its position in
// a local and writes b only at the end: two workers writing their batches
// per job would share cache lines.
func (e *engine[In, Out]) execLocal(ctx context.Context, b *batch[In, Out], k int) (next int) {
	defer func() {
		if v := recover(); v != nil {
			e.fail(b, k, newPanicError(v))
			b.ran, next = k+1, k+1
		}
	}()
	in, out := b.in, b.out
	if e.o.timeout > 0 || e.o.retries > 0 {
		for ; k < len(in) && !e.stop.Load(); k++ {
			var err error
			var retried int
			out[k], err, retried = runJob(ctx, e.fn, in[k], e.o)
			b.retry += retried
			if err != nil {
				e.fail(b, k, err)
			}
		}
	} else {
		fn, stop := e.fn, &e.stop
		for ; k < len(in) && !stop.Load(); k++ {
			v, err := fn(ctx, in[k])
			out[k] = v
			if err != nil {
				e.fail(b, k, err)
			}
		}
	}
	b.ran = k
	return len(in)
}

// runJob runs one job with the timeout, panic and retry policies.
func runJob[A, R any](ctx context.Context, fn func(context.Context, A) (R, error), a A, o *options) (r R, err error, retried int) {
	for attempt := 1; ; attempt++ {
		r, err = callJob(ctx, fn, a, o.timeout)
		if err == nil || attempt > o.retries || !IsRetryable(err) || ctx.Err() != nil {
			return r, err, attempt - 1
		}
		if !sleepCtx(ctx, backoffFor(o.backoff, attempt)) {
			return r, err, attempt - 1
		}
	}
}

// scratch is a slot's memory for the batches it sends to a backend,
// reused from one batch to the next, and from call to call: fresh memory costs a page fault per
// 4 KiB, which on a virtual machine can cost more than a batch of tiny
// jobs (see DESIGN.md).
type scratch struct {
	indexes []int  // Batch.Indexes
	input   []byte // Batch.Input
}

// scratches keeps slots' scratch from one call to the next.
var scratches sync.Pool // *scratch

// ints returns s resized to n elements, reusing its memory.
func ints(s []int, n int) []int { return slices.Grow(s[:0], n)[:n] }

// execRemote runs b on a backend outside the process: its inputs travel
// as one CBOR array and its results come back as one. Jobs that fail
// with a retryable error run again, as a smaller batch, up to the retry
// limit. It returns how long the jobs ran on the workers, if the backend
// says (Batch.Ran), else 0.
func (e *engine[In, Out]) execRemote(ctx context.Context, b *batch[In, Out], sc *scratch) (ran time.Duration) {
	b.ran = len(b.in)
	input, pending := e.encodeAll(b, sc)
	var items [][]byte // input split by job, once a retry needs a part of it
	for attempt := 1; len(pending) > 0; attempt++ {
		sc.indexes = ints(sc.indexes, len(pending))
		rb := &Batch{Task: e.task, Attempt: attempt, Indexes: sc.indexes, Input: input}
		for i, k := range pending {
			rb.Indexes[i] = b.first + k
		}
		err := e.sess.Exec(ctx, rb)
		ran += rb.Ran
		// Results decode at once, straight into place when the batch went
		// whole; if that fails, one by one below, so that only the bad
		// ones fail.
		var outs []Out
		inPlace := false
		switch {
		case err != nil:
		case len(pending) == len(b.out) && wire.UnmarshalSlice(rb.Output, b.out) == nil:
			outs, inPlace = b.out, true
		case wire.Unmarshal(rb.Output, &outs) != nil:
			outs = nil
		}
		var split [][]byte // rb.Output by job, when it did not decode at once
		var retry []int
		for i, k := range pending {
			jerr := err
			if jerr == nil {
				jerr = rb.Err(i)
			}
			if jerr == nil {
				if len(outs) == len(pending) {
					if !inPlace {
						b.out[k] = outs[i]
					}
					continue
				}
				if split == nil {
					if split, _ = wire.SplitArray(rb.Output); len(split) != len(pending) {
						split = make([][]byte, len(pending))
					}
				}
				if split[i] == nil {
					e.fail(b, k, errors.New("par: backend returned no result"))
				} else if derr := wire.Unmarshal(split[i], &b.out[k]); derr != nil {
					e.fail(b, k, fmt.Errorf("par: decoding result: %w", derr))
				}
				continue
			}
			if attempt <= e.o.retries && IsRetryable(jerr) && ctx.Err() == nil {
				retry = append(retry, k)
				continue
			}
			e.fail(b, k, jerr)
		}
		if rb.Release != nil {
			rb.Release()
		}
		if len(retry) == 0 {
			return ran
		}
		b.retry += len(retry)
		if !sleepCtx(ctx, backoffFor(e.o.backoff, attempt)) {
			for _, k := range retry {
				e.fail(b, k, ctx.Err())
			}
			return ran
		}
		if items == nil {
			items, _ = wire.SplitArray(input) // it was built from pending, in order
		}
		part := make([][]byte, len(retry))
		at := 0
		for i, k := range pending {
			if at < len(retry) && retry[at] == k {
				part[at] = items[i]
				at++
			}
		}
		input, items, pending = wire.JoinArray(part), part, retry
	}
	return ran
}

// encodeAll encodes b's inputs as one CBOR array with one Marshal, in
// sc's memory, and returns it with the jobs it holds, all of them. If
// that fails, it encodes each input alone, fails the jobs whose inputs
// cannot be encoded, and returns the array of the others.
func (e *engine[In, Out]) encodeAll(b *batch[In, Out], sc *scratch) ([]byte, []int) {
	data, err := wire.AppendMarshal(sc.input[:0], b.in)
	if err == nil {
		sc.input = data
		return data, identity.Ints(len(b.in))
	}
	items := make([][]byte, 0, len(b.in))
	ks := make([]int, 0, len(b.in))
	for k, x := range b.in {
		data, err := wire.Marshal(x)
		if err != nil {
			e.fail(b, k, fmt.Errorf("par: encoding input: %w", err))
			continue
		}
		items = append(items, data)
		ks = append(ks, k)
	}
	return wire.JoinArray(items), ks
}

// jobError wraps the error of job k of b.
func (b *batch[In, Out]) jobError(k int) *JobError {
	return &JobError{Index: b.first + k, Input: printable(b.in[k]), Err: b.errs[k]}
}

// sizer picks batch sizes so a batch runs for about target nanoseconds,
// growing from one job as it measures them (or starting from what an
// earlier call of the same task measured), and never so large that the
// end of a known-length run is left to a few workers.
type sizer struct {
	fixed    int
	target   int64
	minBatch int64 // the shortest tail batch, in nanoseconds (see MinBatcher)
	slots    int
	max      int
	total    int // the run's jobs, if known (else 0)
	nsPerJob atomic.Int64
	last     atomic.Int64
	memo     *atomic.Int64 // the task's cost a job, kept across calls
	seeded   atomic.Bool   // nsPerJob is memo's, not yet measured in this call
}

// taskCosts remembers, by task name, what a job of each task cost on a
// backend outside the process when it last ran: a program that maps the
// same task again and again (Parallel Python's repeated jobs of one
// function, joblib's reused Parallel) starts each call with batches of
// the right size instead of growing them from one job.
var taskCosts sync.Map // task name → *atomic.Int64, nanoseconds a job

func taskCost(task string) *atomic.Int64 {
	if v, ok := taskCosts.Load(task); ok {
		return v.(*atomic.Int64)
	}
	v, _ := taskCosts.LoadOrStore(task, new(atomic.Int64))
	return v.(*atomic.Int64)
}

// remember makes s start from memo's cost, when an earlier call left one,
// and keep it up to date.
func (s *sizer) remember(memo *atomic.Int64) {
	s.memo = memo
	if ns := memo.Load(); ns > 0 && s.fixed == 0 {
		s.nsPerJob.Store(ns)
		s.last.Store(max(1, s.target/ns))
		s.seeded.Store(true)
	}
}

func (s *sizer) next(remaining int) int {
	if s.fixed > 0 {
		return s.fixed
	}
	k := 1
	if ns := s.nsPerJob.Load(); ns > 0 {
		k = int(min(s.target/ns, 8*s.last.Load()))
	}
	if remaining >= 0 {
		// Split the tail among the workers, but not into batches so small
		// (under an eighth of the target time, or the backend's MinBatch)
		// that handing them out costs more than it balances; yet a run
		// shorter than that is still shared among the slots.
		floor := k / 8
		if ns := s.nsPerJob.Load(); s.minBatch > 0 && ns > 0 {
			floor = min(max(floor, int((s.minBatch+ns-1)/ns)), k)
		}
		if s.total > 0 {
			floor = min(floor, (s.total+s.slots-1)/s.slots)
		}
		k = min(k, max(remaining/(2*s.slots), floor))
	}
	k = min(max(k, 1), s.max)
	s.last.Store(int64(k))
	return k
}

func (s *sizer) observe(d time.Duration, n int) {
	if n <= 0 || s.fixed > 0 {
		return
	}
	// A batch's time includes costs that do not grow with its size (a
	// round trip to a worker, waiting for a free one), so small batches
	// overstate a job's cost, the more so the smaller they are. The
	// estimate therefore drops at once to a lower figure but rises by at
	// most a quarter per batch: a wait or a pause does not shrink the
	// batches back to a few jobs, and jobs that really grow slower are
	// followed within a few batches.
	// The first measure of a call replaces what an earlier call left:
	// the jobs may cost more this time.
	per := max(d.Nanoseconds()/int64(n), 1)
	seeded := s.seeded.Swap(false)
	if old := s.nsPerJob.Load(); old > 0 && per > old && !seeded {
		per = min(per, old+old/4+1)
	}
	s.nsPerJob.Store(per)
	if s.memo != nil {
		s.memo.Store(per)
	}
}

// done reports whether ctx has ended, without blocking or locking.
func done(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return true
	default:
		return false
	}
}

type slotKey struct{}

// Slot returns the number, from 1, of the worker slot running the job whose
// context is ctx, or 0 outside a job. GNU parallel calls it {%}.
func Slot(ctx context.Context) int {
	id, _ := ctx.Value(slotKey{}).(int)
	return id
}
