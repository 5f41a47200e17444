package cluster

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// An Option configures Connect (the driver side) or Serve (the worker
// side). Options check their arguments: a bad value makes Connect or Serve
// return an error wrapping par.ErrInvalidOption. Options that concern only
// one side are ignored by the other, as their docs say.
type Option func(*config) error

// config is what the options set. It holds no runtime state.
type config struct {
	secret       string
	queue        string
	settings     Settings
	slots        int           // driver: batches in flight; 0 = from live workers
	jobs         int           // worker: batches run at once
	allowExec    bool          // worker: run ExecTask jobs
	stopTimeout  time.Duration // worker: grace for in-flight batches
	objectCache  int64         // worker: bytes of fetched objects kept; 0 = DefaultObjectCache
	name         string        // worker: id shown by status
	keepFinished time.Duration // driver: how long a finished durable run is kept
	log          *slog.Logger
	natsOpts     []nats.Option
	tlsCA        string // file of CAs to trust (TLSCA)
	tlsCert      string // client certificate file (TLSCert)
	tlsKey       string
	creds        string // NATS credentials file (Credentials)
}

func newConfig(opts []Option) (*config, error) {
	c := &config{queue: DefaultQueue, stopTimeout: 10 * time.Second}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: cluster: "+format, append([]any{errInvalidOption}, args...)...)
}

// Secret authenticates with the shared secret the server was started with
// (NATS token authentication). The par commands read it from --secret or
// PAR_SECRET.
func Secret(s string) Option {
	return func(c *config) error {
		c.secret = s
		return nil
	}
}

// Queue names the queue to submit to or to serve; DefaultQueue without it.
// Queues let one cluster keep kinds of work apart (a GPU queue served only
// by GPU hosts, say). A name is one NATS subject token: no dots or spaces.
func Queue(name string) Option {
	return func(c *config) error {
		if err := checkName("queue", name); err != nil {
			return err
		}
		c.queue = name
		return nil
	}
}

// WithSettings sets the JetStream parameters used when this client is the
// first to create the streams and consumers (see Setup); existing ones
// are not changed.
func WithSettings(s Settings) Option {
	return func(c *config) error {
		if s.AckWait < 0 || s.MaxDeliver < 0 || s.MaxAckPending < 0 || s.MaxQueueBytes < 0 || s.WorkerTTL < 0 || s.ResultsMaxAge < 0 {
			return invalid("negative value in Settings %+v", s)
		}
		if s.Replicas < 0 || s.Replicas > 5 {
			return invalid("Settings.Replicas must be 0 (automatic) to 5, got %d", s.Replicas)
		}
		c.settings = s
		return nil
	}
}

// Slots sets how many batches a driver's session keeps in flight at once
// (see par.Session.Slots). Without it a session reads the capacity of the
// live workers when it starts (the batches they run at once) and keeps
// twice that many in flight, or 8 when no worker is live yet: each
// worker finds its next batch waiting in the queue when it finishes one.
// Fewer leave workers idle for a round trip through the driver between
// batches; more make other drivers' batches wait behind this one's.
// Driver side only.
func Slots(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return invalid("Slots must be at least 1, got %d", n)
		}
		c.slots = n
		return nil
	}
}

// Jobs sets how many batches a worker runs at once, with par.Jobs' meaning:
// n ≥ 1, or -1 for one per CPU, -2 for all CPUs but one, and so on. The
// default is one per CPU. Worker side only.
func Jobs(n int) Option {
	return func(c *config) error {
		if n == 0 {
			return invalid("Jobs must not be 0 (use -1 for every CPU)")
		}
		c.jobs = n
		return nil
	}
}

// AllowExec lets a worker run shell-command jobs (task ExecTask). A
// cluster whose workers run commands is remote execution by design, so it
// is off by default: such a job then fails with ErrExecNotAllowed. Worker
// side only.
func AllowExec() Option {
	return func(c *config) error {
		c.allowExec = true
		return nil
	}
}

// StopTimeout bounds how long a stopping worker waits for its running
// batches to finish; batches still running then are handed back to the
// queue for another worker. Default 10s. Worker side only.
func StopTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return invalid("StopTimeout must not be negative, got %v", d)
		}
		c.stopTimeout = d
		return nil
	}
}

// Name sets the id a worker is listed under by par status; the default
// is host:pid plus a random suffix. Worker side only.
func Name(id string) Option {
	return func(c *config) error {
		if err := checkName("worker", id); err != nil {
			return err
		}
		c.name = id
		return nil
	}
}

// Logger sets where a worker reports what it cannot return as a result:
// undecodable batches, lost connections, failed acks. By default such
// events are dropped.
func Logger(l *slog.Logger) Option {
	return func(c *config) error {
		c.log = l
		return nil
	}
}

// NATSOptions passes options to nats.Connect: credentials files, TLS,
// reconnect policy. They are applied after par's own.
func NATSOptions(opts ...nats.Option) Option {
	return func(c *config) error {
		c.natsOpts = append(c.natsOpts, opts...)
		return nil
	}
}

// dial connects to the server at url as name.
func dial(url, name string, c *config, extra ...nats.Option) (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(100 * time.Millisecond),
		nats.ReconnectBufSize(64 << 20),
	}
	if c.secret != "" {
		opts = append(opts, nats.Token(c.secret))
	}
	opts = append(opts, tlsOptions(c)...)
	opts = append(opts, extra...)
	opts = append(opts, c.natsOpts...)
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		if terr := tlsErr(url, err); terr != nil {
			return nil, terr
		}
		if isAuthErr(err) && c.creds != "" {
			return nil, fmt.Errorf("%w: connecting to %s with credentials file %s: %v", ErrAuth, url, c.creds, err)
		}
		if isAuthErr(err) {
			return nil, fmt.Errorf("%w: connecting to %s: %v", ErrAuth, url, err)
		}
		return nil, fmt.Errorf("cluster: connecting to %s: %w", url, err)
	}
	return nc, nil
}

func isAuthErr(err error) bool {
	return errors.Is(err, nats.ErrAuthorization) || errors.Is(err, nats.ErrAuthExpired) ||
		errors.Is(err, nats.ErrAuthRevoked) || strings.Contains(strings.ToLower(err.Error()), "authorization violation")
}
