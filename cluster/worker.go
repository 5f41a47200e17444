package cluster

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/par-project/par"
	"github.com/par-project/par/internal/remote"
	"github.com/par-project/par/internal/wire"
)

// Serve makes this process a worker of the par cluster at url (one NATS
// URL or several, comma-separated, as for Connect) until ctx
// ends: it pulls batches from its queue, runs their registered tasks on
// local goroutines, Jobs(n) batches at once, and publishes the results. A
// user's program serves its own tasks with it, because Go funcs cannot
// travel: run the same binary as the driver, with a flag or environment
// variable that makes it call Serve instead of driving.
//
// A worker pulls only as many batches as it has free slots, so none waits
// in it while another worker is idle. While a batch runs it tells the
// server every AckWait/3 that it is still at work; it acknowledges a batch
// only after its results are stored on the server. A worker that dies
// loses nothing: after AckWait its batch goes to another worker.
//
// When ctx ends the worker stops pulling, waits up to StopTimeout for its
// running batches, hands the others back to the queue, and returns nil.
// Serve returns an error when it cannot connect or set up; after that it
// rides out server restarts and network trouble until ctx ends.
func Serve(ctx context.Context, url string, opts ...Option) error {
	cfg, err := newConfig(opts)
	if err != nil {
		return err
	}
	w, err := newWorker(ctx, url, cfg)
	if err != nil {
		return err
	}
	return w.serve(ctx)
}

type worker struct {
	cfg     *config
	nc      *nats.Conn
	js      jetstream.JetStream
	cons    jetstream.Consumer
	kv      jetstream.KeyValue
	info    WorkerInfo
	ackWait time.Duration
	maxDel  int
	maxOut  int // largest results message
	objects *objectCache

	busy   atomic.Int64
	inJobs atomic.Int64 // jobs of the running batches
	jobs   atomic.Int64
	failed atomic.Int64

	mu        sync.Mutex
	lastError string
	running   map[*running]struct{}
	cancelled map[string]time.Time // runs whose driver gave up, when heard
}

// running is a batch being run.
type running struct {
	msg    jetstream.Msg
	run    string
	cancel context.CancelFunc
}

func newWorker(ctx context.Context, url string, cfg *config) (*worker, error) {
	host, _ := os.Hostname()
	slots := cfg.jobs
	cpus := runtime.GOMAXPROCS(0)
	switch {
	case slots == 0:
		slots = cpus
	case slots < 0:
		slots = max(1, cpus+1+slots)
	}
	id := cfg.name
	if id == "" {
		id = strings.ReplaceAll(host, ".", "_") + "-" + strconv.Itoa(os.Getpid()) + "-" + nuid.Next()[16:]
	}
	nc, err := dial(url, "par worker "+id, cfg)
	if err != nil {
		return nil, err
	}
	w := &worker{
		cfg: cfg, nc: nc,
		running:   map[*running]struct{}{},
		cancelled: map[string]time.Time{},
		maxOut:    int(nc.MaxPayload()) - 1024,
		info: WorkerInfo{
			ID: id, Host: host, PID: os.Getpid(), Queue: cfg.queue, Cores: runtime.NumCPU(),
			Slots: slots, Exec: cfg.allowExec, Started: time.Now(),
		},
	}
	if err := w.init(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	return w, nil
}

func (w *worker) init(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	js, err := jetstream.New(w.nc)
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	if err := Setup(ctx, js, w.cfg.queue, w.cfg.settings); err != nil {
		return err
	}
	w.js = js
	if w.cons, err = js.Consumer(ctx, JobsStream, consumerName(w.cfg.queue)); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	cc := w.cons.CachedInfo().Config
	w.ackWait, w.maxDel = cc.AckWait, cc.MaxDeliver
	if w.kv, err = js.KeyValue(ctx, WorkersBucket); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	w.objects = newObjectCache(js, cmp.Or(w.cfg.objectCache, DefaultObjectCache))
	return nil
}

func (w *worker) serve(ctx context.Context) error {
	defer w.nc.Close()
	// Batches run under runCtx, which outlives ctx by StopTimeout.
	runCtx, stopRuns := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRuns()
	stopTimer := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(w.cfg.stopTimeout, stopRuns)
		context.AfterFunc(runCtx, func() { t.Stop() })
	})
	defer stopTimer()

	sub, err := w.nc.Subscribe(cancelPrefix+"*", func(m *nats.Msg) {
		w.cancelRun(strings.TrimPrefix(m.Subject, cancelPrefix))
	})
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	defer func() { _ = sub.Unsubscribe() }()

	// Listed before the first pull, so that a driver that got results from
	// this worker finds it in the workers bucket.
	w.register(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	hbDone := make(chan struct{})
	wg.Go(func() { w.heartbeat(ctx, hbDone) })
	var slots sync.WaitGroup
	for range w.info.Slots {
		slots.Go(func() { w.slot(ctx, runCtx) })
	}
	slots.Wait()
	close(hbDone)
	wg.Wait()
	dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = w.kv.Delete(dctx, w.info.ID)
	return nil
}

