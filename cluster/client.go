package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/par-project/par"
)

// A Client is a connection from a driver to a par cluster, and a
// par.Backend: pass par.On(c) to par.Map, par.Stream or par.NewPool and
// the jobs run on the cluster's workers. Jobs must be registered tasks
// (par.Register) and the workers must run the same binary (see Serve).
//
// A Client is safe for concurrent use. Close it when done.
type Client struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	jobs    jetstream.Stream
	results jetstream.Stream
	cfg     *config

	mu       sync.Mutex
	sessions map[*session]struct{} // open sessions, to resend after a reconnect
	epoch    int                   // reconnects so far
	slots    int                   // the live workers' slots, read at slotsAt
	slotsAt  time.Time
}

// Connect connects a driver to the par cluster at url (a NATS URL such as
// "nats://127.0.0.1:4222", or several comma-separated, which it fails
// over between) and creates what par needs there if it is missing (see
// Setup). A wrong or missing secret fails with an error
// wrapping ErrAuth.
func Connect(url string, opts ...Option) (*Client, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, sessions: map[*session]struct{}{}}
	nc, err := dial(url, "par driver", cfg, nats.ReconnectHandler(func(*nats.Conn) { c.reconnected() }))
	if err != nil {
		return nil, err
	}
	c.nc = nc
	if err := c.init(); err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

func (c *Client) init() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	js, err := jetstream.New(c.nc)
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	if err := Setup(ctx, js, c.cfg.queue, c.cfg.settings); err != nil {
		return err
	}
	c.js = js
	if c.jobs, err = js.Stream(ctx, JobsStream); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	if c.results, err = js.Stream(ctx, ResultsStream); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	return nil
}

// Close closes the connection. Sessions still open fail.
func (c *Client) Close() error {
	c.nc.Close()
	return nil
}

// Start opens a session: one run, with its own id, whose batches travel
// on the client's queue. It implements par.Backend.
func (c *Client) Start(ctx context.Context, spec par.Spec) (par.Session, error) {
	return c.start(ctx, spec, runLabel{total: -1})
}

func (c *Client) start(ctx context.Context, spec par.Spec, label runLabel) (par.Session, error) {
	s := &session{
		c:       c,
		run:     nuid.Next(),
		timeout: spec.Timeout,
		pending: map[uint64]*pending{},
		max:     c.nc.MaxPayload(),
		label:   label,
		host:    hostname(),
		failed:  make(chan struct{}),
	}
	s.slots = c.cfg.slots
	if s.slots == 0 {
		// Twice as many batches as the live workers run at once: while a
		// worker runs one, its next waits in the stream, so it goes from
		// one batch to the next without waiting for a round trip through
		// the driver. Workers still pull only what they run, and par sizes
		// batches by their run time on the worker (par.Batch.Ran), which
		// the wait in the queue does not count.
		s.slots = 8 // no worker yet: a guess
		if live, _ := c.capacity(ctx); live > 0 {
			s.slots = min(2*live, 1024)
		}
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if label.durable {
		s.run = label.name
		// Batch ids unique across the run's sessions keep their message
		// ids, and so their deduplication, apart.
		s.nextID.Store(uint64(time.Now().UnixNano()))
	}
	s.jobsSubject = jobsPrefix + c.cfg.queue + "." + s.run
	s.resultsSubject = resultsPrefix + s.run
	if label.durable {
		if err := s.resume(ctx); err != nil {
			s.cancel()
			s.bg.Wait()
			return nil, err
		}
	}
	cons, err := c.js.OrderedConsumer(ctx, ResultsStream, s.resultsConsumer())
	if err != nil {
		s.cancel()
		return nil, fmt.Errorf("cluster: consuming results: %w", err)
	}
	// Short heartbeats let the consumer notice a restarted server in about
	// two seconds and pick up where it was.
	s.cc, err = cons.Consume(s.dispatch, jetstream.PullExpiry(5*time.Second), jetstream.PullHeartbeat(time.Second),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			c.cfg.log.Debug("par cluster: consuming results", "err", err)
		}))
	if err != nil {
		s.cancel()
		return nil, fmt.Errorf("cluster: consuming results: %w", err)
	}
	// Workers also send results straight to the driver before storing
	// them, which spares a round trip to the disk on the way back. A
	// durable run takes only stored results: its driver counts a job done
	// when a driver that runs the name again would find its result.
	if !label.durable {
		if s.live, err = c.nc.Subscribe(livePrefix+s.run, s.dispatchLive); err != nil {
			s.cc.Stop()
			s.cancel()
			return nil, fmt.Errorf("cluster: consuming results: %w", err)
		}
	}
	c.mu.Lock()
	c.sessions[s] = struct{}{}
	c.mu.Unlock()
	return s, nil
}

// reconnected is called by the connection after it reconnected.
func (c *Client) reconnected() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	for s := range c.sessions {
		s.bg.Go(func() { s.republish(c.epoch) })
	}
}

