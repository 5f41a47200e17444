// Package remote converts job errors to and from their wire form, for the
// backends whose jobs run outside the driver's process (proc, cluster), so
// that both treat errors alike.
package remote

import (
	"errors"
	"fmt"

	"github.com/par-project/par"
	"github.com/par-project/par/internal/wire"
)

// ToWire describes a job's error so that it can travel: a panic keeps its
// value's text and its stack, a lost worker, a timeout, an unknown task and
// an undecodable input keep their kind, and a retryable error stays
// retryable.
func ToWire(err error) *wire.Error {
	var pe *par.PanicError
	var lost *par.WorkerLostError
	switch {
	case errors.As(err, &pe):
		return &wire.Error{Kind: wire.KindPanic, Msg: fmt.Sprint(pe.Value), Stack: pe.Stack}
	case errors.As(err, &lost):
		return &wire.Error{Kind: wire.KindLost, Msg: err.Error(), Retryable: true}
	case errors.Is(err, par.ErrTimeout):
		return &wire.Error{Kind: wire.KindTimeout, Msg: err.Error()}
	case errors.Is(err, par.ErrUnknownTask):
		return &wire.Error{Kind: wire.KindUnknownTask, Msg: err.Error()}
	case errors.Is(err, wire.ErrDecode):
		return &wire.Error{Kind: wire.KindDecode, Msg: err.Error()}
	}
	return &wire.Error{Kind: wire.KindJob, Msg: err.Error(), Retryable: par.IsRetryable(err)}
}

// FromWire turns an error that travelled back from worker into one that
// behaves like the original under errors.Is and errors.As as far as par's
// own errors go: panics are *par.PanicError, lost workers
// *par.WorkerLostError, timeouts wrap par.ErrTimeout, unknown tasks
// par.ErrUnknownTask, undecodable inputs wire.ErrDecode, and retryable
// errors stay retryable. kinds maps a backend's own kinds to the sentinel
// their errors wrap. The text is the original's.
func FromWire(e *wire.Error, worker string, kinds map[string]error) error {
	var err error
	switch e.Kind {
	case wire.KindPanic:
		return &par.PanicError{Value: e.Msg, Stack: e.Stack}
	case wire.KindLost:
		return &par.WorkerLostError{Worker: worker, ExitCode: -1, Reason: e.Msg}
	case wire.KindTimeout:
		err = &Error{Msg: e.Msg, Is: par.ErrTimeout}
	case wire.KindUnknownTask:
		err = &Error{Msg: e.Msg, Is: par.ErrUnknownTask}
	case wire.KindDecode:
		err = &Error{Msg: e.Msg, Is: wire.ErrDecode}
	default:
		err = &Error{Msg: e.Msg, Is: kinds[e.Kind]}
	}
	if e.Retryable {
		err = par.Retryable(err)
	}
	return err
}

// Error is an error that happened on a worker: its text, and the sentinel
// it wrapped there, if any.
type Error struct {
	Msg string
	Is  error
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Is }
