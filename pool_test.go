package par_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/par-project/par"
)

func newPool(t *testing.T, opts ...par.Option) *par.Pool {
	t.Helper()
	p, err := par.NewPool(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestSubmitFutures(t *testing.T) {
	p := newPool(t, par.Jobs(3))
	ctx := context.Background()
	var futs []*par.Future[int]
	for i := range 100 {
		futs = append(futs, par.Submit(p, ctx, square, i))
	}
	for i, f := range futs {
		v, err := f.Wait(ctx)
		if err != nil || v != i*i {
			t.Fatalf("future %d: %d, %v", i, v, err)
		}
		select {
		case <-f.Done():
		default:
			t.Fatalf("future %d: Done not closed after Wait", i)
		}
	}
	st := p.Stats()
	if st.Done != 100 || st.Failed != 0 || len(st.PerTask) != 1 || st.PerTask[0].Done != 100 {
		t.Fatalf("stats: %+v", st)
	}
	if !strings.Contains(st.PerTask[0].Name, "square") {
		t.Fatalf("task name %q", st.PerTask[0].Name)
	}
	sum := 0
	for _, w := range st.PerWorker {
		sum += w.Done
	}
	if sum != 100 || len(st.PerWorker) != 3 {
		t.Fatalf("per worker: %+v", st.PerWorker)
	}
}

func TestGroupsWaitForTheirOwnJobs(t *testing.T) {
	p := newPool(t, par.Jobs(2))
	ctx := context.Background()
	hold := make(chan struct{})
	slow := p.Group()
	fast := p.Group()
	blocked := par.Submit(slow, ctx, func(ctx context.Context, x int) (int, error) {
		<-hold
		return x, nil
	}, 1)
	for i := range 10 {
		par.Submit(fast, ctx, func(_ context.Context, x int) (int, error) {
			if x == 7 {
				return 0, errors.New("seven")
			}
			return x, nil
		}, i)
	}
	// fast finishes although slow's job is still held.
	err := fast.Wait(ctx)
	if err == nil || !strings.Contains(err.Error(), "seven") {
		t.Fatalf("fast group: %v", err)
	}
	select {
	case <-blocked.Done():
		t.Fatal("slow job finished while held")
	default:
	}
	close(hold)
	if err := slow.Wait(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestOnDoneCallbacks(t *testing.T) {
	p := newPool(t, par.Jobs(2))
	ctx := context.Background()
	var wg sync.WaitGroup
	var sum atomic.Int64
	for i := range 50 {
		wg.Add(1)
		par.Submit(p, ctx, square, i).OnDone(func(v int, err error) {
			sum.Add(int64(v))
			wg.Done()
		})
	}
	wg.Wait()
	if sum.Load() != 40425 {
		t.Fatalf("sum of squares below 50 = %d", sum.Load())
	}
	f := par.Submit(p, ctx, square, 3)
	f.Wait(ctx)
	called := false
	f.OnDone(func(v int, err error) { called = v == 9 })
	if !called {
		t.Fatal("OnDone on a finished future did not run at once")
	}
}

func TestCancelQueuedAndRunning(t *testing.T) {
	p := newPool(t, par.Jobs(1))
	ctx := context.Background()
	started := make(chan struct{})
	running := par.Submit(p, ctx, func(ctx context.Context, x int) (int, error) {
		close(started)
		<-ctx.Done()
		return 0, ctx.Err()
	}, 0)
	var ran atomic.Bool
	queued := par.Submit(p, ctx, func(ctx context.Context, x int) (int, error) {
		ran.Store(true)
		return x, nil
	}, 1)
	<-started
	queued.Cancel()
	if _, err := queued.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("queued: %v", err)
	}
	running.Cancel()
	if _, err := running.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("running: %v", err)
	}
	p.Close()
	if ran.Load() {
		t.Fatal("a cancelled queued job ran")
	}
}

func TestSetWorkersUpAndDown(t *testing.T) {
	p := newPool(t, par.Jobs(1))
	ctx := context.Background()
	var active, peak atomic.Int32
	gate := make(chan struct{})
	arrived := make(chan struct{}, 100)
	job := func(ctx context.Context, x int) (int, error) {
		n := active.Add(1)
		for {
			old := peak.Load()
			if n <= old || peak.CompareAndSwap(old, n) {
				break
			}
		}
		arrived <- struct{}{}
		<-gate
		active.Add(-1)
		return x, nil
	}
	g := p.Group()
	for i := range 8 {
		par.Submit(g, ctx, job, i)
	}
	<-arrived // one worker holds a job
	if err := p.SetWorkers(4); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		<-arrived // three more workers took jobs while the first still runs
	}
	if peak.Load() != 4 || p.Stats().Workers != 4 {
		t.Fatalf("peak %d, workers %d after SetWorkers(4)", peak.Load(), p.Stats().Workers)
	}
	if err := p.SetWorkers(1); err != nil {
		t.Fatal(err)
	}
	peak.Store(0)
	close(gate) // the four finish; then only one worker runs the last four
	if err := g.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	st := p.Stats()
	if st.Workers != 1 || st.Done != 8 {
		t.Fatalf("after SetWorkers(1): %d workers, %d done", st.Workers, st.Done)
	}
	if err := p.SetWorkers(0); !errors.Is(err, par.ErrInvalidOption) {
		t.Fatalf("SetWorkers(0): %v", err)
	}
}

func TestCloseDrainsAndRefusesNewJobs(t *testing.T) {
	p, err := par.NewPool(par.Jobs(2))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var done atomic.Int32
	var futs []*par.Future[int]
	for i := range 200 {
		futs = append(futs, par.Submit(p, ctx, func(_ context.Context, x int) (int, error) {
			done.Add(1)
			return x, nil
		}, i))
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if done.Load() != 200 {
		t.Fatalf("Close returned after %d of 200 jobs", done.Load())
	}
	for _, f := range futs {
		if _, err := f.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	late := par.Submit(p, ctx, square, 1)
	if _, err := late.Wait(ctx); !errors.Is(err, par.ErrClosed) {
		t.Fatalf("submit after close: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestSubmitErrors(t *testing.T) {
	p := newPool(t, par.Jobs(2), par.Retries(1, 0))
	ctx := context.Background()
	var tries atomic.Int32
	f := par.Submit(p, ctx, func(context.Context, string) (int, error) {
		if tries.Add(1) == 1 {
			return 0, par.Retryable(errors.New("once"))
		}
		panic("twice")
	}, "in")
	_, err := f.Wait(ctx)
	var je *par.JobError
	var pe *par.PanicError
	if !errors.As(err, &je) || je.Input != "in" || !errors.As(err, &pe) {
		t.Fatalf("err = %v", err)
	}
	if st := p.Stats(); st.Retried != 1 || st.Failed != 1 {
		t.Fatalf("stats %+v", st)
	}
	if _, err := par.Submit[int, int](p, ctx, nil, 1).Wait(ctx); !errors.Is(err, par.ErrNilFunc) {
		t.Fatalf("nil fn: %v", err)
	}
}
