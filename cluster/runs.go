package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/par-project/par"
	"github.com/par-project/par/internal/wire"
)

// Durable runs. A run started with Client.Run keeps its results in
// PAR_RESULTS under its name, and its record in the PAR_RUNS bucket. Its
// batches carry HeaderDurable, and their stored results HeaderDigests:
// one digest of (task, input) per result, in order, so that a driver that
// runs the same name again knows which jobs are done whatever order it
// submits them in.
const (
	RunsBucket    = "PAR_RUNS"    // key-value bucket of durable runs, by name
	HeaderDurable = "Par-Durable" // on batches of a durable run: "1"
	HeaderDigests = "Par-Digests" // on stored results of a durable run: digests, comma-separated
	digestLen     = 16            // characters of one digest
	recordEvery   = time.Second   // how often a driver updates its run's record
	// leaseFor is how long a driver holds its run after it last wrote the
	// record: another driver of the name waits that long for a silent
	// one, and takes the run over after it.
	leaseFor       = 5 * recordEvery
	defaultKeepFor = 24 * time.Hour
)

// RunInfo is the record of a durable run in the PAR_RUNS bucket, as par
// status lists it.
type RunInfo struct {
	Name    string    `json:"name"`
	Queue   string    `json:"queue"`
	Task    string    `json:"task,omitempty"`
	Host    string    `json:"host,omitempty"`   // the driver's
	Driver  string    `json:"driver,omitempty"` // the session that holds it while running
	State   string    `json:"state"`            // running, interrupted (its driver went silent), stopped or finished
	Done    int64     `json:"done"`             // jobs with a stored result
	Failed  int64     `json:"failed"`           // jobs whose last result is an error
	Pending int64     `json:"pending"`          // jobs submitted and not answered, when the driver last wrote
	Dead    int64     `json:"dead"`             // dead letters (see DeadLetters)
	Started time.Time `json:"started"`
	Updated time.Time `json:"updated"`
	Expires time.Time `json:"expires,omitzero"` // when a finished run's data is deleted
}

// Run returns c as a par.Backend whose runs are the durable run name:
// their jobs and results are kept in JetStream, so that a driver that
// crashed, or was stopped, and runs again with the same name gets the
// finished results back at once and runs only the jobs that had none.
//
//	out, err := par.Map(ctx, inputs, task.Func(), par.On(c.Run("nightly-2026-11-25")))
//
// A job counts as finished when a result for the same task and the same
// encoded input is stored: the order of the inputs may change, and a
// failed job runs again. Jobs that were running when the driver died may
// run twice (at-least-once, as always). One driver at a time runs a
// name: a driver that starts a run another live driver holds fails with
// ErrRunInUse, and one that finds its holder silent waits until the
// holder's lease ends (5 s after its last sign of life) and takes it
// over. Once a run finishes, its results are kept for KeepFinished (24h
// by default) and then deleted; an unfinished run's for
// Settings.ResultsMaxAge. Names are one NATS subject token: no dots,
// spaces, '*' or '>'.
func (c *Client) Run(name string) par.Backend {
	return durableBackend{c: c, name: name}
}

type durableBackend struct {
	c    *Client
	name string
}

func (d durableBackend) Start(ctx context.Context, spec par.Spec) (par.Session, error) {
	if err := checkName("run", d.name); err != nil {
		return nil, err
	}
	return d.c.start(ctx, spec, runLabel{name: d.name, total: -1, durable: true})
}

// KeepFinished sets how long a finished durable run's results and record
// are kept, 24h by default. Driver side only.
func KeepFinished(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return invalid("KeepFinished must be positive, got %v", d)
		}
		c.keepFinished = d
		return nil
	}
}

// durable is the state of a durable run's session.
type durable struct {
	kv   jetstream.KeyValue
	keep time.Duration
	next uint64 // first results sequence the session has not read

	mu      sync.Mutex
	done    map[string][]byte // digest → output of the jobs with a result
	failed  map[string]bool   // digests whose last result is an error
	info    RunInfo
	written RunInfo
	rev     uint64 // the record's revision this driver last wrote
}