// capacityAge is how long a session reuses the capacity of the live
// workers that an earlier one read: listing them takes several round
// trips, a cost a program that runs many short calls pays once.
const capacityAge = time.Second

// capacity returns the slots of the live workers of the client's queue,
// as read at most capacityAge ago.
func (c *Client) capacity(ctx context.Context) (int, error) {
	c.mu.Lock()
	n, at := c.slots, c.slotsAt
	c.mu.Unlock()
	if n > 0 && time.Since(at) < capacityAge {
		return n, nil
	}
	ws, err := c.Workers(ctx)
	n = 0
	for _, w := range ws {
		if w.Queue == c.cfg.queue {
			n += w.Slots
		}
	}
	if err == nil {
		c.mu.Lock()
		c.slots, c.slotsAt = n, time.Now()
		c.mu.Unlock()
	}
	return n, err
}

// Workers lists the live workers: those whose last heartbeat is younger
// than Settings.WorkerTTL.
func (c *Client) Workers(ctx context.Context) ([]WorkerInfo, error) {
	return listWorkers(ctx, c.js)
}

// session is one run on the cluster.
type session struct {
	c              *Client
	run            string
	timeout        time.Duration
	label          runLabel // what the run's batches say about it
	host           string   // this driver's host
	slots          int
	max            int64 // the server's max payload
	jobsSubject    string
	resultsSubject string
	cc             jetstream.ConsumeContext
	live           *nats.Subscription // results sent straight from workers
	nextID         atomic.Uint64
	durable        *durable    // a durable run's state, nil for others
	abandoned      atomic.Bool // a batch was given up on before its results came
	ctx            context.Context
	cancel         context.CancelFunc
	bg             sync.WaitGroup

	failed   chan struct{} // closed by fail
	failErr  error
	failOnce sync.Once

	mu      sync.Mutex
	pending map[uint64]*pending
}

func (s *session) Slots() int { return s.slots }

// fail ends the session's batches with err: Exec returns it for those it
// waits on and those it is given after.
func (s *session) fail(err error) {
	s.failOnce.Do(func() {
		s.failErr = err
		close(s.failed)
	})
}

// failure returns the error fail ended the session with, nil if none.
func (s *session) failure() error {
	select {
	case <-s.failed:
		return s.failErr
	default:
		return nil
	}
}

// send publishes a batch message of task, retrying while the server is
// unreachable; the message id makes the retries harmless.
func (s *session) send(ctx context.Context, data []byte, task, msgID string) (uint64, error) {
	msg := &nats.Msg{Subject: s.jobsSubject, Data: data, Header: s.label.header(task, s.host)}
	ack, err := publish(ctx, s.c.js, msg, msgID, s.c.cfg.log)
	if err != nil {
		return 0, err
	}
	return ack.Sequence, nil
}

// attemptTimeout bounds one attempt to publish. A request that reached a
// server as it went down is never answered, and jetstream waits for the
// answer as long as the caller's context has a deadline: without this
// bound a driver waited for the end of its run for a batch that was never
// stored.
const attemptTimeout = 2 * time.Second

// publish publishes msg and waits until the server has stored it, trying
// again after attemptTimeout or a failure that a reconnect may cure, until
// ctx ends. The message id makes a retry of a message that was stored
// after all harmless: the server acknowledges it as a duplicate.
func publish(ctx context.Context, js jetstream.JetStream, msg *nats.Msg, msgID string, log *slog.Logger) (*jetstream.PubAck, error) {
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		ack, err := js.PublishMsg(actx, msg, jetstream.WithMsgID(msgID))
		cancel()
		if err == nil {
			return ack, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err := publishErr(err); err != nil {
			return nil, err
		}
		log.Debug("par cluster: publish failed, retrying", "subject", msg.Subject, "msg", msgID, "err", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// publishErr returns nil when a failed publish is worth trying again (the
// server is restarting or briefly unreachable), else the error to report.
func publishErr(err error) error {
	var api *jetstream.APIError
	switch {
	case errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, nats.ErrMaxPayload):
		return fmt.Errorf("%w: %v", ErrTooLarge, err)
	case errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrBadSubject):
		return fmt.Errorf("cluster: publishing a batch: %w", err)
	case errors.As(err, &api):
		if strings.Contains(api.Description, "maximum") {
			return fmt.Errorf("%w: %v", ErrQueueFull, err)
		}
		if api.Code == 503 {
			return nil
		}
		return fmt.Errorf("cluster: publishing a batch: %w", err)
	}
	return nil
}

// withdraw deletes the messages of parts from the queue, best effort: a
// worker that already took one finishes it and its results are dropped.
func (s *session) withdraw(parts []*pending) {
	s.abandoned.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, p := range parts {
		s.mu.Lock()
		seq := p.seq
		s.mu.Unlock()
		if seq == 0 {
			continue
		}
		if err := s.c.jobs.DeleteMsg(ctx, seq); err != nil && ctx.Err() != nil {
			return
		}
	}
}

// republish sends again every batch still waiting for results, after the
// connection to the server was re-established. A server that restarted
// may have lost track of batches it had handed out (its consumer state is
// written behind the stream), leaving them neither delivered nor
// redelivered; sending them again, after deleting the old message, costs
// at worst a second run of batches that were running, whose duplicate
// results are dropped.
func (s *session) republish(epoch int) {
	// Wait until JetStream answers again: a restarted server recovers its
	// streams before it serves them.
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		if _, err := s.c.js.AccountInfo(s.ctx); err == nil {
			break
		}
		select {
		case <-s.ctx.Done():
			return
		case <-time.After(wait):
		}
	}
	s.mu.Lock()
	var parts []*pending
	for _, p := range s.pending {
		if p.data != nil && p.seq != 0 {
			parts = append(parts, p)
		}
	}
	s.mu.Unlock()
	for _, p := range parts {
		s.mu.Lock()
		old := p.seq
		s.mu.Unlock()
		_ = s.c.jobs.DeleteMsg(s.ctx, old)
		seq, err := s.send(s.ctx, p.data, p.e.b.Task, fmt.Sprintf("%s.%d.r%d", s.run, p.id, epoch))
		if err != nil {
			if s.ctx.Err() != nil {
				return
			}
			s.c.cfg.log.Warn("par cluster: resending a batch after a reconnect", "run", s.run, "batch", p.id, "err", err)
			continue
		}
		s.mu.Lock()
		p.seq = seq
		s.mu.Unlock()
	}
}

