// Package proc is par's process backend: jobs run in worker processes that
// re-execute the program's own binary, so a job that crashes, calls
// os.Exit, leaks memory or never returns takes down its worker, not the
// program.
//
//	func main() {
//		proc.Main() // first thing: in a worker process, serves jobs and exits
//
//		b, err := proc.New(proc.Workers(4))
//		if err != nil { … }
//		defer b.Close()
//		squares, err := par.Map(ctx, inputs, square.Func(), par.On(b), par.Retries(2, 0))
//	}
//
// Only tasks registered with par.Register can run in a worker, since a
// worker finds them by name; par reports any other func as
// par.ErrNotRegistered at the call. Inputs and results cross the pipes
// CBOR-encoded, so they must be types CBOR can carry.
//
// # Workers
//
// A worker is this program started again with its environment plus Env's,
// and with three extra pipes; Main notices and serves jobs instead of
// running main. Workers start at the first call that needs them, in
// parallel, and are kept across calls until Backend.Close: a call does not
// pay for process start-up. Their count is Workers, or the call's par.Jobs
// if Workers was not given; par.Pool.SetWorkers changes it while a pool
// runs. A worker runs one job at a time, batches of them at once, with
// GOMAXPROCS=1 unless the environment or Env sets GOMAXPROCS. Its
// standard output is this program's; its standard error is copied, each
// line prefixed with "[worker N] " (Stderr).
//
// Workers die with the program: the kernel kills them when it dies
// (Linux's parent-death signal) and they exit when their input pipe
// closes. They run in their own process group, so Ctrl-C in a terminal
// reaches the program alone, and Close stops them all and waits for them.
//
// # Failures
//
// A worker that dies is seen at once (its pipe closes) and replaced when
// next needed. The job it was running fails with a *par.WorkerLostError
// that gives the worker, its exit code or signal, the reason and its last
// lines of standard error; it is retryable, so with par.Retries it runs
// again on another worker. The other jobs of its batch were not to blame:
// those that had not started, or whose results died with the worker, run
// again at once without counting as retries. The parent knows which job a
// worker was running from a word of memory the two share, which the
// worker updates before each job at the cost of an atomic store.
//
// What a job returns crosses back with the same meaning on every backend:
// an error comes back with the same text (retryable if it was); a panic is
// a *par.PanicError whose Value is the panic's text and whose Stack is the
// worker's stack; a timeout wraps par.ErrTimeout.
//
// par.Timeout bounds each job. The job's context is cancelled at the
// deadline, and a job that has not returned within a grace period (a
// quarter of the timeout, at least 100 ms) has its worker killed: the
// job fails with an error wrapping par.ErrTimeout, is not retried, and a
// new worker takes the slot.
//
// MemoryLimit bounds each worker's resident memory: the parent checks it
// every 10 ms while a batch runs and kills a worker above it; the job fails
// with a *par.WorkerLostError saying "memory limit exceeded". Like any lost
// worker it is retried under par.Retries, and fails again if the job
// itself is the cause.
//
// MaxJobsPerWorker replaces a worker after it has run that many jobs.
//
// # Costs
//
// A job crosses two pipes and is encoded and decoded twice (its input and
// its result); par batches tiny jobs so that a pipe is crossed once per
// batch (of about 2 ms of work), a batch's inputs and results travel as
// one CBOR array each, and both sides reuse their buffers from batch to
// batch (fresh memory costs a page fault per 4 KiB). Measured on a shared
// 2-core virtual machine at load 4-6 (go test -run '^$' -bench Proc
// -benchtime 20x ./proc, 2026-11-26; sh bench/proc.sh for the side by
// side with Python):
//
//   - a round trip to a running worker costs about 90 µs
//     (BenchmarkProcRoundTrip): worth it for jobs of a millisecond or
//     more, or for many small ones batched;
//   - 100,000 square roots on 2 workers cost about 90 ns a job through
//     par.Map once the workers are warm (BenchmarkProcMap: 75 ns of
//     parent CPU and 70 ns of worker CPU a job), 110 ns with inputs
//     already encoded (BenchmarkProcExec); the first call on new workers
//     pays their first page faults, 25-30 ms for the 100,000;
//   - 200 CPU-bound jobs of 5 ms run 1.9 times faster on 2 workers than
//     one after another (BenchmarkProcCPU);
//   - a new worker takes about 17 ms to start and run its first job
//     (BenchmarkProcStart); a call on running workers pays none of it.
//
// The process backend runs on Linux.
package proc
