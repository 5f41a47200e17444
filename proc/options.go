package proc

import (
	"fmt"
	"io"
	"strings"

	"github.com/par-project/par"
	"github.com/par-project/par/internal/wire"
)

// An Option configures a Backend. Options check their arguments: New
// reports a bad value as an error wrapping par.ErrInvalidOption.
type Option func(*config) error

// config is what the options set. It holds no runtime state.
type config struct {
	workers     int // as given to Workers; 0 means the session's par.Jobs
	maxJobs     int // jobs per process before it is replaced; 0 means no limit
	memoryLimit int64
	env         []string
	initName    string
	initArg     []byte
	stderr      io.Writer // nil means os.Stderr
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: proc: "+format, append([]any{par.ErrInvalidOption}, args...)...)
}

// Workers sets how many worker processes run jobs, with par.Jobs' meaning:
// n ≥ 1 processes; -1 one per CPU, -2 all CPUs but one, and so on. Without
// it, each call uses as many processes as its par.Jobs asks for (every CPU
// by default). Workers(0) is an error.
func Workers(n int) Option {
	return func(c *config) error {
		if n == 0 {
			return invalid("Workers must not be 0 (use -1 for every CPU)")
		}
		c.workers = n
		return nil
	}
}

// MaxJobsPerWorker replaces a worker process with a fresh one after it has
// run n jobs (multiprocessing's maxtasksperchild): a cure for jobs that leak
// memory or state. The default is no limit.
func MaxJobsPerWorker(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return invalid("MaxJobsPerWorker must be at least 1, got %d", n)
		}
		c.maxJobs = n
		return nil
	}
}

// MemoryLimit bounds each worker process's resident memory (RSS), in
// bytes. A worker found above it is killed; the job it was running fails
// with a *par.WorkerLostError whose Reason says so, and the worker is
// replaced. The parent checks every 10 ms while a job runs, so a job that
// allocates very fast may overshoot the limit briefly before it is killed.
// The worker's Go runtime also gets a soft limit of 90% of it
// (debug.SetMemoryLimit), so garbage is collected before the hard limit
// hits. The default is no limit.
func MemoryLimit(bytes int64) Option {
	return func(c *config) error {
		if bytes < 1<<20 {
			return invalid("MemoryLimit must be at least 1 MiB, got %d bytes", bytes)
		}
		c.memoryLimit = bytes
		return nil
	}
}

// Env adds environment variables, each "KEY=value", to those the worker
// processes inherit from this one. Later values win.
func Env(kv ...string) Option {
	return func(c *config) error {
		for _, s := range kv {
			if k, _, ok := strings.Cut(s, "="); !ok || k == "" {
				return invalid("Env wants KEY=value, got %q", s)
			}
		}
		c.env = append(c.env, kv...)
		return nil
	}
}

// Init runs task t with arg once in every worker process, after it starts
// and before it runs any job (multiprocessing.Pool's initializer and
// initargs): open a connection, load a model, warm a cache. Its result is
// ignored. If it fails, the worker does not start, and the jobs that were
// to run on it fail with its error.
func Init[A, R any](t *par.Task[A, R], arg A) Option {
	return func(c *config) error {
		if t == nil {
			return invalid("Init needs a registered task, got nil")
		}
		data, err := wire.Marshal(arg)
		if err != nil {
			return invalid("Init argument of task %s: %v", t.Name(), err)
		}
		c.initName, c.initArg = t.Name(), data
		return nil
	}
}

// Stderr sends the workers' standard error to w instead of this process's
// standard error. Either way each line is prefixed with "[worker N] ",
// N being the worker's slot number, and the last lines are kept for
// par.WorkerLostError.
func Stderr(w io.Writer) Option {
	return func(c *config) error {
		if w == nil {
			return invalid("Stderr needs a writer, got nil")
		}
		c.stderr = w
		return nil
	}
}