// digest names a job of task with input in a durable run.
func digest(task string, input []byte) string {
	h := sha256.New()
	h.Write([]byte(task))
	h.Write([]byte{0})
	h.Write(input)
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))[:digestLen]
}

// resume loads what the durable run s.run has stored: its record and its
// results. Batches its earlier driver left queued are withdrawn: they run
// again as this driver submits them, unless their results came.
func (s *session) resume(ctx context.Context) error {
	c := s.c
	kv, err := runsKV(ctx, c.js, true)
	if err != nil {
		return err
	}
	d := &durable{kv: kv, keep: c.cfg.keepFinished, done: map[string][]byte{}, failed: map[string]bool{}}
	if d.keep == 0 {
		d.keep = defaultKeepFor
	}
	now := time.Now()
	d.info = RunInfo{Name: s.run, Queue: c.cfg.queue, Host: s.host, State: "running", Started: now, Updated: now,
		Driver: fmt.Sprintf("%s.%d.%s", s.host, os.Getpid(), nuid.Next())}
	if err := d.claim(ctx); err != nil {
		return err
	}
	if err := c.jobs.Purge(ctx, jetstream.WithPurgeSubject(s.jobsSubject)); err != nil {
		return fmt.Errorf("cluster: withdrawing run %s's queued batches: %w", s.run, err)
	}
	if err := d.load(ctx, c, s.resultsSubject); err != nil {
		return err
	}
	d.info.Done, d.info.Failed = int64(len(d.done)), int64(len(d.failed))
	s.durable = d
	d.write(ctx, s)
	s.bg.Go(func() {
		t := time.NewTicker(recordEvery)
		defer t.Stop()
		for {
			select {
			case <-s.ctx.Done():
				return
			case <-t.C:
				d.write(s.ctx, s)
			}
		}
	})
	return nil
}

// load reads the run's stored results, up to the last one stored now.
func (d *durable) load(ctx context.Context, c *Client, subject string) error {
	last, err := c.results.GetLastMsgForSubject(ctx, subject)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cluster: reading stored results: %w", err)
	}
	d.next = last.Sequence + 1
	cons, err := c.js.OrderedConsumer(ctx, ResultsStream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		return fmt.Errorf("cluster: reading stored results: %w", err)
	}
	for read := false; !read; {
		batch, err := cons.FetchNoWait(1000)
		if err != nil {
			return fmt.Errorf("cluster: reading stored results: %w", err)
		}
		n := 0
		for msg := range batch.Messages() { // read to the end, so the fetch ends
			n++
			if !read {
				d.add(msg.Data(), msg.Headers())
				read = seqOf(msg) >= last.Sequence
			}
		}
		read = read || n == 0 // the rest expired meanwhile
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, jetstream.ErrNoMessages) {
			return fmt.Errorf("cluster: reading stored results: %w", err)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("cluster: reading stored results: %w", ctx.Err())
		}
	}
	return nil
}

// add takes in a stored results message; messages without digests, or
// that do not decode, are skipped (their jobs run again).
func (d *durable) add(data []byte, h nats.Header) {
	digests := strings.Split(h.Get(HeaderDigests), ",")
	var rs wire.Results
	if wire.Unmarshal(data, &rs) != nil || rs.Validate() != nil || len(digests) != rs.Len() {
		return
	}
	outs, err := wire.SplitArray(rs.Outputs)
	if err != nil {
		return
	}
	for i, out := range outs {
		if len(digests[i]) != digestLen {
			continue
		}
		d.note(digests[i], out, rs.Err(i) == nil)
	}
}

// note records a job's result.
func (d *durable) note(dg string, out []byte, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case ok:
		d.done[dg] = out
		delete(d.failed, dg)
	case d.done[dg] == nil:
		d.failed[dg] = true
	}
}

// reuse fills outs with the stored results of b's jobs, and returns each
// job's digest (nil for a session that is not durable).
func (s *session) reuse(task string, ins, outs [][]byte) []string {
	d := s.durable
	if d == nil {
		return nil
	}
	digests := make([]string, len(ins))
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, in := range ins {
		digests[k] = digest(task, in)
		if out, ok := d.done[digests[k]]; ok {
			outs[k] = out
		}
	}
	if d.info.Task == "" {
		d.info.Task = task
	}
	return digests
}

