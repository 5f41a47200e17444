package par

import (
	"context"
	"iter"
)

// Stream calls fn on every input, in parallel, and yields each result with
// its error as jobs finish: in input order by default, holding at most a
// bounded window of finished results (joblib's return_as="generator"), or
// in completion order with Unordered (return_as="generator_unordered").
//
// Nothing runs until the loop starts; each loop over the returned sequence
// is a new run. Breaking out of the loop cancels the jobs still running
// and waits for them, so no goroutine outlives the loop.
//
// By default the first failure ends the stream: it is yielded, as a
// *JobError, as the last pair. With CollectErrors each failed job yields
// its *JobError and the stream goes on. If ctx is cancelled the stream
// yields ctx.Err() and ends. A bad option or nil fn is yielded as the only
// error.
//
// On goroutines a square root streamed in order costs about 11 ns a job in
// all (BenchmarkTiny in bench/); over 10M generated inputs the live heap
// stays near 14 MiB (BenchmarkStream10M).
func Stream[S Inputs[In], In, Out any](ctx context.Context, inputs S, fn func(context.Context, In) (Out, error), opts ...Option) iter.Seq2[Out, error] {
	return func(yield func(Out, error) bool) {
		var zero Out
		e, err := newEngine[S](ctx, inputs, fn, fn, opts)
		if err != nil {
			yield(zero, err)
			return
		}
		e.start(!e.o.unordered, e.n, false)
		defer e.finish()
		broke := false // the loop body asked to stop: yield no more
		// yieldBatch hands b's results to the loop; false ends the stream.
		yieldBatch := func(b *batch[In, Out]) bool {
			e.track.add(b)
			for k := range b.ran {
				if b.errs != nil && b.errs[k] != nil {
					if !e.o.collect || e.parent.Err() != nil {
						return false // e.err() has the error that ended the run
					}
					if !yield(zero, b.jobError(k)) {
						broke = true
						return false
					}
					continue
				}
				if !yield(b.out[k], nil) {
					broke = true
					return false
				}
			}
			if e.window != nil {
				e.window.Release(int64(len(b.in)))
			}
			return b.ran == len(b.in)
		}
		if e.o.unordered {
			for b := range e.done {
				if !yieldBatch(b) {
					break
				}
			}
		} else {
			held := map[int]*batch[In, Out]{}
			want := 0
		receive:
			for b := range e.done {
				held[b.first] = b
				for {
					next, ok := held[want]
					if !ok {
						break
					}
					delete(held, want)
					want += len(next.in)
					if !yieldBatch(next) {
						break receive
					}
				}
			}
		}
		if err := e.err(); err != nil && !broke {
			yield(zero, err)
		}
	}
}
