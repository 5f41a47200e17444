package par

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"time"
)

// An Option configures a call (Map, ForEach, Stream, For) or a Pool. Options
// check their arguments: a bad value is reported as an error wrapping
// ErrInvalidOption by the call that receives it, never as a panic.
type Option func(*options) error

type options struct {
	jobs      int // as given to Jobs; 0 means the default
	backend   Backend
	unordered bool
	collect   bool
	retries   int
	backoff   time.Duration
	timeout   time.Duration
	batch     int // fixed batch size; 0 = automatic
	window    int // ordered Stream window in jobs; 0 = automatic
	progress  func(Status)
	barTo     io.Writer
	barTTY    bool // draw on stderr only when it is a terminal
	static    bool
	chunk     int
}

func buildOptions(opts []Option) (*options, error) {
	o := &options{}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// workers resolves Jobs to a number of workers, with joblib's meaning.
func (o *options) workers() int {
	return resolveJobs(o.jobs)
}

func resolveJobs(n int) int {
	cpus := runtime.GOMAXPROCS(0)
	switch {
	case n == 0:
		return cpus
	case n > 0:
		return n
	default:
		return max(1, cpus+1+n)
	}
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidOption}, args...)...)
}

// Jobs sets how many jobs run at once, with joblib's n_jobs meaning: n ≥ 1
// workers; -1 uses every CPU, -2 all but one, and so on (never fewer than
// one). The default is every CPU (GOMAXPROCS). Jobs(0) is an error.
func Jobs(n int) Option {
	return func(o *options) error {
		if n == 0 {
			return invalid("Jobs must not be 0 (use -1 for every CPU)")
		}
		o.jobs = n
		return nil
	}
}

// On runs the jobs on backend b instead of goroutines in this process. Jobs
// that leave the process must be registered tasks (see Register).
func On(b Backend) Option {
	return func(o *options) error {
		if b == nil {
			return invalid("On needs a backend, got nil")
		}
		o.backend = b
		return nil
	}
}

// Unordered makes Stream yield results as they finish rather than in input
// order (joblib's return_as="generator_unordered").
func Unordered() Option {
	return func(o *options) error { o.unordered = true; return nil }
}

// CollectErrors runs every job even when some fail and returns all their
// errors joined (errors.Join), sorted by job index. Without it the first
// failure cancels the rest (fail-fast).
func CollectErrors() Option {
	return func(o *options) error { o.collect = true; return nil }
}

// Retries runs a job up to n more times when its error is retryable (see
// IsRetryable), waiting backoff before the first retry and doubling the wait
// each time, up to one minute. Worker losses on the process and cluster
// backends are retryable.
func Retries(n int, backoff time.Duration) Option {
	return func(o *options) error {
		if n < 0 {
			return invalid("Retries must not be negative, got %d", n)
		}
		if backoff < 0 {
			return invalid("Retries backoff must not be negative, got %v", backoff)
		}
		o.retries, o.backoff = n, backoff
		return nil
	}
}

// Timeout bounds each job's run time: the job's context is cancelled after d
// and the job fails with an error wrapping ErrTimeout. On goroutines a job
// that ignores its context cannot be stopped and is waited for; the process
// backend kills the worker instead. Zero means no timeout.
func Timeout(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return invalid("Timeout must not be negative, got %v", d)
		}
		o.timeout = d
		return nil
	}
}

// BatchSize fixes how many jobs a worker takes at a time. The default
// adapts the batch to the measured job duration; BatchSize(1) hands out one
// job at a time, for slow jobs such as commands.
func BatchSize(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return invalid("BatchSize must be at least 1, got %d", n)
		}
		o.batch = n
		return nil
	}
}

// Window bounds how many jobs an ordered Stream runs ahead of the result it
// waits for. The default is 64 batches' worth per worker.
func Window(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return invalid("Window must be at least 1, got %d", n)
		}
		o.window = n
		return nil
	}
}

// Progress calls fn with the run's status after each batch of jobs
// finishes. Calls are serial, from the goroutine that collects results.
func Progress(fn func(Status)) Option {
	return func(o *options) error {
		if fn == nil {
			return invalid("Progress needs a func, got nil")
		}
		o.progress = fn
		return nil
	}
}

// Bar draws a progress bar with rate and ETA on standard error, when
// standard error is a terminal; otherwise it does nothing.
func Bar() Option {
	return func(o *options) error { o.barTo, o.barTTY = os.Stderr, true; return nil }
}

// BarTo draws the progress bar on w whether or not it is a terminal.
func BarTo(w io.Writer) Option {
	return func(o *options) error {
		if w == nil {
			return invalid("BarTo needs a writer, got nil")
		}
		o.barTo, o.barTTY = w, false
		return nil
	}
}

// Static makes For split the range into one contiguous chunk per worker
// (OpenMP's schedule(static)): the least overhead when every index costs
// the same.
func Static() Option {
	return func(o *options) error { o.static = true; return nil }
}

// Dynamic makes For hand out chunks of the given size to whichever worker
// is free (OpenMP's schedule(dynamic, chunk)); chunk 0 picks sizes that
// shrink as the range runs out (guided). Dynamic is For's default.
func Dynamic(chunk int) Option {
	return func(o *options) error {
		if chunk < 0 {
			return invalid("Dynamic chunk must not be negative, got %d", chunk)
		}
		o.static, o.chunk = false, chunk
		return nil
	}
}