// pullWait bounds one pull request, and so how long a stopping worker
// waits for the pulls it has out.
const pullWait = time.Second

// slot pulls and runs one batch at a time until ctx ends.
func (w *worker) slot(ctx, runCtx context.Context) {
	for wait := 10 * time.Millisecond; ctx.Err() == nil; {
		msg, err := w.cons.Next(jetstream.FetchMaxWait(pullWait))
		if err != nil {
			if errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
				wait = 10 * time.Millisecond
				continue
			}
			if w.nc.IsClosed() {
				return
			}
			// The server is restarting or unreachable: try again soon.
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
			wait = min(2*wait, time.Second)
			continue
		}
		wait = 10 * time.Millisecond
		if ctx.Err() != nil {
			_ = msg.Nak() // pulled while stopping: hand it straight back
			return
		}
		w.handle(runCtx, msg)
	}
}

// handle runs the batch in msg and answers it.
func (w *worker) handle(ctx context.Context, msg jetstream.Msg) {
	var b wire.Batch
	if err := wire.Unmarshal(msg.Data(), &b); err != nil {
		w.cfg.log.Error("par worker: dropping a batch that does not decode", "subject", msg.Subject(), "err", err)
		_ = msg.TermWithReason("undecodable batch")
		return
	}
	if err := b.Validate(); err != nil {
		w.cfg.log.Error("par worker: dropping an invalid batch", "subject", msg.Subject(), "err", err)
		_ = msg.TermWithReason("invalid batch")
		return
	}
	if w.isCancelled(b.Run) {
		_ = msg.TermWithReason("run cancelled")
		return
	}
	md, err := msg.Metadata()
	if err != nil {
		_ = msg.TermWithReason("no metadata")
		return
	}
	var rs wire.Results
	switch {
	case w.maxDel > 0 && int(md.NumDelivered) >= w.maxDel:
		reason := fmt.Sprintf("batch %d was handed out %d times (MaxDeliver) and its worker was lost or stopped each time (a worker is declared lost %v after its last heartbeat)", b.ID, md.NumDelivered, w.ackWait)
		rs = failAll(&b, &wire.Error{Kind: wire.KindLost, Msg: reason, Retryable: true})
		if err := w.keepDead(ctx, msg, &b, w.cfg.queue, md.Sequence.Stream, reason); err != nil {
			w.cfg.log.Warn("par worker: dead letter not stored", "run", b.Run, "batch", b.ID, "err", err)
		}
	case b.Task == ExecTask && !w.cfg.allowExec:
		rs = failAll(&b, &wire.Error{Kind: kindExec, Msg: ErrExecNotAllowed.Error() + " (worker " + w.info.ID + ")"})
	default:
		var ok bool
		if rs, ok = w.run(ctx, msg, &b); !ok {
			_ = msg.Nak() // stopped before it finished: another worker takes it
			return
		}
	}
	rs.Worker = w.info.ID
	var digests map[int64]string // a durable run's job digests (see Client.Run)
	if msg.Headers().Get(HeaderDurable) != "" {
		digests = make(map[int64]string, b.Len())
		for k, in := range b.Inputs {
			digests[b.Index(k)] = digest(b.Task, in)
		}
	}
	if err := w.answer(ctx, b.Run, &rs, md.Sequence.Stream, md.NumDelivered, digests); err != nil {
		w.cfg.log.Warn("par worker: results not stored; the batch will run again", "run", b.Run, "batch", b.ID, "err", err)
		_ = msg.Nak()
		return
	}
	actx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := msg.DoubleAck(actx); err != nil {
		// The results are stored; a second run is dropped by the driver.
		w.cfg.log.Warn("par worker: ack failed", "run", b.Run, "batch", b.ID, "err", err)
	}
}

