package proc

import (
	"encoding/binary"
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

// jobs is a batch on its way to a worker: wire.Batch's fields that a
// worker needs, with the inputs packed into one byte string and their
// lengths into another. Packed, a batch of tiny jobs decodes with a few
// allocations instead of several per job, which is most of the cost of a
// job as small as a square root. The parent knows each job's index, so
// the worker is not told.
type jobs struct {
	ID           uint64 `cbor:"1,keyasint,omitempty"`
	Task         string `cbor:"2,keyasint,omitempty"`
	Attempt      int    `cbor:"3,keyasint,omitempty"`
	TimeoutNanos int64  `cbor:"4,keyasint,omitempty"`
	Lens         []byte `cbor:"5,keyasint,omitempty"` // each input's length, a uvarint each
	Data         []byte `cbor:"6,keyasint,omitempty"` // the inputs, one after another

	sizes []uint32 // Lens, decoded by validate
}

// validate checks what decoding cannot, and decodes Lens.
func (j *jobs) validate() error {
	bad := func(what string) error {
		return fmt.Errorf("%w: batch %d: %s", wire.ErrInvalid, j.ID, what)
	}
	if j.Task == "" || j.TimeoutNanos < 0 {
		return bad("no task, or a negative timeout")
	}
	var err error
	if j.sizes, err = splitLens(j.Lens, len(j.Data), false); err != nil {
		return bad(err.Error())
	}
	return nil
}

// results carries the results of a batch, or of its next part, back: like
// wire.Results, packed like jobs. Results come in the order of the jobs.
type results struct {
	Batch uint64     `cbor:"1,keyasint,omitempty"`
	Lens  []byte     `cbor:"2,keyasint,omitempty"` // each output's length, a uvarint each; 0 where the job failed
	Data  []byte     `cbor:"3,keyasint,omitempty"` // the outputs, one after another
	Errs  []jobError `cbor:"4,keyasint,omitempty"` // the failed jobs, in order

	sizes []uint32 // Lens, decoded by validate
}

// jobError is the error of job At of a results message.
type jobError struct {
	At  int        `cbor:"1,keyasint,omitempty"`
	Err wire.Error `cbor:"2,keyasint,omitempty"`
}

// validate checks what decoding cannot, and decodes Lens.
func (r *results) validate() error {
	bad := func(what string) error {
		return fmt.Errorf("%w: results of batch %d: %s", wire.ErrInvalid, r.Batch, what)
	}
	var err error
	if r.sizes, err = splitLens(r.Lens, len(r.Data), true); err != nil {
		return bad(err.Error())
	}
	failed := 0
	for _, n := range r.sizes {
		if n == 0 {
			failed++
		}
	}
	if failed != len(r.Errs) {
		return bad("errors do not match")
	}
	for i, e := range r.Errs {
		if e.At < 0 || e.At >= len(r.sizes) || r.sizes[e.At] != 0 || i > 0 && e.At <= r.Errs[i-1].At || e.Err.Kind == "" {
			return bad("misplaced error")
		}
	}
	return nil
}

// appendLen appends n to lens as a uvarint.
func appendLen(lens []byte, n int) []byte { return binary.AppendUvarint(lens, uint64(n)) }

// splitLens decodes lens, which must hold between 1 and
// wire.MaxArrayElements lengths adding up to total; zeros only if allowed.
func splitLens(lens []byte, total int, zeros bool) ([]uint32, error) {
	sizes := make([]uint32, 0, min(len(lens), wire.MaxArrayElements))
	sum := 0
	for len(lens) > 0 {
		v, k := binary.Uvarint(lens)
		switch {
		case k <= 0 || v > wire.MaxFrame:
			return nil, errors.New("bad length")
		case v == 0 && !zeros:
			return nil, errors.New("empty input")
		case len(sizes) == wire.MaxArrayElements:
			return nil, errors.New("too many jobs")
		}
		lens = lens[k:]
		sizes = append(sizes, uint32(v))
		sum += int(v)
	}
	switch {
	case len(sizes) == 0:
		return nil, errors.New("no jobs")
	case sum != total:
		return nil, fmt.Errorf("lengths add up to %d bytes, not %d", sum, total)
	}
	return sizes, nil
}

// maxResultsFrame is the payload size at which a worker sends the results
// it has so far of a batch, and maxBatchFrame the input bytes above which
// the parent splits a batch: both well under wire.MaxFrame.
const (
	maxResultsFrame = 4 << 20
	maxBatchFrame   = 16 << 20
)
