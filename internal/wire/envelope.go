package wire

import (
	"errors"
	"fmt"
	"math"
)

// ErrInvalid is wrapped by the errors of Batch.Validate and
// Results.Validate: the envelope decoded but its fields contradict each
// other.
var ErrInvalid = errors.New("wire: invalid envelope")

// Batch carries jobs of one task from a driver to a worker. On the wire it
// is a CBOR map with small integer keys (the numbers in the field tags);
// zero fields are left out. Keys are never reused: a field that goes away
// leaves its number behind.
//
// A receiver calls Validate after decoding.
type Batch struct {
	// ID is unique within a run, chosen by the driver.
	ID uint64 `cbor:"1,keyasint,omitempty"`
	// Run is the run's name or id, "" for an anonymous run.
	Run string `cbor:"2,keyasint,omitempty"`
	// Task is the registered name of the task every job of the batch runs.
	Task string `cbor:"3,keyasint,omitempty"`
	// First is the index of the first job: job k has index First+k, unless
	// Indexes is set.
	First int64 `cbor:"4,keyasint,omitempty"`
	// Indexes lists the job indexes when they are not contiguous, as for
	// retries; nil otherwise. When set, it has one entry per input.
	Indexes []int64 `cbor:"5,keyasint,omitempty"`
	// Inputs holds each job's input, already encoded with Marshal.
	Inputs [][]byte `cbor:"6,keyasint,omitempty"`
	// Attempt counts deliveries of this batch, from 1.
	Attempt int `cbor:"7,keyasint,omitempty"`
	// TimeoutNanos bounds each job's run time, in nanoseconds; 0 is no
	// bound.
	TimeoutNanos int64 `cbor:"8,keyasint,omitempty"`
}

// Len returns the number of jobs in b.
func (b *Batch) Len() int { return len(b.Inputs) }

// Index returns the index of job k of b, for 0 <= k < b.Len(). It panics
// if k is out of range.
func (b *Batch) Index(k int) int64 {
	if k < 0 || k >= len(b.Inputs) {
		panic(fmt.Sprintf("wire: Batch.Index(%d) out of range [0, %d)", k, len(b.Inputs)))
	}
	if b.Indexes != nil {
		return b.Indexes[k]
	}
	return b.First + int64(k)
}

// Validate reports, with an error wrapping ErrInvalid, the first way in
// which b is not a batch a worker can run: no task name, no jobs, an empty
// input, Attempt below 1, a negative First, index or timeout, Indexes of the
// wrong length, or indexes past the int64 range. It does not decode the
// inputs, and does not look for repeated indexes: the driver delivers each
// index once whatever the workers send.
func (b *Batch) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: batch %d: %s", ErrInvalid, b.ID, fmt.Sprintf(format, args...))
	}
	switch {
	case b.Task == "":
		return bad("no task name")
	case len(b.Inputs) == 0:
		return bad("no jobs")
	case b.Attempt < 1:
		return bad("attempt %d, want 1 or more", b.Attempt)
	case b.First < 0:
		return bad("first index %d is negative", b.First)
	case b.TimeoutNanos < 0:
		return bad("timeout %dns is negative", b.TimeoutNanos)
	case b.Indexes != nil && len(b.Indexes) != len(b.Inputs):
		return bad("%d indexes for %d inputs", len(b.Indexes), len(b.Inputs))
	case b.Indexes == nil && b.First > math.MaxInt64-int64(len(b.Inputs)-1):
		return bad("indexes from %d for %d jobs overflow", b.First, len(b.Inputs))
	}
	for k, ix := range b.Indexes {
		if ix < 0 {
			return bad("index %d of job %d is negative", ix, k)
		}
	}
	for k, in := range b.Inputs {
		if len(in) == 0 {
			return bad("input of job %d is empty", k)
		}
	}
	return nil
}

// Kinds of Error. A receiver that meets a kind it does not know should treat
// it as KindJob.
const (
	KindJob         = "job"          // the job's function returned an error
	KindPanic       = "panic"        // the job's function panicked; Stack is set
	KindTimeout     = "timeout"      // the job ran past the batch's timeout
	KindLost        = "lost"         // the worker running the job was lost
	KindDecode      = "decode"       // the batch or the job's input did not decode
	KindUnknownTask = "unknown-task" // the worker has no task of that name
)

// Error describes why a job failed, in a form that travels. It is a CBOR
// map with small integer keys, like Batch.
type Error struct {
	// Kind is one of the Kind constants.
	Kind string `cbor:"1,keyasint,omitempty"`
	// Msg is the error's text; for KindJob, the text of the job's error.
	Msg string `cbor:"2,keyasint,omitempty"`
	// Stack is the goroutine stack at a panic.
	Stack string `cbor:"3,keyasint,omitempty"`
	// Retryable is set when running the job again may succeed.
	Retryable bool `cbor:"4,keyasint,omitempty"`
}

// Error returns "kind: msg", or just the kind when there is no message.
func (e *Error) Error() string {
	if e.Msg == "" {
		return e.Kind
	}
	return e.Kind + ": " + e.Msg
}

// Result is the outcome of one job: an output or an error.
type Result struct {
	// Index is the job's index.
	Index int64 `cbor:"1,keyasint,omitempty"`
	// Output is the job's result encoded with Marshal; nil when Err is set.
	Output []byte `cbor:"2,keyasint,omitempty"`
	// Err is why the job failed; nil on success.
	Err *Error `cbor:"3,keyasint,omitempty"`
	// Nanos is the job's run time on the worker, in nanoseconds.
	Nanos int64 `cbor:"4,keyasint,omitempty"`
}

// Results carries the results of a batch, or of part of one, from a worker
// to the driver. It is a CBOR map with small integer keys, like Batch.
//
// A receiver calls Validate after decoding. Matching the results against
// the batch sent is the driver's work.
type Results struct {
	// Batch is the ID of the batch the results belong to.
	Batch uint64 `cbor:"1,keyasint,omitempty"`
	// Worker identifies the worker (its id or host), for statistics.
	Worker string `cbor:"2,keyasint,omitempty"`
	// Results holds one entry per job reported.
	Results []Result `cbor:"3,keyasint,omitempty"`
}

// Validate reports, with an error wrapping ErrInvalid, the first way in
// which rs is not a report a driver can use: no results, a negative index
// or run time, a result with both or neither of Output and Err, or an Err
// without a kind.
func (rs *Results) Validate() error {
	if len(rs.Results) == 0 {
		return fmt.Errorf("%w: results of batch %d: none", ErrInvalid, rs.Batch)
	}
	for k := range rs.Results {
		r := &rs.Results[k]
		bad := func(format string, args ...any) error {
			return fmt.Errorf("%w: results of batch %d: result %d (index %d): %s",
				ErrInvalid, rs.Batch, k, r.Index, fmt.Sprintf(format, args...))
		}
		switch {
		case r.Index < 0:
			return bad("negative index")
		case r.Nanos < 0:
			return bad("run time %dns is negative", r.Nanos)
		case r.Err == nil && len(r.Output) == 0:
			return bad("neither output nor error")
		case r.Err != nil && r.Output != nil:
			return bad("both output and error")
		case r.Err != nil && r.Err.Kind == "":
			return bad("error without a kind")
		}
	}
	return nil
}