// Close stops consuming results, withdraws the run's jobs still queued
// when some batch was given up on (and tells workers to stop running the
// run's batches), and deletes the run's results from the server.
func (s *session) Close() error {
	s.c.mu.Lock()
	delete(s.c.sessions, s)
	s.c.mu.Unlock()
	s.cancel()
	s.bg.Wait()
	s.cc.Stop()
	if s.live != nil {
		_ = s.live.Unsubscribe()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	s.publishEnded()
	if s.durable != nil {
		// A durable run keeps its results; its running batches finish, so
		// that their results are there when it runs again.
		s.durable.finish(ctx, s)
		if s.abandoned.Load() {
			if err := s.c.jobs.Purge(ctx, jetstream.WithPurgeSubject(s.jobsSubject)); err != nil {
				errs = append(errs, fmt.Errorf("cluster: withdrawing run %s: %w", s.run, err))
			}
		}
		return errors.Join(errs...)
	}
	if s.abandoned.Load() {
		_ = s.c.nc.Publish(cancelPrefix+s.run, nil)
		if err := s.c.jobs.Purge(ctx, jetstream.WithPurgeSubject(s.jobsSubject)); err != nil {
			errs = append(errs, fmt.Errorf("cluster: withdrawing run %s: %w", s.run, err))
		}
	}
	if err := s.c.results.Purge(ctx, jetstream.WithPurgeSubject(s.resultsSubject)); err != nil && !s.c.nc.IsClosed() {
		errs = append(errs, fmt.Errorf("cluster: deleting results of run %s: %w", s.run, err))
	}
	return errors.Join(errs...)
}

// WorkerInfo is what a live worker publishes about itself in the
// PAR_WORKERS bucket, every WorkerTTL/3.
type WorkerInfo struct {
	ID          string    `json:"id"`
	Host        string    `json:"host"`
	PID         int       `json:"pid"`
	Queue       string    `json:"queue"`
	Cores       int       `json:"cores"`
	Slots       int       `json:"slots"`        // batches it runs at once
	Busy        int       `json:"busy"`         // batches running now
	RunningJobs int       `json:"running_jobs"` // jobs of the batches running now
	Jobs        int64     `json:"jobs"`         // jobs done, failed ones included
	Failed      int64     `json:"failed"`       // jobs that failed
	LastError   string    `json:"last_error"`   // the latest failure, for status
	Exec        bool      `json:"exec"`         // runs shell commands
	Started     time.Time `json:"started"`
	Seen        time.Time `json:"seen"`

	// Objects fetched from the object store (Ref.Get, large inputs), and
	// their bytes: each shared value once per worker while it stays in
	// the worker's cache.
	ObjectsFetched     int64 `json:"objects_fetched"`
	ObjectBytesFetched int64 `json:"object_bytes_fetched"`
}

func listWorkers(ctx context.Context, js jetstream.JetStream) ([]WorkerInfo, error) {
	kv, err := js.KeyValue(ctx, WorkersBucket)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("cluster: listing workers: %w", err)
	}
	var ws []WorkerInfo
	for k := range keys.Keys() {
		e, err := kv.Get(ctx, k)
		if err != nil {
			continue // gone since it was listed
		}
		var w WorkerInfo
		if json.Unmarshal(e.Value(), &w) == nil {
			ws = append(ws, w)
		}
	}
	return ws, nil
}

func seqOf(msg jetstream.Msg) uint64 {
	md, err := msg.Metadata()
	if err != nil {
		return 0
	}
	return md.Sequence.Stream
}
