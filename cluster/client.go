package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/par-project/par"
	"github.com/par-project/par/internal/wire"
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
}

// Connect connects a driver to the par cluster at url (a NATS URL such as
// "nats://127.0.0.1:4222") and creates what par needs there if it is
// missing (see Setup). A wrong or missing secret fails with an error
// wrapping ErrAuth.
func Connect(url string, opts ...Option) (*Client, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	nc, err := dial(url, "par driver", cfg)
	if err != nil {
		return nil, err
	}
	c := &Client{nc: nc, cfg: cfg}
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
	s := &session{
		c:       c,
		run:     nuid.Next(),
		timeout: spec.Timeout,
		pending: map[uint64]*pending{},
		max:     c.nc.MaxPayload(),
	}
	s.slots = c.cfg.slots
	if s.slots == 0 {
		live, _ := c.capacity(ctx)
		s.slots = min(max(2*live, 8), 1024)
	}
	s.jobsSubject = jobsPrefix + c.cfg.queue + "." + s.run
	s.resultsSubject = resultsPrefix + s.run
	cons, err := c.js.OrderedConsumer(ctx, ResultsStream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{s.resultsSubject},
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: consuming results: %w", err)
	}
	s.cc, err = cons.Consume(s.dispatch, jetstream.ConsumeErrHandler(func(jetstream.ConsumeContext, error) {}))
	if err != nil {
		return nil, fmt.Errorf("cluster: consuming results: %w", err)
	}
	return s, nil
}

