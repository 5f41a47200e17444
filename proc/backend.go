package proc

import (
	"context"
	"errors"
	"io"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/par-project/par"
)

// ErrClosed is the error of jobs given to a Backend after Close.
var ErrClosed = errors.New("proc: backend is closed")

// Backend runs jobs in worker processes. Make one with New; the zero
// value is also ready to use, with the defaults. A Backend may serve any
// number of calls, one after another or at once; its processes start at
// the first call and live until Close, which every program must call.
type Backend struct {
	cfg config

	mu     sync.Mutex
	closed bool
	target int               // worker slots wanted
	n      int               // worker slots that exist
	ids    map[int]bool      // slot numbers in use
	idle   []*slot           // slots not running a batch
	avail  chan struct{}     // closed, and replaced, when a slot turns idle
	procs  map[*process]bool // started and not yet reaped
	reaped chan struct{}     // closed, and replaced, when one is reaped
	stops  sync.WaitGroup    // workers being stopped in the background

	stderrMu sync.Mutex
}

// slot is a place for one worker process; it keeps its number across the
// processes that fill it.
type slot struct {
	id int
	p  *process
}

// New returns a process backend configured by opts. Its options are
// checked here: a bad one gives an error wrapping par.ErrInvalidOption.
func New(opts ...Option) (*Backend, error) {
	b := &Backend{}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&b.cfg); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func (b *Backend) stderr() io.Writer {
	if b.cfg.stderr != nil {
		return b.cfg.stderr
	}
	return os.Stderr
}

// Start opens a session with as many worker slots as Workers says, or as
// spec.Workers (par.Jobs) when Workers was not given, and starts the
// worker processes that are missing, in parallel. It fails if a worker
// cannot start: the program does not call Main, or the initializer fails.
func (b *Backend) Start(ctx context.Context, spec par.Spec) (par.Session, error) {
	n := max(1, spec.Workers)
	if b.cfg.workers != 0 {
		n = resolveWorkers(b.cfg.workers)
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, ErrClosed
	}
	if b.ids == nil {
		b.ids, b.procs = map[int]bool{}, map[*process]bool{}
		b.avail, b.reaped = make(chan struct{}), make(chan struct{})
	}
	if b.cfg.workers != 0 && b.target == 0 {
		b.target = n
	} else if b.cfg.workers == 0 {
		b.target = max(b.target, n)
	}
	b.mu.Unlock()
	if err := b.warm(ctx, n); err != nil {
		return nil, err
	}
	s := &session{b: b, timeout: spec.Timeout}
	s.slots.Store(int64(n))
	return s, nil
}

func resolveWorkers(n int) int {
	if n > 0 {
		return n
	}
	return max(1, runtime.NumCPU()+1+n)
}

// warm starts processes in up to n slots, in parallel.
func (b *Backend) warm(ctx context.Context, n int) error {
	var taken []*slot
	for range n {
		s := b.tryAcquire()
		if s == nil {
			break
		}
		taken = append(taken, s)
	}
	errs := make([]error, len(taken))
	var wg sync.WaitGroup
	for i, s := range taken {
		wg.Go(func() { errs[i] = b.fill(ctx, s) })
	}
	wg.Wait()
	for _, s := range taken {
		b.release(s)
	}
	return errors.Join(errs...)
}

// tryAcquire takes an idle slot, or makes one if there are fewer than
// wanted; it returns nil if neither is possible.
func (b *Backend) tryAcquire() *slot {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	if k := len(b.idle); k > 0 {
		s := b.idle[k-1]
		b.idle = b.idle[:k-1]
		return s
	}
	if b.n < b.target {
		b.n++
		id := 1
		for b.ids[id] {
			id++
		}
		b.ids[id] = true
		return &slot{id: id}
	}
	return nil
}