// write stores the run's record when it changed.
func (d *durable) write(ctx context.Context, s *session) {
	s.mu.Lock()
	pending := 0
	for _, p := range s.pending {
		pending += p.left
	}
	s.mu.Unlock()
	d.mu.Lock()
	d.info.Done, d.info.Failed, d.info.Pending = int64(len(d.done)), int64(len(d.failed)), int64(pending)
	info := d.info
	changed := info != d.written
	d.mu.Unlock()
	if s.failure() != nil || !changed && info.State != "running" {
		return
	}
	// A running driver writes every recordEvery, changed or not: that is
	// its lease on the run (see claim).
	info.Updated = time.Now()
	data, _ := json.Marshal(info)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	rev, err := d.kv.Update(ctx, info.Name, data, d.rev)
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyNotFound) {
		// Another driver took the run over after this one fell silent
		// (or the run was deleted): this one's batches are not its own
		// any more.
		s.fail(fmt.Errorf("%w: run %s was taken over by another driver, which a driver does after the holder wrote nothing for %v, or deleted", ErrRunInUse, info.Name, leaseFor))
		return
	}
	if err != nil {
		s.c.cfg.log.Warn("par cluster: run record not stored", "run", info.Name, "err", err)
		return
	}
	d.mu.Lock()
	d.rev, d.info.Updated, d.written = rev, info.Updated, info
	d.mu.Unlock()
}

// claim makes this driver the holder of its run: it writes the run's
// record if there is none, or if the one there is of a run that ended or
// whose driver has written nothing for leaseFor, waiting for that; while
// another driver keeps writing, it fails with ErrRunInUse. The record is
// written only over the revision read, so of two drivers claiming at once
// one fails.
func (d *durable) claim(ctx context.Context) error {
	name := d.info.Name
	for {
		e, err := d.kv.Get(ctx, name)
		var rev uint64
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return fmt.Errorf("cluster: reading run %s's record: %w", name, err)
		default:
			rev = e.Revision()
			old, _ := decodeRun(name, e.Value())
			if old.State == "running" && old.Driver != "" {
				if wait := leaseFor - time.Since(old.Updated); wait > 0 {
					if err := d.outwait(ctx, e, wait); err != nil {
						return err
					}
					continue // silent for leaseFor: read it again and take it
				}
			}
			d.info.Started = old.Started
		}
		data, _ := json.Marshal(d.info)
		if rev == 0 {
			rev, err = d.kv.Create(ctx, name, data)
		} else {
			rev, err = d.kv.Update(ctx, name, data, rev)
		}
		if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return fmt.Errorf("%w: run %s was claimed by another driver at the same moment", ErrRunInUse, name)
		}
		if err != nil {
			return fmt.Errorf("cluster: writing run %s's record: %w", name, err)
		}
		d.rev, d.written = rev, d.info
		return nil
	}
}

// outwait waits up to wait for the record e of a running run to change:
// a change means its driver is alive, and ErrRunInUse.
func (d *durable) outwait(ctx context.Context, e jetstream.KeyValueEntry, wait time.Duration) error {
	w, err := d.kv.Watch(ctx, e.Key(), jetstream.UpdatesOnly())
	if err != nil {
		return fmt.Errorf("cluster: watching run %s's record: %w", e.Key(), err)
	}
	defer func() { _ = w.Stop() }()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			return nil
		case u := <-w.Updates():
			if u == nil || u.Revision() <= e.Revision() {
				continue
			}
			r, _ := decodeRun(e.Key(), u.Value())
			if u.Operation() != jetstream.KeyValuePut || r.State != "running" {
				return nil // it ended meanwhile
			}
			return fmt.Errorf("%w: run %s is being run by a driver on %s (started %s); a driver that stops writing its record lets go of the run after %v",
				ErrRunInUse, e.Key(), r.Host, r.Started.Format(time.RFC3339), leaseFor)
		}
	}
}

