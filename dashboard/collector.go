package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// A Collector is the Source of a par cluster reached through a NATS
// connection: it follows batches, results and workers as they are
// published (see the package doc), and polls the streams every second.
// It only reads. Close it when done; the connection stays the caller's.
type Collector struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	t       *tracker
	subs    []*nats.Subscription
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	every   time.Duration
	behind  atomic.Bool // its buffer was full: messages may have been dropped
	closing sync.Once
}

// Watch starts a Collector on nc. It fails only when nc cannot subscribe;
// streams and buckets missing now (par not set up yet on that server) are
// looked for again every second, and reported in Snapshot.Problems until
// found.
func Watch(nc *nats.Conn) (*Collector, error) {
	return watch(nc, time.Second)
}

func watch(nc *nats.Conn, every time.Duration) (*Collector, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	c := &Collector{nc: nc, js: js, t: newTracker(time.Now()), every: every}
	// The subjects feed one channel, so that a batch is always counted
	// before its results: the server sends them to this connection in the
	// order they happened, and separate handlers would lose that order.
	msgs := make(chan *nats.Msg, msgBuffer)
	for _, subject := range []string{jobsPrefix + ">", resultsPrefix + ">", endedPrefix + "*"} {
		sub, err := nc.ChanSubscribe(subject, msgs)
		if err != nil {
			c.unsubscribe()
			return nil, fmt.Errorf("dashboard: subscribing to %s: %w", subject, err)
		}
		c.subs = append(c.subs, sub)
	}
	// Make sure the server has the subscriptions before anything is
	// counted, so that a run started after Watch returns is seen whole.
	if err := nc.Flush(); err != nil {
		c.unsubscribe()
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.wg.Go(func() { c.consume(ctx, msgs) })
	c.wg.Go(func() { c.poll(ctx) })
	c.wg.Go(func() { c.watchWorkers(ctx) })
	return c, nil
}

// Snapshot returns the cluster's state as last seen. It does not touch the
// network.
func (c *Collector) Snapshot(context.Context) (*Snapshot, error) {
	s := c.t.snapshot(time.Now())
	if c.behind.Load() {
		s.Problems = append(s.Problems, fmt.Sprintf("the dashboard fell %d messages behind and may have missed some: its counts may be short", msgBuffer))
	}
	return s, nil
}

// Close stops the Collector and waits until its goroutines have ended.
func (c *Collector) Close() error {
	c.closing.Do(func() {
		c.unsubscribe()
		c.cancel()
		c.wg.Wait()
	})
	return nil
}

func (c *Collector) unsubscribe() {
	for _, sub := range c.subs {
		_ = sub.Unsubscribe()
	}
}

// msgBuffer is how many messages may wait for the Collector; past it the
// connection drops them.
const msgBuffer = 1 << 16

// consume counts the messages of both subscriptions, in order.
func (c *Collector) consume(ctx context.Context, msgs <-chan *nats.Msg) {
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-msgs:
			if len(msgs) >= cap(msgs)-1 {
				c.behind.Store(true)
			}
			switch {
			case strings.HasPrefix(m.Subject, jobsPrefix):
				c.t.batch(m.Subject, m.Header, m.Data, time.Now())
			case strings.HasPrefix(m.Subject, endedPrefix):
				c.t.ended(m.Subject, m.Data, time.Now())
			default:
				c.t.results(m.Subject, m.Header, m.Data, time.Now())
			}
		}
	}
}

// poll reads the queues and the batches per run every c.every.
func (c *Collector) poll(ctx context.Context) {
	t := time.NewTicker(c.every)
	defer t.Stop()
	for {
		c.pollOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (c *Collector) pollOnce(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, max(c.every, time.Second))
	defer cancel()
	var queues []Queue
	var queued map[string]uint64
	st, err := c.js.Stream(ctx, jobsStream)
	if err == nil {
		var info *jetstream.StreamInfo
		if info, err = st.Info(ctx, jetstream.WithSubjectFilter(jobsPrefix+">")); err == nil {
			queued = map[string]uint64{}
			for subject, n := range info.State.Subjects {
				if _, run, ok := splitJobs(subject); ok {
					queued[run] += n
				}
			}
		}
	}
	if err == nil {
		queues = []Queue{}
		infos := st.ListConsumers(ctx)
		for ci := range infos.Info() {
			name, ok := strings.CutPrefix(ci.Name, "par-")
			if !ok {
				continue
			}
			queues = append(queues, Queue{Name: name, Pending: ci.NumPending, InFlight: ci.NumAckPending,
				Redelivered: ci.NumRedelivered, Waiting: ci.NumWaiting})
		}
		if e := infos.Err(); e != nil && !errors.Is(e, jetstream.ErrEndOfData) {
			err = e
		}
	}
	if ctx.Err() != nil && err != nil && errors.Is(err, context.Canceled) {
		return // closing
	}
	c.t.problem("stream "+jobsStream, errText(err))
	c.t.polled(queues, queued, 0, time.Now())
}

// watchWorkers follows the workers bucket, opening it again whenever its
// watcher ends (the bucket missing, the server restarting).
func (c *Collector) watchWorkers(ctx context.Context) {
	for ctx.Err() == nil {
		err := c.watchWorkersOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		c.t.problem("bucket "+workersBucket, errText(err))
		select {
		case <-ctx.Done():
			return
		case <-time.After(c.every):
		}
	}
}

func (c *Collector) watchWorkersOnce(ctx context.Context) error {
	kv, err := c.js.KeyValue(ctx, workersBucket)
	if err != nil {
		return err
	}
	if st, err := kv.Status(ctx); err == nil {
		c.t.polled(nil, nil, st.TTL(), time.Now())
	}
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = w.Stop() }()
	c.t.problem("bucket "+workersBucket, "")
	for e := range w.Updates() {
		if e == nil {
			continue // the current values are all in
		}
		if e.Operation() != jetstream.KeyValuePut {
			c.t.setWorker(e.Key(), nil, time.Time{})
			continue
		}
		var rec Worker
		if json.Unmarshal(e.Value(), &rec) != nil {
			continue
		}
		c.t.setWorker(e.Key(), &rec, e.Created())
	}
	if ctx.Err() == nil {
		return errors.New("watch ended")
	}
	return nil
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
