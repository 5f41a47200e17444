package cluster

import (
	"context"
	"errors"
	"fmt"

	"github.com/par-project/par/internal/wire"
)

// The hooks by which inputs and results larger than the server's max
// payload go through the object store (see objects.go): the driver and
// the worker call them where a single job's input or result is found too
// large for a message, and where such a payload arrives.

// bigInput stores the input in of one job, too large for a message, in
// the object store, and returns the reference to send in its place.
func (s *session) bigInput(ctx context.Context, in []byte) ([]byte, error) {
	ref, err := storeBig(ctx, s.c.js, in)
	if err != nil {
		return nil, fmt.Errorf("cluster: input of %d bytes, over the server's max payload of %d bytes: %w", len(in), s.max, err)
	}
	return ref, nil
}

// loadBigOutputs replaces each output of e that is a reference to a
// large result with the result, fetched from the object store; a result
// that cannot be fetched fails its job.
func (s *session) loadBigOutputs(ctx context.Context, e *execution) {
	for k, out := range e.outs {
		if !isBig(out) {
			continue
		}
		data, err := loadBig(ctx, s.c.js, out)
		if err != nil {
			e.outs[k] = []byte{0xf6} // null: the job failed
			e.setErr(k, fmt.Errorf("cluster: fetching a large result: %w", err))
			continue
		}
		e.outs[k] = data
	}
}

// loadBigInputs returns the input array ins with each item at the
// positions refs, a reference to a large input, replaced with the input,
// fetched from the object store. It returns, for each job, why its input
// could not be fetched, or nil when all were; such an item stays a
// reference, which fails its job if it runs.
func (w *worker) loadBigInputs(ctx context.Context, ins []byte, refs []int) ([]byte, []error) {
	if len(refs) == 0 {
		return ins, nil
	}
	items, err := wire.SplitArray(ins)
	if err != nil {
		return ins, nil // Validate checked it: cannot happen
	}
	var errs []error
	for _, k := range refs {
		data, err := loadBig(ctx, w.js, items[k])
		if err != nil {
			if errs == nil {
				errs = make([]error, len(items))
			}
			errs[k] = fmt.Errorf("cluster: fetching a large input: %w", err)
			continue
		}
		w.objects.fetched.Add(1)
		w.objects.fetchedBytes.Add(int64(len(data)))
		items[k] = data
	}
	return wire.JoinArray(items), errs
}

// bigResult stores out, a result too large for a message, in the object
// store, and returns the reference to send in its place, or why it could
// not.
func (w *worker) bigResult(ctx context.Context, out []byte) ([]byte, *wire.Error) {
	ref, err := storeBig(ctx, w.js, out)
	if err != nil {
		kind := wire.KindJob
		if errors.Is(err, ErrTooLarge) {
			kind = kindTooLarge
		}
		return nil, &wire.Error{Kind: kind, Msg: fmt.Sprintf("result of %d bytes, over the server's max payload of %d bytes: %v", len(out), w.nc.MaxPayload(), err)}
	}
	return ref, nil
}

// dropGoneBig forgets the stored results of a durable run, in outs, that
// refer to large results no longer in the object store (they expired),
// so that their jobs run again instead of failing.
func (s *session) dropGoneBig(ctx context.Context, outs [][]byte) {
	for k, out := range outs {
		if !isBig(out) {
			continue
		}
		if r, err := parseBig(out); err == nil && objectStored(ctx, s.c.js, r.Hash) {
			continue
		}
		outs[k] = nil
	}
}
