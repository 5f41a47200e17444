package par

import (
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
)

// Sentinel errors. Each wraps into the structured errors below and works with
// errors.Is.
var (
	// ErrInvalidOption is wrapped by every error an Option reports.
	ErrInvalidOption = errors.New("par: invalid option")
	// ErrNilFunc is returned when a nil job function is passed.
	ErrNilFunc = errors.New("par: nil job function")
	// ErrNilInputs is returned when a nil iter.Seq is passed as inputs.
	ErrNilInputs = errors.New("par: nil input sequence")
	// ErrNotRegistered is returned when a backend that runs jobs outside
	// this process is given a func that was not registered with Register.
	ErrNotRegistered = errors.New("par: func is not a registered task")
	// ErrUnknownTask is returned by ExecTask for a name nobody registered.
	ErrUnknownTask = errors.New("par: unknown task")
	// ErrTimeout is wrapped by the error of a job that ran past Timeout.
	ErrTimeout = errors.New("par: job timed out")
	// ErrClosed is returned by jobs submitted to a closed Pool.
	ErrClosed = errors.New("par: pool is closed")
	// ErrRetryable marks an error as worth retrying; see Retryable.
	ErrRetryable = errors.New("par: retryable")
)

// JobError is the error of one job: its index (the position of its input,
// or the submission number for Submit), its input when it prints briefly,
// and the error the job returned.
type JobError struct {
	Index int
	Input any // nil unless the input is a number, bool or short string
	Err   error
}

func (e *JobError) Error() string {
	if e.Input != nil {
		return fmt.Sprintf("par: job %d (input %v): %v", e.Index, e.Input, e.Err)
	}
	return fmt.Sprintf("par: job %d: %v", e.Index, e.Err)
}

func (e *JobError) Unwrap() error { return e.Err }

// PanicError is a panic recovered inside a job, with the goroutine's stack
// at the point of the panic. A job never crashes the caller: its panic
// becomes this error.
type PanicError struct {
	Value any
	Stack string
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("par: job panicked: %v\n\n%s", e.Value, e.Stack)
}

// Unwrap returns the panic value when it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

func newPanicError(v any) *PanicError {
	return &PanicError{Value: v, Stack: string(debug.Stack())}
}

// WorkerLostError reports a job whose worker died under it: a process that
// exited or was killed, or a cluster worker that stopped answering. It is
// retryable: with Retries, the job runs again on another worker.
type WorkerLostError struct {
	Worker   string // worker id or host
	ExitCode int    // -1 when killed by a signal or unknown
	Signal   string // e.g. "killed"; empty when it exited
	Reason   string // what par saw, e.g. "memory limit exceeded"
	Stderr   string // the worker's last lines of standard error
}

func (e *WorkerLostError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "par: worker %s lost", e.Worker)
	switch {
	case e.Signal != "":
		fmt.Fprintf(&b, " (signal: %s)", e.Signal)
	case e.ExitCode >= 0:
		fmt.Fprintf(&b, " (exit code %d)", e.ExitCode)
	}
	if e.Reason != "" {
		fmt.Fprintf(&b, ": %s", e.Reason)
	}
	if e.Stderr != "" {
		fmt.Fprintf(&b, "; last stderr:\n%s", e.Stderr)
	}
	return b.String()
}

// Retryable reports true: a lost worker is worth another try elsewhere.
func (e *WorkerLostError) Retryable() bool { return true }

// Retryable marks err as worth retrying: with the Retries option a job that
// returns it runs again after a backoff. A nil err stays nil.
func Retryable(err error) error {
	if err == nil {
		return nil
	}
	return retryableError{err}
}

type retryableError struct{ err error }

func (e retryableError) Error() string   { return e.err.Error() }
func (e retryableError) Unwrap() []error { return []error{e.err, ErrRetryable} }

// IsRetryable reports whether err says it is worth retrying: it wraps
// ErrRetryable (see Retryable) or has a Retryable() bool method that
// returns true, as WorkerLostError does.
func IsRetryable(err error) bool {
	if errors.Is(err, ErrRetryable) {
		return true
	}
	var r interface{ Retryable() bool }
	return errors.As(err, &r) && r.Retryable()
}

// printable returns v when it prints briefly, for JobError.Input.
func printable(v any) any {
	switch x := v.(type) {
	case bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64,
		uintptr, float32, float64, complex64, complex128:
		return v
	case string:
		if len(x) <= 80 {
			return v
		}
	}
	return nil
}
