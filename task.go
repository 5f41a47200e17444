package par

import (
	"context"
	"fmt"
	"reflect"
	"runtime"
	"sync"
	"time"

	"github.com/par-project/par/internal/wire"
)

// A Task is a job function registered under a name, so that a worker in
// another process or on another machine, running the same binary, can find
// it: Go funcs cannot travel, names can. Pass t.Func() (or the func itself)
// to Map, ForEach, Stream or Submit; on goroutines it is called directly,
// on other backends its input and result travel CBOR-encoded, so A and R
// must be types CBOR can carry (numbers, strings, slices, maps, structs with
// exported fields).
type Task[A, R any] struct {
	name string
	fn   func(context.Context, A) (R, error)
}

// Name returns the name the task was registered under.
func (t *Task[A, R]) Name() string { return t.name }

// Func returns the registered func.
func (t *Task[A, R]) Func() func(context.Context, A) (R, error) { return t.fn }

// Register records fn under name for every backend and returns it as a
// Task. Call it from a package-level var or init, before any worker starts,
// as with database/sql.Register: registering an empty name, a nil fn, or a
// name twice is a programming error and panics.
func Register[A, R any](name string, fn func(context.Context, A) (R, error)) *Task[A, R] {
	if name == "" {
		panic("par: Register needs a task name")
	}
	if fn == nil {
		panic("par: Register " + name + ": nil func")
	}
	t := &Task[A, R]{name: name, fn: fn}
	var scratch batchScratch[A, R]
	e := &taskEntry{
		name: name,
		batch: func(ctx context.Context, dst, in []byte, timeout time.Duration, before func(int)) ([]byte, []error, bool) {
			return execBatch(ctx, fn, &scratch, dst, in, timeout, before)
		},
		exec: func(ctx context.Context, in []byte, timeout time.Duration) ([]byte, error) {
			var a A
			if err := wire.Unmarshal(in, &a); err != nil {
				return nil, fmt.Errorf("par: task %s: decoding input: %w", name, err)
			}
			r, err := callJob(ctx, fn, a, timeout)
			if err != nil {
				return nil, err
			}
			out, err := wire.Marshal(r)
			if err != nil {
				return nil, fmt.Errorf("par: task %s: encoding result: %w", name, err)
			}
			return out, nil
		},
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.byName[name]; dup {
		panic("par: Register called twice for task " + name)
	}
	registry.byName[name] = e
	registry.byFunc[funcPC(fn)] = name
	return t
}

// The registry is written by Register during program initialisation and
// read by backends; like database/sql's driver list it is process-wide by
// nature, since a worker finds tasks by name alone.
var registry = struct {
	sync.RWMutex
	byName map[string]*taskEntry
	byFunc map[uintptr]string
}{byName: map[string]*taskEntry{}, byFunc: map[uintptr]string{}}

type taskEntry struct {
	name string
	exec func(ctx context.Context, in []byte, timeout time.Duration) ([]byte, error)
	// batch runs a batch with one decode and one encode, appending the
	// results to dst; false means the inputs did not decode together and
	// each must run through exec.
	batch func(ctx context.Context, dst, in []byte, timeout time.Duration, before func(int)) ([]byte, []error, bool)
}

// batchScratch keeps a task's decoded inputs and results between batches:
// a worker running batch after batch reuses them instead of asking the
// runtime for fresh memory, which costs more than the jobs when they are
// tiny (the kernel zeroes and maps every new page).
type batchScratch[A, R any] struct {
	args    sync.Pool // *[]A
	results sync.Pool // *[]R
}

// get returns a slice of n elements from p, all zero.
func get[T any](p *sync.Pool, n int) *[]T {
	s, _ := p.Get().(*[]T)
	if s == nil || cap(*s) < n {
		s = new([]T)
		*s = make([]T, n)
	}
	*s = (*s)[:n]
	clear(*s)
	return s
}

// put gives s back to p, cleared so that it keeps nothing alive.
func put[T any](p *sync.Pool, s *[]T) {
	clear(*s)
	p.Put(s)
}

// execBatch decodes every input of the array in with one Unmarshal, runs
// fn on each under the panic and timeout policies, and encodes every
// result with one Marshal: a tiny job then costs a fraction of what
// encoding each value apart costs. A failed job's result is the zero
// value. errs is nil when no job failed.
func execBatch[A, R any](ctx context.Context, fn func(context.Context, A) (R, error), scratch *batchScratch[A, R], dst, in []byte, timeout time.Duration, before func(int)) ([]byte, []error, bool) {
	n, err := wire.ArrayLen(in) // UnmarshalSlice checks the items
	if err != nil {
		return nil, nil, false
	}
	ap := get[A](&scratch.args, n)
	defer put(&scratch.args, ap)
	args := *ap
	if wire.UnmarshalSlice(in, args) != nil {
		return nil, nil, false
	}
	rp := get[R](&scratch.results, n)
	defer put(&scratch.results, rp)
	results := *rp
	var errs []error
	fail := func(k int, err error) {
		if errs == nil {
			errs = make([]error, len(args))
		}
		errs[k] = err
	}
	for k, a := range args {
		if before != nil {
			before(k)
		}
		if err := ctx.Err(); err != nil {
			fail(k, err)
			continue
		}
		r, err := callJob(ctx, fn, a, timeout)
		if err != nil {
			fail(k, err)
			continue
		}
		results[k] = r
	}
	out, err := wire.AppendMarshal(dst, results)
	if err != nil {
		// Some result cannot travel: encode each alone, so that only its
		// job fails.
		items := make([][]byte, len(results))
		for k := range results {
			if errs != nil && errs[k] != nil {
				items[k] = null
				continue
			}
			if items[k], err = wire.Marshal(results[k]); err != nil {
				items[k] = null
				fail(k, fmt.Errorf("par: encoding result: %w", err))
			}
		}
		out = append(dst, wire.JoinArray(items)...)
	}
	return out, errs, true
}

// null is the CBOR encoding of nil: the result item of a job that failed.
var null = []byte{0xf6}

func lookupTask(name string) (*taskEntry, error) {
	registry.RLock()
	e := registry.byName[name]
	registry.RUnlock()
	if e == nil {
		return nil, fmt.Errorf("%w %q (is the worker running the same binary?)", ErrUnknownTask, name)
	}
	return e, nil
}

// taskName returns the name fn was registered under.
func taskName(fn any) (string, error) {
	pc := funcPC(fn)
	name, ok := registeredName(pc)
	if !ok {
		return "", fmt.Errorf("%w: %s (register it with par.Register to run it outside this process)", ErrNotRegistered, funcName(pc))
	}
	return name, nil
}

// ExecTask runs the task registered as name on one CBOR-encoded input and
// returns its CBOR-encoded result. Backends' workers call it. A panic in the
// task is returned as a *PanicError; timeout, when positive, bounds the
// job's context.
func ExecTask(ctx context.Context, name string, input []byte, timeout time.Duration) ([]byte, error) {
	e, err := lookupTask(name)
	if err != nil {
		return nil, err
	}
	return e.exec(ctx, input, timeout)
}

// ExecBatch runs the task registered as name on each input of input, a
// CBOR array, in order, and returns the results as a CBOR array with one
// item per input (null or the zero value where the job failed) and each
// job's error; errs is nil when every job succeeded. Backends' workers call
// it. before, when not nil, is called before job k starts (a worker process
// records there which job it is running). The batch decodes and encodes at
// once; if its inputs do not decode together, each runs alone so that only
// the bad ones fail. err is set, and nothing runs, when the task is unknown
// or input is not an array.
func ExecBatch(ctx context.Context, name string, input []byte, timeout time.Duration, before func(k int)) (output []byte, errs []error, err error) {
	return AppendExecBatch(ctx, nil, name, input, timeout, before)
}

// AppendExecBatch is ExecBatch appending the output array to dst, which
// it returns extended (or as it was, with err set): a worker that runs
// batch after batch reuses one buffer for their results. The inputs and
// results it decodes and encodes are reused between batches of a task
// too.
func AppendExecBatch(ctx context.Context, dst []byte, name string, input []byte, timeout time.Duration, before func(k int)) (output []byte, errs []error, err error) {
	e, err := lookupTask(name)
	if err != nil {
		return dst, nil, err
	}
	if out, errs, ok := e.batch(ctx, dst, input, timeout, before); ok {
		return out, errs, nil
	}
	inputs, err := wire.SplitArray(input)
	if err != nil {
		return dst, nil, fmt.Errorf("par: task %s: %w", name, err)
	}
	outs, errs := execEach(ctx, e, inputs, timeout, before)
	return append(dst, wire.JoinArray(outs)...), errs, nil
}

// execEach runs each input alone: null is the output of a failed job.
func execEach(ctx context.Context, e *taskEntry, inputs [][]byte, timeout time.Duration, before func(int)) ([][]byte, []error) {
	outs := make([][]byte, len(inputs))
	errs := make([]error, len(inputs))
	for k, in := range inputs {
		if before != nil {
			before(k)
		}
		if outs[k], errs[k] = e.exec(ctx, in, timeout); errs[k] != nil {
			outs[k] = null
		}
	}
	return outs, errs
}

// ExecTasks is ExecBatch for inputs encoded one by one: it returns each
// job's encoded result or error.
func ExecTasks(ctx context.Context, name string, inputs [][]byte, timeout time.Duration, before func(k int)) ([][]byte, []error) {
	out, errs, err := ExecBatch(ctx, name, wire.JoinArray(inputs), timeout, before)
	var outs [][]byte
	if err == nil {
		outs, err = wire.SplitArray(out)
	}
	if err == nil && len(outs) != len(inputs) {
		err = fmt.Errorf("par: task %s: %d results for %d inputs", name, len(outs), len(inputs))
	}
	if err != nil {
		e, lerr := lookupTask(name)
		if lerr != nil {
			errs = make([]error, len(inputs))
			for k := range errs {
				errs[k] = lerr
			}
			return make([][]byte, len(inputs)), errs
		}
		// Some input is not well-formed: run each alone.
		return execEach(ctx, e, inputs, timeout, before)
	}
	if errs == nil {
		errs = make([]error, len(inputs))
	}
	for k := range outs {
		if errs[k] != nil {
			outs[k] = nil
		}
	}
	return outs, errs
}

// Tasks returns the names of every registered task.
func Tasks() []string {
	registry.RLock()
	defer registry.RUnlock()
	names := make([]string, 0, len(registry.byName))
	for n := range registry.byName {
		names = append(names, n)
	}
	return names
}

func registeredName(pc uintptr) (string, bool) {
	registry.RLock()
	defer registry.RUnlock()
	name, ok := registry.byFunc[pc]
	return name, ok
}

// jobName names fn for statistics: its task name, else its Go name.
func jobName(fn any) string {
	pc := funcPC(fn)
	if name, ok := registeredName(pc); ok {
		return name
	}
	return funcName(pc)
}

func funcPC(fn any) uintptr { return reflect.ValueOf(fn).Pointer() }

// funcNames caches funcName: runtime.FuncForPC costs more than a tiny job.
var funcNames sync.Map // uintptr → string

func funcName(pc uintptr) string {
	if name, ok := funcNames.Load(pc); ok {
		return name.(string)
	}
	name := "func"
	if f := runtime.FuncForPC(pc); f != nil {
		name = f.Name()
	}
	funcNames.Store(pc, name)
	return name
}

// callJob runs one job with the panic policy and timeout applied.
func callJob[A, R any](ctx context.Context, fn func(context.Context, A) (R, error), a A, timeout time.Duration) (r R, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = newPanicError(v)
		}
	}()
	if timeout <= 0 {
		return fn(ctx, a)
	}
	jctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	r, err = fn(jctx, a)
	if err != nil && jctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
		err = fmt.Errorf("%w after %v: %w", ErrTimeout, timeout, err)
	}
	return r, err
}

// backoffFor returns the wait before retry number attempt (1-based).
func backoffFor(base time.Duration, attempt int) time.Duration {
	d := base
	for i := 1; i < attempt && d < time.Minute; i++ {
		d *= 2
	}
	return min(d, time.Minute)
}

// sleepCtx waits d or until ctx is done, and reports whether it waited.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
