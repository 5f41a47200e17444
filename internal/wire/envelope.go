package wire

import (
	"errors"
	"fmt"
	"math"
	"sort"
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
// The inputs travel packed, as the engine hands them to a backend
// (par.Batch.Input): one CBOR array, item k job k's input, which the
// worker decodes with one call (par.ExecBatch). A batch of ten thousand
// tiny jobs is one byte string, not ten thousand.
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
	// Key 6 held the inputs as one byte string per job, before they were
	// packed into Inputs.

	// Attempt counts deliveries of this batch, from 1.
	Attempt int `cbor:"7,keyasint,omitempty"`
	// TimeoutNanos bounds each job's run time, in nanoseconds; 0 is no
	// bound.
	TimeoutNanos int64 `cbor:"8,keyasint,omitempty"`
	// Inputs holds the jobs' inputs: a CBOR array whose item k is job k's
	// input, encoded with Marshal.
	Inputs []byte `cbor:"9,keyasint,omitempty"`
	// Refs lists, in increasing order, the jobs whose input item is not
	// the input but a reference to it, stored elsewhere because it is too
	// large for a message (the cluster's object store). The worker fetches
	// them before the batch runs.
	Refs []int `cbor:"10,keyasint,omitempty"`

	n int // jobs, counted by Validate
}

// Len returns the number of jobs in b: the items of Inputs, counted once
// by Validate (and again on each call before it).
func (b *Batch) Len() int {
	if b.n > 0 {
		return b.n
	}
	n, _ := CountArray(b.Inputs)
	return n
}

// Index returns the index of job k of b, for 0 <= k < b.Len(). It panics
// if k is out of range.
func (b *Batch) Index(k int) int64 {
	return index(k, b.Len(), b.First, b.Indexes, "Batch")
}

// Validate reports, with an error wrapping ErrInvalid, the first way in
// which b is not a batch a worker can run: no task name, Inputs that are
// not a CBOR array of at least one item, Attempt below 1, a negative
// First, index or timeout, Indexes of the wrong length, indexes past the
// int64 range, or Refs out of order or range. It checks the structure of
// Inputs but not the items' content, and does not look for repeated
// indexes: the driver delivers each index once whatever the workers send.
// It counts the jobs, so that Len and Index take constant time after it.
func (b *Batch) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: batch %d: %s", ErrInvalid, b.ID, fmt.Sprintf(format, args...))
	}
	b.n = 0
	n, err := CountArray(b.Inputs)
	switch {
	case b.Task == "":
		return bad("no task name")
	case err != nil:
		return bad("inputs: %v", err)
	case n == 0:
		return bad("no jobs")
	case b.Attempt < 1:
		return bad("attempt %d, want 1 or more", b.Attempt)
	case b.TimeoutNanos < 0:
		return bad("timeout %dns is negative", b.TimeoutNanos)
	}
	if err := checkIndexes(n, b.First, b.Indexes); err != "" {
		return bad("%s", err)
	}
	if !increasing(b.Refs, n) {
		return bad("references %v out of order or past %d jobs", b.Refs, n)
	}
	if len(b.Refs) == 0 {
		b.Refs = nil // as it travels: an empty list is left out
	}
	b.n = n
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

// JobError is the error of the job at position At of a Results message.
type JobError struct {
	At  int   `cbor:"1,keyasint,omitempty"`
	Err Error `cbor:"2,keyasint,omitempty"`
}

// Results carries the results of a batch, or of part of one, from a worker
// to the driver. It is a CBOR map with small integer keys, like Batch, and
// packed like Batch's inputs: one CBOR array of outputs, and the errors of
// the jobs that failed beside it.
//
// A receiver calls Validate after decoding. Matching the results against
// the batch sent is the driver's work.
type Results struct {
	// Batch is the ID of the batch the results belong to.
	Batch uint64 `cbor:"1,keyasint,omitempty"`
	// Worker identifies the worker (its id or host), for statistics.
	Worker string `cbor:"2,keyasint,omitempty"`
	// Key 3 held one map per result, before they were packed into
	// Outputs and Errs.

	// First is the index of the job of the first result: result k is job
	// First+k's, unless Indexes is set.
	First int64 `cbor:"4,keyasint,omitempty"`
	// Indexes lists the job indexes when they are not contiguous; nil
	// otherwise. When set, it has one entry per result.
	Indexes []int64 `cbor:"5,keyasint,omitempty"`
	// Outputs holds the jobs' results: a CBOR array whose item k is
	// result k, encoded with Marshal; any value (null) where the job
	// failed.
	Outputs []byte `cbor:"6,keyasint,omitempty"`
	// Errs holds the errors of the jobs that failed, by increasing At.
	Errs []JobError `cbor:"7,keyasint,omitempty"`
	// Nanos is how long the jobs reported ran on the worker, all
	// together, in nanoseconds.
	Nanos int64 `cbor:"8,keyasint,omitempty"`
	// Refs lists, in increasing order, the results whose output item is a
	// reference to the output, stored elsewhere because it is too large
	// for a message (the cluster's object store).
	Refs []int `cbor:"9,keyasint,omitempty"`

	n int // results, counted by Validate
}

