package proc

import (
	"errors"
	"fmt"

	"github.com/par-project/par/internal/wire"
)

// The pipe protocol. A worker is started with three extra files: fd 3
// carries frames from the parent (a hello, then jobs frames), fd 4 frames
// to the parent (a status as soon as Main runs, a status when the
// initializer is done, then results frames, in batch order), and
// fd 5 is the progress page (see progress). The parent ends a worker by
// closing fd 3; the worker exits at once when it reads end of file, even
// in the middle of a job.
const (
	fdJobs     = 3
	fdResults  = 4
	fdProgress = 5

	envWorker = "PAR_PROC_WORKER" // the worker's slot number
	envParent = "PAR_PROC_PARENT" // the parent's pid, to catch a parent that died early
)

// hello is the parent's first frame: what the worker needs before it runs
// jobs.
type hello struct {
	Worker      int    `cbor:"1,keyasint,omitempty"`
	Init        string `cbor:"2,keyasint,omitempty"` // initializer task, "" for none
	InitArg     []byte `cbor:"3,keyasint,omitempty"`
	MemoryLimit int64  `cbor:"4,keyasint,omitempty"`
}

// status is what the worker says before it takes jobs: first that Main is
// serving (Ready false), then that the initializer ran (Ready true) or
// failed (Err).
type status struct {
	PID   int    `cbor:"1,keyasint,omitempty"`
	Ready bool   `cbor:"2,keyasint,omitempty"`
	Err   string `cbor:"3,keyasint,omitempty"`
}

// jobs is a batch on its way to a worker: par.Batch's fields that a
// worker needs. The inputs are one CBOR array, as the engine encoded them:
// a batch of tiny jobs is decoded with one call into one slice. The parent
// knows each job's index, so the worker is not told.
//
// A jobs frame, like a results frame, is the envelope (a CBOR map of the
// other fields) followed by the array as it is (a CBOR sequence, RFC
// 8742): neither side copies the array to put it in or take it out of a
// frame.
type jobs struct {
	ID           uint64 `cbor:"1,keyasint,omitempty"`
	Task         string `cbor:"2,keyasint,omitempty"`
	Attempt      int    `cbor:"3,keyasint,omitempty"`
	TimeoutNanos int64  `cbor:"4,keyasint,omitempty"`
	Inputs       []byte `cbor:"-"` // a CBOR array, one item per job

	n     int    // the number of jobs, set by validate
	frame []byte // the frame Inputs is in, on the worker's side
}

// validate checks what decoding cannot, and counts the jobs.
func (j *jobs) validate() error {
	bad := func(what string) error {
		return fmt.Errorf("%w: batch %d: %s", wire.ErrInvalid, j.ID, what)
	}
	if j.Task == "" || j.TimeoutNanos < 0 {
		return bad("no task, or a negative timeout")
	}
	var err error
	if j.n, err = arrayLen(j.Inputs); err != nil {
		return bad("inputs: " + err.Error())
	}
	return nil
}

// results carries the results of a batch, or of its next part, back, in
// the order of the jobs: one CBOR array of outputs (any value where a job
// failed) and the errors of the jobs that failed.
type results struct {
	Batch   uint64     `cbor:"1,keyasint,omitempty"`
	Outputs []byte     `cbor:"-"`                    // a CBOR array, one item per job, after the envelope
	Errs    []jobError `cbor:"3,keyasint,omitempty"` // the failed jobs, in order
	Nanos   int64      `cbor:"4,keyasint,omitempty"` // how long the jobs ran, for batch sizing

	n      int    // the number of results, set by validate
	frame  []byte // the frame Outputs is in
	frames frames // where frame goes back once the results are decoded
}

// release gives the results' frame back to the reader: Outputs must not
// be used after.
func (r *results) release() { r.frames.put(r.frame) }

// frames is a small free list of frame buffers. A frame stays in use
// while what was decoded from it in place (a batch's inputs, its results)
// is, and its buffer then goes back for a later frame, so that either
// side of a pipe reuses its memory from batch to batch.
type frames chan []byte

// get returns a free buffer, or nil (a new one) when none is.
func (f frames) get() []byte {
	select {
	case buf := <-f:
		return buf
	default:
		return nil
	}
}

// put gives buf back, or drops it when the list is full.
func (f frames) put(buf []byte) {
	select {
	case f <- buf:
	default:
	}
}

// jobError is the error of job At of a results message.
type jobError struct {
	At  int        `cbor:"1,keyasint,omitempty"`
	Err wire.Error `cbor:"2,keyasint,omitempty"`
}

// validate checks what decoding cannot, and counts the results.
func (r *results) validate() error {
	bad := func(what string) error {
		return fmt.Errorf("%w: results of batch %d: %s", wire.ErrInvalid, r.Batch, what)
	}
	if r.Nanos < 0 {
		return bad("negative run time")
	}
	var err error
	if r.n, err = arrayLen(r.Outputs); err != nil {
		return bad("outputs: " + err.Error())
	}
	for i, e := range r.Errs {
		if e.At < 0 || e.At >= r.n || i > 0 && e.At <= r.Errs[i-1].At || e.Err.Kind == "" {
			return bad("misplaced error")
		}
	}
	return nil
}

// writeFrame writes the envelope of v and then the array after it as one
// frame (see jobs), and flushes.
func writeFrame(w *wire.Writer, v any, array []byte) error {
	env, err := wire.Marshal(v)
	if err == nil {
		err = w.WriteFrameParts(env, array)
	}
	if err == nil {
		err = w.Flush()
	}
	return err
}

// decodeJobs takes apart a jobs frame into j, whose Inputs then share
// memory with frame, and validates it.
func decodeJobs(frame []byte, j *jobs) (err error) {
	if j.Inputs, err = wire.UnmarshalFirst(frame, j); err != nil {
		return err
	}
	return j.validate()
}

// decodeResults takes apart a results frame into rs, whose Outputs then
// share memory with frame, and validates it.
func decodeResults(frame []byte, rs *results) (err error) {
	if rs.Outputs, err = wire.UnmarshalFirst(frame, rs); err != nil {
		return err
	}
	return rs.validate()
}

// arrayLen returns the number of items of the CBOR array data, which must
// have between 1 and wire.MaxArrayElements items, each at least a byte.
// The items themselves are checked where they are decoded.
func arrayLen(data []byte) (int, error) {
	n, err := wire.CountArray(data)
	if err == nil && n == 0 {
		err = errors.New("no items")
	}
	return n, err
}

// maxResultsFrame is the payload size at which a worker sends the results
// it has so far of a batch, and maxBatchFrame the input bytes above which
// the parent splits a batch: both well under wire.MaxFrame.
const (
	maxResultsFrame = 4 << 20
	maxBatchFrame   = 16 << 20
)
