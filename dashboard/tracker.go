package dashboard

import (
	"cmp"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/par-project/par/internal/wire"
)

// Names par keeps in JetStream (the cluster package defines them; the
// dashboard cannot import it, since par server imports the dashboard).
const (
	jobsStream    = "PAR_JOBS"
	workersBucket = "PAR_WORKERS"
	jobsPrefix    = "par.jobs."    // par.jobs.<queue>.<run>
	resultsPrefix = "par.results." // par.results.<run>
	endedPrefix   = "par.ended."   // par.ended.<run>: the driver is done, JSON {"cancelled": bool}
)

// Headers a driver may set on its batches to name its run, and a worker
// on its results.
const (
	HeaderName     = "Par-Name"     // the run's name, for people
	HeaderHost     = "Par-Host"     // the host the driver runs on
	HeaderTotal    = "Par-Total"    // the run's job count, when known
	HeaderDelivery = "Par-Delivery" // on results: how often their batch was handed out
)

const (
	historySecs = 600              // seconds of throughput kept
	shownSecs   = 300              // seconds of throughput in a Snapshot
	rateWindow  = 10 * time.Second // a run's rate is measured over this
	runLinger   = 15 * time.Minute // a finished run stays listed this long
	unknownTask = "unknown"
)

// durationBounds are the buckets of the duration histograms, in seconds.
var durationBounds = []float64{0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300}

// tracker counts batches and results as they are published, and holds
// what the poller read last. It is the Collector without the network, so
// tests drive it with messages they make.
type tracker struct {
	mu       sync.Mutex
	since    time.Time
	runs     map[string]*runState
	stats    map[statKey]*statState
	failures []Failure // ring of MaxFailures, next at failPos
	failPos  int
	secs     [historySecs]Point
	workers  map[string]workerEntry
	queues   []Queue
	queued   map[string]uint64 // run → batches in PAR_JOBS
	ttl      time.Duration
	problems map[string]string // what → problem, from the poller
	bad      int64             // messages that did not decode
}

type statKey struct{ queue, task string }

type statState struct {
	submitted, done, failed, retried, rerun int64
	redelivered                             int64
	counts                                  []uint64 // per bound, plus one for +Inf
	sum                                     float64
}

type workerEntry struct {
	w    Worker
	seen time.Time // server time of the entry
}

type runState struct {
	id, queue       string
	name, host      string
	total           int64
	tasks           []string
	submitted, done int64
	failed, retried int64
	rerun           int64
	redelivered     int64
	started, last   time.Time
	partial         bool
	ended           bool // the driver said it is done with the run
	cancelled       bool // … and gave up on some of its jobs
	batches         map[uint64]*batchState
	finished        map[uint64]string // batches with every result in → task
	samples         []sample          // (time, finished jobs), one per poll
}

type sample struct {
	t time.Time
	n int64
}

type batchState struct {
	task  string
	first int64
	pos   map[int64]int // index → position, for batches of scattered indexes
	got   []bool
	left  int
}

func newTracker(now time.Time) *tracker {
	return &tracker{
		since:    now,
		runs:     map[string]*runState{},
		stats:    map[statKey]*statState{},
		workers:  map[string]workerEntry{},
		queued:   map[string]uint64{},
		problems: map[string]string{},
	}
}

// splitJobs parses "par.jobs.<queue>.<run>".
func splitJobs(subject string) (queue, run string, ok bool) {
	rest, ok := strings.CutPrefix(subject, jobsPrefix)
	if !ok {
		return "", "", false
	}
	queue, run, ok = strings.Cut(rest, ".")
	return queue, run, ok && queue != "" && run != "" && !strings.Contains(run, ".")
}

// splitResults parses "par.results.<run>".
func splitResults(subject string) (run string, ok bool) {
	run, ok = strings.CutPrefix(subject, resultsPrefix)
	return run, ok && run != "" && !strings.Contains(run, ".")
}