// acquire takes a slot with a live worker process in it, waiting for one
// to turn idle and starting a process if the slot has none.
func (b *Backend) acquire(ctx context.Context) (*slot, error) {
	for {
		b.mu.Lock()
		closed, avail := b.closed, b.avail
		b.mu.Unlock()
		if closed {
			return nil, ErrClosed
		}
		if s := b.tryAcquire(); s != nil {
			if err := b.fill(ctx, s); err != nil {
				b.release(s)
				return nil, err
			}
			return s, nil
		}
		select {
		case <-avail:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
}

// fill makes sure slot s holds a live process.
func (b *Backend) fill(ctx context.Context, s *slot) error {
	if s.p != nil && s.p.isDead() {
		s.p.release()
		s.p = nil
	}
	if s.p != nil {
		return nil
	}
	p, err := b.spawnRetry(ctx, s.id)
	if err != nil {
		return err
	}
	s.p = p
	return nil
}

// release returns slot s. A slot beyond the wanted number is removed, and a
// process that ran its MaxJobsPerWorker, or died, leaves its slot.
func (b *Backend) release(s *slot) {
	var drop *process // a process to finish off after Close
	b.mu.Lock()
	if s.p != nil && (b.closed || b.n > b.target || b.cfg.maxJobs > 0 && s.p.ran >= b.cfg.maxJobs || s.p.isDead()) {
		if b.closed {
			drop = s.p
		} else {
			b.stopLocked(s.p, reasonStopped)
		}
		s.p = nil
	}
	if b.closed || b.n > b.target {
		b.n--
		delete(b.ids, s.id)
	} else {
		b.idle = append(b.idle, s)
		close(b.avail)
		b.avail = make(chan struct{})
	}
	b.mu.Unlock()
	if drop != nil {
		drop.kill(reasonClosed)
		drop.wait()
		drop.release()
	}
}

// stopLocked stops p in the background; Close waits for it. It must not
// be called once b is closed.
func (b *Backend) stopLocked(p *process, reason string) {
	b.stops.Add(1)
	go func() {
		defer b.stops.Done()
		p.stop(reason)
		p.release()
	}()
}

// track counts p among the live processes (+1) or removes it once reaped
// (-1). A process started while Close runs is killed at once.
func (b *Backend) track(p *process, delta int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if delta < 0 {
		delete(b.procs, p)
		close(b.reaped)
		b.reaped = make(chan struct{})
		return
	}
	b.procs[p] = true
	if b.closed {
		p.kill(reasonClosed)
	}
}

// resize changes the number of worker slots. Idle surplus processes stop
// at once, busy ones when their batch ends; new slots get processes when
// they are first used.
func (b *Backend) resize(n int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	b.target = n
	for b.n > b.target && len(b.idle) > 0 {
		s := b.idle[len(b.idle)-1]
		b.idle = b.idle[:len(b.idle)-1]
		if s.p != nil {
			b.stopLocked(s.p, reasonStopped)
		}
		b.n--
		delete(b.ids, s.id)
	}
	close(b.avail)
	b.avail = make(chan struct{})
	return nil
}

// Close stops every worker process and waits until each has exited: idle
// ones are asked to exit and killed after a grace period, ones still
// running a batch are killed, their jobs failing with ErrClosed. After
// Close, Start returns ErrClosed. Calling Close again does nothing.
func (b *Backend) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		b.stops.Wait()
		return nil
	}
	b.closed = true
	if b.avail != nil {
		close(b.avail)
		b.avail = make(chan struct{})
	}
	idle := map[*process]bool{}
	for _, s := range b.idle {
		if s.p != nil {
			idle[s.p] = true
			b.stopLocked(s.p, reasonClosed)
		}
	}
	b.idle = nil
	for p := range b.procs {
		if !idle[p] {
			p.kill(reasonClosed)
		}
	}
	b.mu.Unlock()
	b.stops.Wait()
	// Busy workers were killed; wait until they are reaped too.
	for {
		b.mu.Lock()
		n, reaped := len(b.procs), b.reaped
		b.mu.Unlock()
		if n == 0 {
			return nil
		}
		<-reaped
	}
}

// pids returns the pids of the live worker processes.
func (b *Backend) pids() []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	var pids []int
	for p := range b.procs {
		pids = append(pids, p.pid)
	}
	return pids
}

// pollEvery is how often a running batch's worker is checked against the
// memory limit and the timeout.
const pollEvery = 10 * time.Millisecond
