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
// A backend that runs jobs outside this process receives a batch as a
// registered task name and the jobs' inputs encoded as one CBOR array (see
// Register and ExecBatch), and returns the results as one CBOR array.
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
	// Exec runs every job of b and fills b.Output and b.Errs. It returns an
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

// MinBatcher is implemented by sessions whose batches cost enough on
// their own (messages stored on a server, an acknowledgement) that the
// end of a run is best not split into batches shorter than MinBatch:
// the engine shares the tail of a run among the slots, down to batches of
// an eighth of the target time, or of MinBatch if that is longer.
type MinBatcher interface {
	MinBatch() time.Duration
}

// A Batch is a group of jobs of one task handed to a worker at once. Its
// inputs and results travel packed, each as one CBOR array (RFC 8949): a
// batch of a thousand tiny jobs is one buffer to write, not a thousand.
// internal/wire's SplitArray and JoinArray convert to and from one buffer
// per job when a backend needs to split a batch.
//
// A Batch and its slices are the backend's only during Exec: the engine
// reuses their memory for its next batch, so a backend copies what it
// keeps (a publish to the network or a write to a pipe does).
type Batch struct {
	Task    string // registered task name
	Indexes []int  // each job's index in the run
	Input   []byte // the jobs' inputs: a CBOR array, item k is job k's
	Attempt int    // 1 for the first try, 2 for the first retry, …

	// Filled by Exec.
	Output []byte  // a CBOR array with one item per job: its result, any value where it failed
	Errs   []error // nil when every job succeeded; else one per job, nil where it succeeded
	// Ran is how long the jobs ran on their workers, all together, when
	// the backend knows (0 otherwise). Batch sizes follow it rather than
	// Exec's time, which also counts the round trip, queueing and storage:
	// costs of a batch, not of its jobs.
	Ran time.Duration
	// Release, when the backend sets it, is called once the engine has
	// decoded Output: Output may then live in a buffer the backend
	// reuses, such as the frame it was read in.
	Release func()
}

// Len returns the number of jobs in b.
func (b *Batch) Len() int { return len(b.Indexes) }

// Err returns the error of job k, nil if it succeeded.
func (b *Batch) Err(k int) error {
	if k < len(b.Errs) {
		return b.Errs[k]
	}
	return nil
}

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
	var err error
	b.Output, b.Errs, err = ExecBatch(ctx, b.Task, b.Input, s.timeout, nil)
	return err
}

func isLocal(s Session) bool {
	_, ok := s.(*goSession)
	return ok
}