// capacity returns the slots of the live workers of the client's queue.
func (c *Client) capacity(ctx context.Context) (int, error) {
	ws, err := c.Workers(ctx)
	n := 0
	for _, w := range ws {
		if w.Queue == c.cfg.queue {
			n += w.Slots
		}
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
	slots          int
	max            int64 // the server's max payload
	jobsSubject    string
	resultsSubject string
	cc             jetstream.ConsumeContext
	nextID         atomic.Uint64
	abandoned      atomic.Bool // a batch was given up on before its results came

	mu      sync.Mutex
	pending map[uint64]*pending
}

// pending is a part of a batch waiting for its results.
type pending struct {
	id   uint64
	b    *par.Batch
	pos  map[int64]int // job index → position in b
	left int
	done chan struct{}
}

func (s *session) Slots() int { return s.slots }

// BatchTarget asks for batches that run about 25 ms, so that many tiny
// jobs share one message.
func (s *session) BatchTarget() time.Duration { return 25 * time.Millisecond }

// Exec publishes b, split into parts that fit the server's max payload, on
// the run's jobs subject, and waits for every job's result. A job whose
// input alone is too large fails with ErrTooLarge. If ctx ends first, the
// batch's messages are withdrawn from the queue and Exec returns ctx's
// error.
func (s *session) Exec(ctx context.Context, b *par.Batch) error {
	n := b.Len()
	b.Outputs = make([][]byte, n)
	b.Errs = make([]error, n)
	limit := int(s.max) - 1024 // room for the envelope and headers
	var parts []*pending
	var seqs []uint64
	defer func() {
		s.mu.Lock()
		for _, p := range parts {
			if p.left > 0 {
				delete(s.pending, p.id)
			}
		}
		s.mu.Unlock()
	}()
	var cur *pending
	size := 0
	for k := range n {
		in := len(b.Inputs[k])
		if in+16 > limit {
			b.Errs[k] = fmt.Errorf("%w: input of %d bytes; the server takes messages up to %d bytes", ErrTooLarge, in, s.max)
			continue
		}
		if cur == nil || size+in+16 > limit {
			if cur != nil {
				parts = append(parts, cur)
			}
			cur = &pending{b: b, pos: map[int64]int{}, done: make(chan struct{})}
			size = 0
		}
		cur.pos[int64(b.Indexes[k])] = k
		cur.left++
		size += in + 16
	}
	if cur != nil {
		parts = append(parts, cur)
	}
	for _, p := range parts {
		seq, err := s.publish(ctx, b, p)
		if err != nil {
			s.withdraw(seqs)
			return err
		}
		seqs = append(seqs, seq)
	}
	for _, p := range parts {
		select {
		case <-p.done:
		case <-ctx.Done():
			s.withdraw(seqs)
			return ctx.Err()
		}
	}
	return nil
}

// publish registers p and sends it as one message, retrying while the
// server is unreachable; the message id makes the retries harmless.
func (s *session) publish(ctx context.Context, b *par.Batch, p *pending) (uint64, error) {
	id := s.nextID.Add(1)
	wb := wire.Batch{ID: id, Run: s.run, Task: b.Task, Attempt: max(1, b.Attempt), TimeoutNanos: s.timeout.Nanoseconds()}
	wb.Indexes = make([]int64, 0, len(p.pos))
	wb.Inputs = make([][]byte, 0, len(p.pos))
	for k := range b.Len() {
		if _, ok := p.pos[int64(b.Indexes[k])]; ok && b.Errs[k] == nil {
			wb.Indexes = append(wb.Indexes, int64(b.Indexes[k]))
			wb.Inputs = append(wb.Inputs, b.Inputs[k])
		}
	}
	contiguous := true
	for i := 1; i < len(wb.Indexes); i++ {
		if wb.Indexes[i] != wb.Indexes[i-1]+1 {
			contiguous = false
			break
		}
	}
	if contiguous {
		wb.First, wb.Indexes = wb.Indexes[0], nil
	}
	data, err := wire.Marshal(&wb)
	if err != nil {
		return 0, fmt.Errorf("cluster: encoding batch: %w", err)
	}
	if int64(len(data)) > s.max {
		return 0, fmt.Errorf("%w: batch of %d bytes; the server takes messages up to %d bytes", ErrTooLarge, len(data), s.max)
	}
	s.mu.Lock()
	p.id = id
	s.pending[id] = p
	s.mu.Unlock()
	msg := &nats.Msg{Subject: s.jobsSubject, Data: data}
	msgID := s.run + "." + strconv.FormatUint(id, 10)
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		ack, err := s.c.js.PublishMsg(ctx, msg, jetstream.WithMsgID(msgID))
		if err == nil {
			return ack.Sequence, nil
		}
		if err := publishErr(err); err != nil {
			return 0, err
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
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

// withdraw deletes the batch messages at seqs from the queue, best effort:
// a worker that already took one finishes it and its results are dropped.
func (s *session) withdraw(seqs []uint64) {
	s.abandoned.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, seq := range seqs {
		if err := s.c.jobs.DeleteMsg(ctx, seq); err != nil && ctx.Err() != nil {
			return
		}
	}
}

// dispatch hands a results message to the Exec waiting for it. The first
// result for each job wins; later ones (from a batch that ran twice) and
// results of batches nobody waits for are dropped.
func (s *session) dispatch(msg jetstream.Msg) {
	var rs wire.Results
	if err := wire.Unmarshal(msg.Data(), &rs); err != nil {
		s.c.cfg.log.Warn("par cluster: dropping undecodable results", "run", s.run, "err", err)
		return
	}
	if err := rs.Validate(); err != nil {
		s.c.cfg.log.Warn("par cluster: dropping invalid results", "run", s.run, "err", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pending[rs.Batch]
	if p == nil {
		return
	}
	for i := range rs.Results {
		r := &rs.Results[i]
		k, ok := p.pos[r.Index]
		if !ok {
			continue
		}
		delete(p.pos, r.Index)
		if r.Err != nil {
			p.b.Errs[k] = fromWire(r.Err, rs.Worker)
		} else {
			p.b.Outputs[k] = r.Output
		}
		p.left--
	}
	if p.left == 0 {
		delete(s.pending, rs.Batch)
		close(p.done)
	}
}

// Close stops consuming results, withdraws the run's jobs still queued
// when some batch was given up on (and tells workers to stop running the
// run's batches), and deletes the run's results from the server.
func (s *session) Close() error {
	s.cc.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
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
	ID        string    `json:"id"`
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	Queue     string    `json:"queue"`
	Cores     int       `json:"cores"`
	Slots     int       `json:"slots"`      // batches it runs at once
	Busy      int       `json:"busy"`       // batches running now
	Jobs      int64     `json:"jobs"`       // jobs done, failed ones included
	Failed    int64     `json:"failed"`     // jobs that failed
	LastError string    `json:"last_error"` // the latest failure, for status
	Exec      bool      `json:"exec"`       // runs shell commands
	Started   time.Time `json:"started"`
	Seen      time.Time `json:"seen"`
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
