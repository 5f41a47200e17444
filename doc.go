// Package par runs many independent jobs at once and hands the results back
// in order, with errors, progress and retries handled: the Go answer to
// joblib, multiprocessing, concurrent.futures and Parallel Python.
//
//	roots, err := par.Map(ctx, xs, func(ctx context.Context, x float64) (float64, error) {
//		return math.Sqrt(x), nil
//	})
//
// # Entry points
//
//   - Map runs a func over a slice or an iter.Seq and returns the results
//     in input order; ForEach does the same for effects only.
//   - Stream yields results while the run goes on, in order or as they
//     finish (Unordered).
//   - For splits an index range [0, n) into chunks for array and stencil
//     work (OpenMP's parallel for).
//   - A Pool takes jobs of any type one at a time with Submit and returns
//     Futures; Groups wait for a set of them; SetWorkers resizes it; Stats
//     reports what each worker and task did.
//
// # Ordered and unordered
//
// Map returns results in input order. Stream yields them in input order
// too, holding at most a bounded window of finished results that wait for
// an earlier, slower job (Window); with Unordered it yields each result as
// soon as its job finishes.
//
// # Fail-fast and collect
//
// By default a run is fail-fast: the first job that fails cancels the
// context of the others, no new job starts, and the call returns that job's
// *JobError. With CollectErrors every job runs and the call returns all
// failures, joined with errors.Join in index order. A panic inside a job
// is recovered and returned as a *PanicError (wrapped in its *JobError)
// carrying the stack: a job never crashes the caller. When the caller's
// context is cancelled, the run stops dispatching and returns ctx.Err().
// Retries re-runs jobs whose error is retryable (see Retryable and
// IsRetryable); Timeout bounds each job.
//
// # Batching
//
// Handing one tiny job at a time to a worker would cost more than the job.
// par's workers take batches of consecutive jobs and size them from the
// measured job duration (joblib's batch_size="auto"): a batch grows from
// one job until it runs for about 100 µs on goroutines (10 ms on backends
// that send jobs elsewhere), and never so large that the end of a
// known-length run is left to a few workers. BatchSize fixes the size.
//
// # Back-pressure
//
// Inputs given as an iter.Seq are read lazily, a batch at a time, no faster
// than workers take them: ForEach or Stream over ten million generated
// inputs keeps memory bounded (TestStreamMemoryIsBounded). Map keeps only
// its results.
//
// # Backends
//
// Jobs run on goroutines in the calling process by default. On(backend)
// runs them elsewhere: in worker processes (package proc), which contain
// crashes and can be killed on timeout, or on a cluster of machines
// (package cluster). A func cannot travel to another process, so jobs on
// those backends must be registered tasks: Register gives a func a name
// that every copy of the program knows, and their inputs and results
// travel CBOR-encoded. Backends implement the Backend interface; a call
// does not change when its backend does.
//
// # Costs
//
// Measured on a 2-core machine by the benchmarks in bench/ (go test -bench
// . ./bench/) on a million square roots: For costs about 0.4 ns an index
// above a hand-split loop, Map about 0.3 ns a job above a hand-split loop
// that makes its result slice, an ordered Stream about 11 ns a job in all,
// Submit about 1 µs a job. See the README for the figures and their peers.
package par