// withDead fills each run's Dead with the jobs of its dead letters.
func (c *Client) withDead(ctx context.Context, runs []RunInfo) ([]RunInfo, error) {
	dead, err := c.DeadLetters(ctx, "")
	if err != nil {
		return nil, err
	}
	for i := range runs {
		runs[i].Dead = 0
		for _, d := range dead {
			if d.Run == runs[i].Name {
				runs[i].Dead += int64(d.Jobs)
			}
		}
	}
	return runs, nil
}

// finish writes the run's last record when its session closes: finished,
// to expire after KeepFinished, when nothing was given up on.
func (d *durable) finish(ctx context.Context, s *session) {
	d.mu.Lock()
	if s.abandoned.Load() {
		d.info.State = "stopped"
	} else {
		d.info.State, d.info.Expires = "finished", time.Now().Add(d.keep)
	}
	d.mu.Unlock()
	d.write(ctx, s)
}

// runsKV opens the bucket of durable runs, creating it if asked.
func runsKV(ctx context.Context, js jetstream.JetStream, create bool) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, RunsBucket)
	if err == nil || !create || !errors.Is(err, jetstream.ErrBucketNotFound) {
		if err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
			err = fmt.Errorf("cluster: bucket %s: %w", RunsBucket, err)
		}
		return kv, err
	}
	kv, err = createKV(ctx, js, jetstream.KeyValueConfig{
		Bucket:      RunsBucket,
		Description: "par: durable runs",
		Storage:     jetstream.FileStorage,
		Replicas:    autoReplicas(js.Conn()),
	})
	if err != nil && (errors.Is(err, jetstream.ErrBucketExists) || isAlreadyInUse(err)) {
		kv, err = js.KeyValue(ctx, RunsBucket)
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: creating bucket %s: %w", RunsBucket, err)
	}
	return kv, nil
}

// Runs lists the durable runs, newest first, after deleting those that
// finished more than KeepFinished ago. A run whose driver has not written
// its record for a while is "interrupted": run it again to resume it.
func (c *Client) Runs(ctx context.Context) ([]RunInfo, error) {
	kv, err := runsKV(ctx, c.js, false)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("cluster: listing runs: %w", err)
	}
	var runs []RunInfo
	for k := range keys.Keys() {
		e, err := kv.Get(ctx, k)
		if err != nil {
			continue // gone since it was listed
		}
		r, ok := decodeRun(k, e.Value())
		if !ok {
			continue
		}
		if !r.Expires.IsZero() && time.Now().After(r.Expires) {
			if err := c.deleteRun(ctx, kv, r.Name); err != nil {
				return nil, err
			}
			continue
		}
		if r.State == "running" && time.Since(r.Updated) > leaseFor {
			r.State = "interrupted"
		}
		runs = append(runs, r)
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].Started.After(runs[j].Started) })
	return c.withDead(ctx, runs)
}

// decodeRun decodes the record of run key, a value of the PAR_RUNS
// bucket, or reports false for one that does not decode or names another
// run: Runs deletes what a record names, so a record written by anyone
// else must not name, say, ">" (every run's results).
func decodeRun(key string, data []byte) (RunInfo, bool) {
	var r RunInfo
	if json.Unmarshal(data, &r) != nil || r.Name != key || checkName("run", r.Name) != nil {
		return RunInfo{}, false
	}
	return r, true
}

// deleteRun deletes a durable run's results, dead letters and record.
func (c *Client) deleteRun(ctx context.Context, kv jetstream.KeyValue, name string) error {
	if err := c.results.Purge(ctx, jetstream.WithPurgeSubject(resultsPrefix+name)); err != nil {
		return fmt.Errorf("cluster: deleting run %s: %w", name, err)
	}
	if err := c.purgeDead(ctx, name); err != nil {
		return err
	}
	if err := kv.Purge(ctx, name); err != nil {
		return fmt.Errorf("cluster: deleting run %s: %w", name, err)
	}
	return nil
}

// resultsConsumer is the configuration of the consumer of a session's
// results: from its start, or, for a durable run, after what resume read.
func (s *session) resultsConsumer() jetstream.OrderedConsumerConfig {
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{s.resultsSubject}}
	if s.durable != nil && s.durable.next > 0 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, s.durable.next
	}
	return cfg
}
