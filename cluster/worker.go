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
// only after its results are stored on the server. A slot sends a batch's
// results straight to the driver and pulls its next batch while the
// server stores them, and runs that batch once the last is acknowledged.
// A worker that dies loses nothing: after AckWait its batch goes to
// another worker.
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

// slot pulls and runs one batch at a time until ctx ends. A batch's
// results go to its driver as soon as it is done, and the slot pulls the
// next batch while the server stores them and takes the acknowledgement.
// The next batch runs once the last is acknowledged: a batch that kills
// its worker cannot take a finished one with it.
func (w *worker) slot(ctx, runCtx context.Context) {
	var acking <-chan struct{} // closed once the last batch is acknowledged
	defer func() {
		if acking != nil {
			<-acking
		}
	}()
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
		if acking != nil {
			<-acking
			acking = nil
		}
		if ctx.Err() != nil {
			_ = msg.Nak() // pulled while stopping: hand it straight back
			return
		}
		acking = w.handle(runCtx, msg)
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
