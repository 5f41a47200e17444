package cluster

import (
	"errors"

	"github.com/par-project/par"
	"github.com/par-project/par/internal/remote"
	"github.com/par-project/par/internal/wire"
)

// Errors of the cluster backend. Each works with errors.Is.
var (
	// ErrAuth is wrapped by the error of Connect, Serve and the commands
	// when the server refuses the secret or credentials file (or their
	// absence).
	ErrAuth = errors.New("cluster: the server refused the secret or credentials (wrong or missing --secret / PAR_SECRET, or --creds / PAR_CREDS)")
	// ErrInsecure is returned by NewServer for a listen address other
	// than loopback without a secret.
	ErrInsecure = errors.New("cluster: refusing to listen beyond loopback without a secret")
	// ErrTooLarge is wrapped by the error of a job whose input or result
	// is too large for the object store (Settings.MaxObjectStoreBytes, 4
	// GiB by default), and of Put for such a value. Inputs and results
	// larger than the server's max payload (1 MiB by default) but within
	// that bound go through the object store.
	ErrTooLarge = errors.New("cluster: payload larger than the object store takes")
	// ErrQueueFull is wrapped by the error of a batch the cluster refused
	// because its queue holds Settings.MaxQueueBytes already.
	ErrQueueFull = errors.New("cluster: job queue is full")
	// ErrRunInUse is wrapped by the error of a durable run (Client.Run)
	// started while another driver runs the same name, and by the error
	// of the jobs of a driver whose run another driver took over after it
	// had gone silent for longer than the run's lease.
	ErrRunInUse = errors.New("cluster: another driver is running this durable run")
	// ErrExecNotAllowed is the error of a shell-command job (task
	// ExecTask) given to a worker started without AllowExec.
	ErrExecNotAllowed = errors.New("cluster: this worker does not run shell commands (start it with --allow-exec)")
)

var errInvalidOption = par.ErrInvalidOption

// ExecTask is the task name reserved for shell commands: the par command
// registers its command runner under it, and a worker runs such jobs only
// when started with AllowExec.
const ExecTask = "par.exec"

// fromWire turns an error that travelled back from worker into one that
// behaves like the original under errors.Is and errors.As (see
// remote.FromWire), the cluster's own kinds included.
func fromWire(e *wire.Error, worker string) error {
	return remote.FromWire(e, worker, kinds)
}

var kinds = map[string]error{kindTooLarge: ErrTooLarge, kindExec: ErrExecNotAllowed}

// Kinds of wire.Error of the cluster's own. Older receivers treat them as
// wire.KindJob, which keeps the message.
const (
	kindTooLarge = "too-large"
	kindExec     = "exec-not-allowed"
)
