package cluster

import (
	"errors"
	"fmt"

	"github.com/par-project/par"
	"github.com/par-project/par/internal/wire"
)

// Errors of the cluster backend. Each works with errors.Is.
var (
	// ErrAuth is wrapped by the error of Connect, Serve and the commands
	// when the server refuses the secret (or its absence).
	ErrAuth = errors.New("cluster: the server refused the secret (wrong or missing --secret / PAR_SECRET)")
	// ErrInsecure is returned by NewServer for a listen address other
	// than loopback without a secret.
	ErrInsecure = errors.New("cluster: refusing to listen beyond loopback without a secret")
	// ErrTooLarge is wrapped by the error of a job whose input or result
	// does not fit in one NATS message (the server's max payload, 1 MiB
	// by default). Pass large data through shared storage instead.
	ErrTooLarge = errors.New("cluster: payload larger than the server's max payload")
	// ErrQueueFull is wrapped by the error of a batch the cluster refused
	// because its queue holds Settings.MaxQueueBytes already.
	ErrQueueFull = errors.New("cluster: job queue is full")
	// ErrExecNotAllowed is the error of a shell-command job (task
	// ExecTask) given to a worker started without AllowExec.
	ErrExecNotAllowed = errors.New("cluster: this worker does not run shell commands (start it with --allow-exec)")
)

var errInvalidOption = par.ErrInvalidOption

// ExecTask is the task name reserved for shell commands: the par command
// registers its command runner under it, and a worker runs such jobs only
// when started with AllowExec.
const ExecTask = "par.exec"

// toWire describes a job's error so that it can travel.
func toWire(err error) *wire.Error {
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

// fromWire turns an error that travelled back from worker into one that
// behaves like the original under errors.Is and errors.As as far as par's
// own errors go: panics are *par.PanicError, timeouts wrap par.ErrTimeout,
// unknown tasks par.ErrUnknownTask, lost workers are *par.WorkerLostError,
// and retryable errors stay retryable.
func fromWire(e *wire.Error, worker string) error {
	var err error
	switch e.Kind {
	case wire.KindPanic:
		return &par.PanicError{Value: e.Msg, Stack: e.Stack}
	case wire.KindLost:
		return &par.WorkerLostError{Worker: worker, ExitCode: -1, Reason: e.Msg}
	case wire.KindTimeout:
		err = &remoteError{msg: e.Msg, is: par.ErrTimeout}
	case wire.KindUnknownTask:
		err = &remoteError{msg: e.Msg, is: par.ErrUnknownTask}
	case wire.KindDecode:
		err = &remoteError{msg: e.Msg, is: wire.ErrDecode}
	case kindTooLarge:
		err = &remoteError{msg: e.Msg, is: ErrTooLarge}
	case kindExec:
		err = &remoteError{msg: e.Msg, is: ErrExecNotAllowed}
	default:
		err = &remoteError{msg: e.Msg}
	}
	if e.Retryable {
		err = par.Retryable(err)
	}
	return err
}

// Kinds of wire.Error of the cluster's own. Older receivers treat them as
// wire.KindJob, which keeps the message.
const (
	kindTooLarge = "too-large"
	kindExec     = "exec-not-allowed"
)

// remoteError is an error that happened on a worker: its text, and the
// sentinel it wrapped there, if any.
type remoteError struct {
	msg string
	is  error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.is }