// Len returns the number of results in rs: the items of Outputs, counted
// once by Validate (and again on each call before it).
func (rs *Results) Len() int {
	if rs.n > 0 {
		return rs.n
	}
	n, _ := CountArray(rs.Outputs)
	return n
}

// Index returns the index of the job of result k, for 0 <= k < rs.Len().
// It panics if k is out of range.
func (rs *Results) Index(k int) int64 {
	return index(k, rs.Len(), rs.First, rs.Indexes, "Results")
}

// Err returns the error of result k, nil if its job succeeded.
func (rs *Results) Err(k int) *Error {
	i := sort.Search(len(rs.Errs), func(i int) bool { return rs.Errs[i].At >= k })
	if i < len(rs.Errs) && rs.Errs[i].At == k {
		return &rs.Errs[i].Err
	}
	return nil
}

// Validate reports, with an error wrapping ErrInvalid, the first way in
// which rs is not a report a driver can use: Outputs that are not a CBOR
// array of at least one item, a negative index or run time, Indexes of
// the wrong length, Errs or Refs out of order or range, an error without
// a kind, or a reference in place of a failed job's output. It checks the
// structure of Outputs but not the items' content, and counts the
// results, so that Len and Index take constant time after it.
func (rs *Results) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: results of batch %d: %s", ErrInvalid, rs.Batch, fmt.Sprintf(format, args...))
	}
	rs.n = 0
	n, err := CountArray(rs.Outputs)
	switch {
	case err != nil:
		return bad("outputs: %v", err)
	case n == 0:
		return bad("none")
	case rs.Nanos < 0:
		return bad("run time %dns is negative", rs.Nanos)
	}
	if err := checkIndexes(n, rs.First, rs.Indexes); err != "" {
		return bad("%s", err)
	}
	for i := range rs.Errs {
		e := &rs.Errs[i]
		switch {
		case e.At < 0 || e.At >= n || i > 0 && e.At <= rs.Errs[i-1].At:
			return bad("error of result %d out of order or past %d results", e.At, n)
		case e.Err.Kind == "":
			return bad("result %d: error without a kind", e.At)
		}
	}
	if !increasing(rs.Refs, n) {
		return bad("references %v out of order or past %d results", rs.Refs, n)
	}
	for i, j := 0, 0; i < len(rs.Refs) && j < len(rs.Errs); {
		switch a, b := rs.Refs[i], rs.Errs[j].At; {
		case a == b:
			return bad("result %d: both a reference and an error", a)
		case a < b:
			i++
		default:
			j++
		}
	}
	if len(rs.Errs) == 0 {
		rs.Errs = nil // as it travels: an empty list is left out
	}
	if len(rs.Refs) == 0 {
		rs.Refs = nil
	}
	rs.n = n
	return nil
}

// checkIndexes checks the job indexes of n items numbered from first, or
// listed in indexes, and returns what is wrong with them, or "".
func checkIndexes(n int, first int64, indexes []int64) string {
	switch {
	case first < 0:
		return fmt.Sprintf("first index %d is negative", first)
	case indexes != nil && len(indexes) != n:
		return fmt.Sprintf("%d indexes for %d items", len(indexes), n)
	case indexes == nil && first > math.MaxInt64-int64(n-1):
		return fmt.Sprintf("indexes from %d for %d items overflow", first, n)
	}
	for k, ix := range indexes {
		if ix < 0 {
			return fmt.Sprintf("index %d of item %d is negative", ix, k)
		}
	}
	return ""
}

// increasing reports whether ks increase strictly and lie in [0, n).
func increasing(ks []int, n int) bool {
	for i, k := range ks {
		if k < 0 || k >= n || i > 0 && k <= ks[i-1] {
			return false
		}
	}
	return true
}

// index returns the index of item k of n, numbered from first or listed
// in indexes.
func index(k, n int, first int64, indexes []int64, what string) int64 {
	if k < 0 || k >= n {
		panic(fmt.Sprintf("wire: %s.Index(%d) out of range [0, %d)", what, k, n))
	}
	if indexes != nil {
		return indexes[k]
	}
	return first + int64(k)
}
