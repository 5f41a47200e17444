package par

import (
	"context"
	"time"
)

// A Backend runs batches of jobs on workers. The default backend runs them
// on goroutines in this process; the process backend (package proc) and the
// cluster backend (package cluster) run them elsewhere and are chosen with
// On. Backends implement this interface; par never imports them.
//
// A backend that runs jobs outside this process receives each job as a
// registered task name and the job's input encoded as CBOR (see Register and
// ExecTask), and returns the encoded results.
type Backend interface {
	// Start opens a session: a set of worker slots for one call of Map,
	// ForEach or Stream, or for the life of a Pool. Backends that own
	// long-lived workers keep them across sessions.
	Start(ctx context.Context, spec Spec) (Session, error)
}

// Spec describes what a session is for.
type Spec struct {
	Workers int           // how many jobs to run at once, resolved from Jobs
	Timeout time.Duration // per-job timeout; 0 means none
}

// A Session runs batches. Exec may be called from several goroutines at once,
// up to Slots() at a time.
type Session interface {
	// Slots reports how many batches may be in Exec at once.
	Slots() int
	// Exec runs every job of b and fills b.Outputs and b.Errs. It returns an
	// error only when the batch could not be run at all; b's jobs then fail
	// with that error. A job whose worker was lost fails with a
	// *WorkerLostError so that par can retry it.
	Exec(ctx context.Context, b *Batch) error
	// Close ends the session after its batches have returned.
	Close() error
}

// Resizer is implemented by sessions whose worker count can change while
// they run; Pool.SetWorkers calls it.
type Resizer interface {
	Resize(n int) error
}

// BatchTargeter is implemented by sessions that want batches of jobs sized
// to run for about the given time, to amortise their transport cost. Others
// get batches of about 10 ms.
type BatchTargeter interface {
	BatchTarget() time.Duration
}

// A Batch is a group of jobs of one task handed to a worker at once.
type Batch struct {
	Task    string   // registered task name
	Indexes []int    // each job's index in the run
	Inputs  [][]byte // each job's input, CBOR-encoded
	Attempt int      // 1 for the first try, 2 for the first retry, …

	// Filled by Exec, one entry per job.
	Outputs [][]byte // each job's result, CBOR-encoded
	Errs    []error  // nil where the job succeeded
}

// Len returns the number of jobs in b.
func (b *Batch) Len() int { return len(b.Inputs) }

// Goroutines returns the default backend: jobs run on goroutines in this
// process. Its sessions run plain funcs directly; given a Batch they run the
// registered tasks it names, which is how worker processes and cluster
// workers run the batches they receive.
func Goroutines() Backend { return goroutines{} }

type goroutines struct{}

func (goroutines) Start(ctx context.Context, spec Spec) (Session, error) {
	return &goSession{slots: max(1, spec.Workers), timeout: spec.Timeout}, nil
}

type goSession struct {
	slots   int
	timeout time.Duration
}

func (s *goSession) Slots() int   { return s.slots }
func (s *goSession) Close() error { return nil }

// Exec runs b's jobs one after another on the calling goroutine, decoding
// the inputs and encoding the results through the task registry.
func (s *goSession) Exec(ctx context.Context, b *Batch) error {
	if _, err := lookupTask(b.Task); err != nil {
		return err
	}
	b.Outputs, b.Errs = ExecTasks(ctx, b.Task, b.Inputs, s.timeout, nil)
	return nil
}

func isLocal(s Session) bool {
	_, ok := s.(*goSession)
	return ok
}