func (t *tracker) stat(queue, task string) *statState {
	k := statKey{queue, task}
	s := t.stats[k]
	if s == nil {
		s = &statState{counts: make([]uint64, len(durationBounds)+1)}
		t.stats[k] = s
	}
	return s
}

func (t *tracker) run(id, queue string, now time.Time) *runState {
	r := t.runs[id]
	if r == nil {
		r = &runState{id: id, queue: queue, total: -1, started: now, last: now,
			batches: map[uint64]*batchState{}, finished: map[uint64]string{}}
		t.runs[id] = r
	}
	if r.queue == "" {
		r.queue = queue
	}
	return r
}

// batch counts a batch a driver published.
func (t *tracker) batch(subject string, h nats.Header, data []byte, now time.Time) {
	queue, runID, ok := splitJobs(subject)
	if !ok {
		return
	}
	var b wire.Batch
	if wire.Unmarshal(data, &b) != nil || b.Validate() != nil {
		t.mu.Lock()
		t.bad++
		t.mu.Unlock()
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.run(runID, queue, now)
	r.last = now
	if h != nil {
		if v := h.Get(HeaderName); v != "" {
			r.name = v
		}
		if v := h.Get(HeaderHost); v != "" {
			r.host = v
		}
		if n, err := strconv.ParseInt(h.Get(HeaderTotal), 10, 64); err == nil && n >= 0 {
			r.total = n
		}
	}
	if _, dup := r.batches[b.ID]; dup {
		return // sent again after a reconnect
	}
	if _, dup := r.finished[b.ID]; dup {
		return
	}
	n := b.Len()
	bs := &batchState{task: b.Task, first: b.First, got: make([]bool, n), left: n}
	if b.Indexes != nil {
		bs.pos = make(map[int64]int, n)
		for k, ix := range b.Indexes {
			bs.pos[ix] = k
		}
	}
	r.batches[b.ID] = bs
	if !slices.Contains(r.tasks, b.Task) {
		r.tasks = append(r.tasks, b.Task)
	}
	s := t.stat(r.queue, b.Task)
	r.submitted += int64(n)
	s.submitted += int64(n)
	if b.Attempt > 1 {
		r.retried += int64(n)
		s.retried += int64(n)
	}
}

// results counts a results message a worker published, with headers h.
func (t *tracker) results(subject string, h nats.Header, data []byte, now time.Time) {
	runID, ok := splitResults(subject)
	if !ok {
		return
	}
	var rs wire.Results
	if wire.Unmarshal(data, &rs) != nil || rs.Validate() != nil {
		t.mu.Lock()
		t.bad++
		t.mu.Unlock()
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.runs[runID]
	if r == nil {
		r = t.run(runID, "", now)
		r.partial = true
	}
	r.last = now
	queue := cmp.Or(r.queue, unknownTask)
	bs := r.batches[rs.Batch]
	if bs == nil {
		if task, done := r.finished[rs.Batch]; done {
			n := int64(rs.Len())
			r.rerun += n
			t.stat(queue, task).rerun += n
			return
		}
		r.partial = true // a batch published before we started
	}
	redelivered := false
	if h != nil {
		if n, err := strconv.ParseUint(h.Get(HeaderDelivery), 10, 64); err == nil && n > 1 {
			redelivered = true
		}
	}
	sec := &t.secs[slot(now.Unix())]
	if sec.T != now.Unix() {
		*sec = Point{T: now.Unix()}
	}
	n := rs.Len()
	d := float64(rs.Nanos) / float64(n) / 1e9 // a job's share of the run time
	for i := range n {
		index, werr := rs.Index(i), rs.Err(i)
		task := unknownTask
		if bs != nil {
			task = bs.task
			var k int64
			var ok bool
			if bs.pos != nil {
				var p int
				p, ok = bs.pos[index]
				k = int64(p)
			} else {
				k = index - bs.first
				ok = k >= 0 && k < int64(len(bs.got))
			}
			if !ok {
				continue // not a job of this batch
			}
			if bs.got[k] {
				r.rerun++
				t.stat(queue, task).rerun++
				continue
			}
			bs.got[k] = true
			bs.left--
		}
		s := t.stat(queue, task)
		if redelivered {
			r.redelivered++
			s.redelivered++
		}
		if werr != nil {
			r.failed++
			s.failed++
			sec.Failed++
			t.fail(Failure{
				Time: now, Run: runID, Queue: r.queue, Task: task, Index: index,
				Worker: rs.Worker, Kind: werr.Kind, Error: cut(werr.Msg, MaxErrorLen),
			})
		} else {
			r.done++
			s.done++
			sec.Done++
		}
		s.sum += d
		k, _ := slices.BinarySearch(durationBounds, d)
		s.counts[k]++
	}
	if bs != nil && bs.left == 0 {
		delete(r.batches, rs.Batch)
		r.finished[rs.Batch] = bs.task
	}
}

// ended records that a run's driver is done with it.
func (t *tracker) ended(subject string, data []byte, now time.Time) {
	runID, ok := strings.CutPrefix(subject, endedPrefix)
	if !ok || runID == "" || strings.Contains(runID, ".") {
		return
	}
	var e struct {
		Cancelled bool `json:"cancelled"`
	}
	if len(data) > 0 && json.Unmarshal(data, &e) != nil {
		t.mu.Lock()
		t.bad++
		t.mu.Unlock()
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.runs[runID]
	if r == nil {
		return // a run that published nothing we saw
	}
	r.ended, r.cancelled = true, e.Cancelled
	r.last = now
}

// slot returns the place of Unix second sec in tracker.secs.
func slot(sec int64) int { return int((sec%historySecs + historySecs) % historySecs) }

func (t *tracker) fail(f Failure) {
	if len(t.failures) < MaxFailures {
		t.failures = append(t.failures, f)
		return
	}
	t.failures[t.failPos] = f
	t.failPos = (t.failPos + 1) % MaxFailures
}

// cut returns s cut to at most n bytes, at a rune boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// setWorker records a worker's entry, written at seen by the server's
// clock; a nil w removes it.
func (t *tracker) setWorker(key string, w *Worker, seen time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if w == nil {
		delete(t.workers, key)
		return
	}
	t.workers[key] = workerEntry{w: *w, seen: seen}
}

// polled records what the poller read: queues, batches per run, the
// worker TTL, and problems by what they concern ("" message to clear).
func (t *tracker) polled(queues []Queue, queued map[string]uint64, ttl time.Duration, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if queues != nil {
		t.queues = queues
	}
	if queued != nil {
		t.queued = queued
	}
	if ttl > 0 {
		t.ttl = ttl
	}
	for id, r := range t.runs {
		r.samples = append(r.samples, sample{now, r.done + r.failed})
		for len(r.samples) > 1 && now.Sub(r.samples[0].t) > rateWindow {
			r.samples = r.samples[1:]
		}
		if r.pending() == 0 && now.Sub(r.last) > runLinger {
			delete(t.runs, id)
		}
	}
	if len(t.runs) > MaxRuns {
		rs := t.sortedRuns()
		for _, r := range slices.Backward(rs) {
			if len(t.runs) <= MaxRuns {
				break
			}
			if r.pending() == 0 || len(t.runs) > 2*MaxRuns {
				delete(t.runs, r.id)
			}
		}
	}
}

func (t *tracker) problem(what, msg string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if msg == "" {
		delete(t.problems, what)
	} else {
		t.problems[what] = msg
	}
}

func (r *runState) pending() int64 { return max(0, r.submitted-r.done-r.failed) }

// sortedRuns returns the runs newest first.
func (t *tracker) sortedRuns() []*runState {
	rs := make([]*runState, 0, len(t.runs))
	for _, r := range t.runs {
		rs = append(rs, r)
	}
	slices.SortFunc(rs, func(a, b *runState) int {
		return cmp.Or(b.started.Compare(a.started), cmp.Compare(a.id, b.id))
	})
	return rs
}
