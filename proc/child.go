package proc

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"github.com/par-project/par"
	"github.com/par-project/par/internal/remote"
	"github.com/par-project/par/internal/wire"
)

// Main makes this program usable as its own worker process. Call it first
// thing in main (and in TestMain, for tests that use this backend):
//
//	func main() {
//		proc.Main()
//		// the program as usual
//	}
//
// In the program the user started, Main returns at once. In a worker
// process started by a Backend, it serves jobs and then exits the process
// without returning: with status 0 when the parent closes it or goes away.
// Tasks must be registered (par.Register, from package-level vars or init)
// before Main is called, which is the case for registrations in package
// variables.
func Main() {
	id := os.Getenv(envWorker)
	if id == "" {
		return
	}
	os.Exit(serve(id))
}

// serve runs the worker side of the protocol and returns the exit status.
func serve(id string) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(os.Stderr, "par worker %s: "+format+"\n", append([]any{id}, args...)...)
		return 2
	}
	if parent := os.Getenv(envParent); parent != strconv.Itoa(os.Getppid()) {
		return 0 // the parent died before the kernel could be told to kill us with it
	}
	// The variables must not leak to programs the jobs start.
	os.Unsetenv(envWorker)
	os.Unsetenv(envParent)

	// Non-blocking, the pipes use the runtime's poller: a goroutine waiting
	// on them parks instead of holding a thread in a system call, which
	// would delay the goroutine it hands a batch to.
	syscall.SetNonblock(fdJobs, true)
	syscall.SetNonblock(fdResults, true)
	in := os.NewFile(fdJobs, "par-jobs")
	out := os.NewFile(fdResults, "par-results")
	page, err := mapProgress(os.NewFile(fdProgress, "par-progress"))
	if err != nil {
		return fail("%v", err)
	}
	r := wire.NewReader(in, 0)
	w := wire.NewWriter(out)
	if err := w.Encode(&status{PID: os.Getpid()}); err != nil {
		return fail("%v", err)
	}
	if err := w.Flush(); err != nil {
		return 0 // the parent is gone
	}
	var h hello
	if err := r.Decode(&h); err != nil {
		if err == io.EOF {
			return 0
		}
		return fail("reading hello: %v", err)
	}
	if h.MemoryLimit > 0 {
		debug.SetMemoryLimit(h.MemoryLimit / 10 * 9)
	}

	// Reading goes on beside the jobs, so that the end of input (the
	// parent closing us, or dying) ends the process even in a job that
	// never returns. A batch's inputs stay in the frame they came in
	// (decodeJobs): two frame buffers take turns, one for the batch that
	// runs and one for the next, and go back to the reader when their
	// batch is done, so that a worker reuses its memory from batch to
	// batch.
	batches := make(chan *jobs)
	free := make(frames, 2)
	go func() {
		for {
			frame, err := r.ReadFrameInto(free.get())
			if err != nil {
				if err != io.EOF {
					fail("reading jobs: %v", err)
					os.Exit(2)
				}
				os.Exit(0)
			}
			b := &jobs{frame: frame}
			if err := decodeJobs(frame, b); err != nil {
				// The parent built it: the pipe is out of step.
				fail("reading jobs: %v", err)
				os.Exit(2)
			}
			batches <- b
		}
	}()

	ctx := context.Background()
	st := status{PID: os.Getpid(), Ready: true}
	if h.Init != "" {
		if _, err := par.ExecTask(ctx, h.Init, h.InitArg, 0); err != nil {
			st = status{PID: os.Getpid(), Err: fmt.Sprintf("initializer %s: %v", h.Init, err)}
		}
	}
	if err := w.Encode(&st); err != nil {
		return fail("%v", err)
	}
	if err := w.Flush(); err != nil || st.Err != "" {
		return 1
	}
	var enc []byte // results, reused from batch to batch
	for b := range batches {
		if enc, err = runBatch(ctx, b, page, w, enc[:0]); err != nil {
			return fail("batch %d: %v", b.ID, err)
		}
		free.put(b.frame)
	}
	return 0
}

// runBatch runs every job of b in order, storing its progress before each,
// and writes the results, in several frames when they are large. It
// encodes the results into out's memory and returns it, to be reused. An
// error means the pipe is broken or out of step.
func runBatch(ctx context.Context, b *jobs, page *progress, w *wire.Writer, out []byte) ([]byte, error) {
	seq := b.ID << progressBits
	page.store(seq)
	// The batch decodes and encodes at once; the page still says which job
	// runs, so a crash blames the right one.
	t0 := time.Now()
	out, errs, err := par.AppendExecBatch(ctx, out, b.Task, b.Inputs, time.Duration(b.TimeoutNanos),
		func(k int) { page.store(seq | uint64(k+1)) })
	ran := time.Since(t0).Nanoseconds()
	if err != nil {
		// No job ran (an unknown task, say): each fails with the reason.
		errs = make([]error, b.n)
		for k := range errs {
			errs[k] = err
		}
		out = wire.Nulls(b.n)
	}
	if len(out) <= maxResultsFrame {
		return out, send(w, &results{Batch: b.ID, Outputs: out, Errs: jobErrors(errs, 0, b.n), Nanos: ran})
	}
	items, err := wire.SplitArray(out)
	if err != nil {
		return out, err
	}
	for from := 0; from < len(items); {
		to, size := from, 0
		for to < len(items) && (to == from || size+len(items[to]) <= maxResultsFrame) {
			size += len(items[to])
			to++
		}
		rs := results{Batch: b.ID, Outputs: wire.JoinArray(items[from:to]), Errs: jobErrors(errs, from, to)}
		if from == 0 {
			rs.Nanos = ran
		}
		if err := send(w, &rs); err != nil {
			return out, err
		}
		from = to
	}
	return out, nil
}

// jobErrors returns the errors of jobs from to to, numbered from from.
func jobErrors(errs []error, from, to int) []jobError {
	var out []jobError
	for k := from; k < to && k < len(errs); k++ {
		if errs[k] != nil {
			out = append(out, jobError{At: k - from, Err: *remote.ToWire(errs[k])})
		}
	}
	return out
}

func send(w *wire.Writer, rs *results) error { return writeFrame(w, rs, rs.Outputs) }