// run runs b's jobs with heartbeats, and reports false if the worker was
// stopped before they finished.
func (w *worker) run(ctx context.Context, msg jetstream.Msg, b *wire.Batch) (wire.Results, bool) {
	bctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := &running{msg: msg, run: b.Run, cancel: cancel}
	w.mu.Lock()
	w.running[r] = struct{}{}
	w.mu.Unlock()
	w.busy.Add(1)
	w.inJobs.Add(int64(b.Len()))
	defer func() {
		w.busy.Add(-1)
		w.inJobs.Add(-int64(b.Len()))
		w.mu.Lock()
		delete(w.running, r)
		w.mu.Unlock()
	}()
	t0 := time.Now()
	inErrs := w.loadBigInputs(bctx, b.Inputs)
	jctx := context.WithValue(context.WithValue(bctx, workerKey{}, w.info.ID), objectsKey{}, w.objects)
	outs, errs := par.ExecTasks(jctx, b.Task, b.Inputs, time.Duration(b.TimeoutNanos), nil)
	for k, err := range inErrs {
		if err != nil {
			errs[k] = err
		}
	}
	if ctx.Err() != nil {
		return wire.Results{}, false
	}
	per := time.Since(t0).Nanoseconds() / int64(b.Len())
	rs := wire.Results{Batch: b.ID, Results: make([]wire.Result, b.Len())}
	var failed int64
	for k := range b.Len() {
		r := &rs.Results[k]
		r.Index, r.Nanos = b.Index(k), per
		switch {
		case errs[k] != nil:
			r.Err = remote.ToWire(errs[k])
		case len(outs[k]) > w.maxOut:
			r.Output, r.Err = w.bigResult(ctx, outs[k])
		default:
			r.Output = outs[k]
		}
		if r.Err != nil {
			failed++
			w.noteFailure(r.Err)
		}
	}
	w.jobs.Add(int64(b.Len()))
	w.failed.Add(failed)
	return rs, true
}

func failAll(b *wire.Batch, e *wire.Error) wire.Results {
	rs := wire.Results{Batch: b.ID, Results: make([]wire.Result, b.Len())}
	for k := range rs.Results {
		rs.Results[k] = wire.Result{Index: b.Index(k), Err: e}
	}
	return rs
}

// answer publishes rs on the run's results subject, in messages that fit
// the server's max payload, and waits until the server has stored each.
// The message id names the job message (a batch resent by its driver is a
// new message) and its delivery, so only a retried publish is deduplicated.
// The stored results of a durable run carry their jobs' digests.
func (w *worker) answer(ctx context.Context, run string, rs *wire.Results, seq, delivery uint64, digests map[int64]string) error {
	subject := resultsPrefix + run
	extra := 0
	if digests != nil {
		extra = digestLen + 1
	}
	for part, chunk := range chunks(rs, w.maxOut, extra) {
		data, err := wire.Marshal(chunk)
		if err != nil {
			return err
		}
		msgID := fmt.Sprintf("%s.%d.%d.%d.%d", run, rs.Batch, seq, delivery, part)
		// Straight to the driver first: it need not wait until the results
		// are on disk. The stored copy is what counts when this one is
		// lost, and the driver keeps the first result of each job.
		_ = w.nc.Publish(livePrefix+run, data)
		msg := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
		msg.Header.Set(HeaderDelivery, strconv.FormatUint(delivery, 10))
		if digests != nil {
			ds := make([]string, len(chunk.Results))
			for i, r := range chunk.Results {
				ds[i] = digests[r.Index]
			}
			msg.Header.Set(HeaderDigests, strings.Join(ds, ","))
		}
		if _, err := publish(ctx, w.js, msg, msgID, w.cfg.log); err != nil {
			return err
		}
	}
	return nil
}

