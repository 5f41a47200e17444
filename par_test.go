package par_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/par-project/par"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func square(_ context.Context, x int) (int, error) { return x * x, nil }

func count(n int) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := range n {
			if !yield(i) {
				return
			}
		}
	}
}

func TestMapKeepsInputOrder(t *testing.T) {
	ctx := context.Background()
	for _, n := range []int{0, 1, 7, 1000, 100_000} {
		xs := slices.Collect(count(n))
		for name, run := range map[string]func() ([]int, error){
			"slice": func() ([]int, error) { return par.Map(ctx, xs, square, par.Jobs(4)) },
			"seq":   func() ([]int, error) { return par.Map(ctx, count(n), square, par.Jobs(4)) },
			"batch1": func() ([]int, error) {
				return par.Map(ctx, xs, square, par.Jobs(3), par.BatchSize(1))
			},
		} {
			got, err := run()
			if err != nil {
				t.Fatalf("%s n=%d: %v", name, n, err)
			}
			if len(got) != n {
				t.Fatalf("%s n=%d: got %d results", name, n, len(got))
			}
			for i, v := range got {
				if v != i*i {
					t.Fatalf("%s n=%d: result %d = %d, want %d", name, n, i, v, i*i)
				}
			}
		}
	}
}

func TestMapNamedSliceType(t *testing.T) {
	type ints []int
	got, err := par.Map(context.Background(), ints{1, 2, 3}, square)
	if err != nil || !slices.Equal(got, []int{1, 4, 9}) {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestFailFastCancelsTheRest(t *testing.T) {
	var started, cancelled atomic.Int32
	release := make(chan struct{})
	boom := errors.New("boom")
	fn := func(ctx context.Context, x int) (int, error) {
		started.Add(1)
		if x == 0 {
			<-release // hold until another job is blocked too
			return 0, boom
		}
		close(release)
		<-ctx.Done() // only the failure can end this job
		cancelled.Add(1)
		return 0, ctx.Err()
	}
	got, err := par.Map(context.Background(), []int{0, 1, 2, 3, 4, 5, 6, 7}, fn, par.Jobs(2), par.BatchSize(1))
	var je *par.JobError
	if !errors.As(err, &je) || je.Index != 0 || !errors.Is(err, boom) {
		t.Fatalf("err = %v, want job 0's boom", err)
	}
	if got != nil {
		t.Fatalf("results = %v, want nil on failure", got)
	}
	if cancelled.Load() != 1 || started.Load() != 2 {
		t.Fatalf("started %d, cancelled %d: want 2 started and the other cancelled", started.Load(), cancelled.Load())
	}
}

func TestCollectErrorsRunsEverything(t *testing.T) {
	var ran atomic.Int32
	fn := func(_ context.Context, x int) (int, error) {
		ran.Add(1)
		if x%3 == 0 {
			return 0, fmt.Errorf("bad %d", x)
		}
		return x, nil
	}
	got, err := par.Map(context.Background(), count(10), fn, par.CollectErrors(), par.Jobs(3), par.BatchSize(2))
	if ran.Load() != 10 {
		t.Fatalf("ran %d jobs, want 10", ran.Load())
	}
	want := "par: job 0 (input 0): bad 0\npar: job 3 (input 3): bad 3\npar: job 6 (input 6): bad 6\npar: job 9 (input 9): bad 9"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want\n%s", err, want)
	}
	if !slices.Equal(got, []int{0, 1, 2, 0, 4, 5, 0, 7, 8, 0}) {
		t.Fatalf("results = %v", got)
	}
}

func TestPanicBecomesError(t *testing.T) {
	fn := func(_ context.Context, x int) (int, error) {
		if x == 5 {
			panic("five")
		}
		return x, nil
	}
	for _, opts := range [][]par.Option{nil, {par.Retries(1, 0)}, {par.CollectErrors()}} {
		_, err := par.Map(context.Background(), count(20), fn, opts...)
		var pe *par.PanicError
		var je *par.JobError
		if !errors.As(err, &pe) || !errors.As(err, &je) {
			t.Fatalf("err = %v, want a JobError with a PanicError", err)
		}
		if je.Index != 5 || pe.Value != "five" || !strings.Contains(pe.Stack, "par_test.TestPanicBecomesError") {
			t.Fatalf("index %d, value %v, stack:\n%s", je.Index, pe.Value, pe.Stack)
		}
	}
}

func TestPanicInInputSequence(t *testing.T) {
	seq := func(yield func(int) bool) {
		yield(1)
		panic("bad input source")
	}
	_, err := par.Map(context.Background(), iter.Seq[int](seq), square)
	var pe *par.PanicError
	if !errors.As(err, &pe) || pe.Value != "bad input source" {
		t.Fatalf("err = %v", err)
	}
}

func TestRetriesRetryableErrorsOnly(t *testing.T) {
	var mu sync.Mutex
	tries := map[int]int{}
	fn := func(_ context.Context, x int) (int, error) {
		mu.Lock()
		tries[x]++
		n := tries[x]
		mu.Unlock()
		switch {
		case x == 1 && n < 3:
			return 0, par.Retryable(errors.New("flaky"))
		case x == 2:
			return 0, errors.New("permanent")
		}
		return x, nil
	}
	var last par.Status
	got, err := par.Map(context.Background(), []int{0, 1, 2, 3}, fn, par.Retries(2, time.Microsecond),
		par.CollectErrors(), par.Progress(func(s par.Status) { last = s }))
	if err == nil || !strings.Contains(err.Error(), "permanent") || strings.Contains(err.Error(), "flaky") {
		t.Fatalf("err = %v, want only job 2's permanent error", err)
	}
	if tries[1] != 3 || tries[2] != 1 || got[1] != 1 {
		t.Fatalf("tries = %v, results %v", tries, got)
	}
	if last.Done != 4 || last.Failed != 1 || last.Retried != 2 {
		t.Fatalf("last status = %+v", last)
	}
}

func TestRetriesRunOut(t *testing.T) {
	var tries atomic.Int32
	fn := func(context.Context, int) (int, error) {
		tries.Add(1)
		return 0, par.Retryable(errors.New("always"))
	}
	_, err := par.Map(context.Background(), []int{1}, fn, par.Retries(3, 0))
	if !errors.Is(err, par.ErrRetryable) || tries.Load() != 4 {
		t.Fatalf("err = %v after %d tries, want 4 tries", err, tries.Load())
	}
}

func TestTimeout(t *testing.T) {
	fn := func(ctx context.Context, x int) (int, error) {
		if x == 1 {
			<-ctx.Done()
			return 0, ctx.Err()
		}
		return x, nil
	}
	_, err := par.Map(context.Background(), []int{0, 1, 2}, fn, par.Timeout(time.Millisecond))
	var je *par.JobError
	if !errors.Is(err, par.ErrTimeout) || !errors.As(err, &je) || je.Index != 1 {
		t.Fatalf("err = %v, want job 1 timed out", err)
	}
}

func TestContextCancelStopsDispatch(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var ran atomic.Int32
	fn := func(ctx context.Context, x int) (int, error) {
		if ran.Add(1) == 10 {
			cancel()
		}
		return x, nil
	}
	_, err := par.Map(ctx, count(1_000_000), fn, par.BatchSize(1), par.Jobs(2))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n := ran.Load(); n > 1000 {
		t.Fatalf("%d jobs ran after the cancel", n)
	}
	err = par.ForEach(ctx, []int{1, 2}, func(context.Context, int) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("ForEach on a cancelled ctx: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	cases := map[string]error{}
	_, cases["Jobs(0)"] = par.Map(ctx, []int{1}, square, par.Jobs(0))
	_, cases["Timeout(-1)"] = par.Map(ctx, []int{1}, square, par.Timeout(-1))
	_, cases["Retries(-1)"] = par.Map(ctx, []int{1}, square, par.Retries(-1, 0))
	_, cases["BatchSize(0)"] = par.Map(ctx, []int{1}, square, par.BatchSize(0))
	_, cases["On(nil)"] = par.Map(ctx, []int{1}, square, par.On(nil))
	cases["For n<0"] = par.For(ctx, -1, func(int, int) {})
	cases["Dynamic(-1)"] = par.For(ctx, 1, func(int, int) {}, par.Dynamic(-1))
	_, cases["NewPool Jobs(0)"] = par.NewPool(par.Jobs(0))
	for name, err := range cases {
		if !errors.Is(err, par.ErrInvalidOption) {
			t.Errorf("%s: err = %v, want ErrInvalidOption", name, err)
		}
	}
	nils := map[string]error{}
	_, nils["Map"] = par.Map[[]int, int, int](ctx, []int{1}, nil)
	nils["ForEach"] = par.ForEach[[]int, int](ctx, []int{1}, nil)
	nils["For"] = par.For(ctx, 1, nil)
	for _, err := range par.Stream[[]int, int, int](ctx, []int{1}, nil) {
		nils["Stream"] = err
	}
	for name, err := range nils {
		if !errors.Is(err, par.ErrNilFunc) {
			t.Errorf("%s: err = %v, want ErrNilFunc", name, err)
		}
	}
	var seq iter.Seq[int]
	if _, err := par.Map(ctx, seq, square); !errors.Is(err, par.ErrNilInputs) {
		t.Errorf("nil seq: %v", err)
	}
}

func TestJobsMeaning(t *testing.T) {
	// Jobs(-1) and the default use every CPU; count the slots seen.
	for _, tc := range []struct {
		opt  par.Option
		want int
	}{{par.Jobs(3), 3}, {par.Jobs(1), 1}} {
		var mu sync.Mutex
		slots := map[int]bool{}
		barrier := make(chan struct{})
		var arrived atomic.Int32
		fn := func(ctx context.Context, x int) (int, error) {
			mu.Lock()
			slots[par.Slot(ctx)] = true
			mu.Unlock()
			if x < tc.want && arrived.Add(1) == int32(tc.want) {
				close(barrier)
			}
			if x < tc.want {
				<-barrier // every worker must hold one of the first jobs at once
			}
			return x, nil
		}
		if _, err := par.Map(context.Background(), count(tc.want*10), fn, tc.opt, par.BatchSize(1)); err != nil {
			t.Fatal(err)
		}
		if len(slots) != tc.want {
			t.Errorf("saw slots %v, want %d", slots, tc.want)
		}
	}
}