// chunks splits rs into messages of about limit bytes at most, counting
// extra bytes of headers per result.
func chunks(rs *wire.Results, limit, extra int) func(func(int, *wire.Results) bool) {
	return func(yield func(int, *wire.Results) bool) {
		part, start, size := 0, 0, 64
		for k := range rs.Results {
			r := &rs.Results[k]
			n := len(r.Output) + 32 + extra
			if r.Err != nil {
				n += len(r.Err.Msg) + len(r.Err.Stack) + len(r.Err.Kind)
			}
			if k > start && size+n > limit {
				if !yield(part, &wire.Results{Batch: rs.Batch, Worker: rs.Worker, Results: rs.Results[start:k]}) {
					return
				}
				part, start, size = part+1, k, 64
			}
			size += n
		}
		yield(part, &wire.Results{Batch: rs.Batch, Worker: rs.Worker, Results: rs.Results[start:]})
	}
}

// heartbeat tells the server every AckWait/3 that running batches are
// still at work, and refreshes the worker's entry in the workers bucket.
func (w *worker) heartbeat(ctx context.Context, done <-chan struct{}) {
	every := w.ackWait / 3
	ttl := w.kvTTL(ctx)
	if ttl > 0 {
		every = min(every, ttl/3)
	}
	every = max(every, 10*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		w.mu.Lock()
		for r := range w.running {
			_ = r.msg.InProgress()
		}
		for run, at := range w.cancelled {
			if time.Since(at) > time.Hour {
				delete(w.cancelled, run)
			}
		}
		w.mu.Unlock()
		if ctx.Err() == nil {
			w.register(ctx)
		}
	}
}

func (w *worker) kvTTL(ctx context.Context) time.Duration {
	st, err := w.kv.Status(ctx)
	if err != nil {
		return 0
	}
	return st.TTL()
}

// register writes the worker's entry in the workers bucket.
func (w *worker) register(ctx context.Context) {
	info := w.info
	info.Busy = int(w.busy.Load())
	info.RunningJobs = int(w.inJobs.Load())
	info.Jobs = w.jobs.Load()
	info.Failed = w.failed.Load()
	info.ObjectsFetched = w.objects.fetched.Load()
	info.ObjectBytesFetched = w.objects.fetchedBytes.Load()
	w.mu.Lock()
	info.LastError = w.lastError
	w.mu.Unlock()
	info.Seen = time.Now()
	data, _ := json.Marshal(info)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := w.kv.Put(ctx, info.ID, data); err != nil && ctx.Err() == nil {
		w.cfg.log.Warn("par worker: heartbeat not stored", "err", err)
	}
}

func (w *worker) noteFailure(e *wire.Error) {
	msg := e.Error()
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	w.mu.Lock()
	w.lastError = msg
	w.mu.Unlock()
}

// cancelRun records that run's driver gave up, and stops its batches.
func (w *worker) cancelRun(run string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.cancelled[run] = time.Now()
	for r := range w.running {
		if r.run == run {
			r.cancel()
		}
	}
}

func (w *worker) isCancelled(run string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.cancelled[run]
	return ok
}

type workerKey struct{}

// WorkerName returns the id under which the worker running the job whose
// context is ctx is listed by par status (see Name), or "" outside a
// cluster worker. The par command's joblog shows it in its Host column.
func WorkerName(ctx context.Context) string {
	id, _ := ctx.Value(workerKey{}).(string)
	return id
}
