package par_test

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/par-project/par"
)

func TestStreamOrdered(t *testing.T) {
	var got []int
	for v, err := range par.Stream(context.Background(), count(50_000), square, par.Jobs(4)) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if len(got) != 50_000 {
		t.Fatalf("got %d results", len(got))
	}
	for i, v := range got {
		if v != i*i {
			t.Fatalf("result %d = %d", i, v)
		}
	}
}

func TestStreamUnorderedYieldsEveryResultOnce(t *testing.T) {
	// Job 0 waits until every other job has been yielded: only an unordered
	// stream can finish this.
	const n = 100
	others := make(chan struct{})
	fn := func(_ context.Context, x int) (int, error) {
		if x == 0 {
			<-others
		}
		return x, nil
	}
	var seen []int
	for v, err := range par.Stream(context.Background(), count(n), fn, par.Unordered(), par.Jobs(2), par.BatchSize(1)) {
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, v)
		if len(seen) == n-1 {
			close(others)
		}
	}
	if seen[len(seen)-1] != 0 {
		t.Fatalf("job 0 was yielded at %d, want last", slices.Index(seen, 0))
	}
	slices.Sort(seen)
	if !slices.Equal(seen, slices.Collect(count(n))) {
		t.Fatalf("results %v", seen)
	}
}

func TestStreamBreakCancelsTheRest(t *testing.T) {
	var ran atomic.Int64
	fn := func(ctx context.Context, x int) (int, error) {
		ran.Add(1)
		return x, nil
	}
	for _, opts := range [][]par.Option{{par.Jobs(2)}, {par.Jobs(2), par.Unordered()}} {
		ran.Store(0)
		n := 0
		for _, err := range par.Stream(context.Background(), count(10_000_000), fn, opts...) {
			if err != nil {
				t.Fatal(err)
			}
			if n++; n == 1000 {
				break
			}
		}
		// goleak in TestMain checks that nothing outlived the loop; the
		// window and the batch bound bound how far the run went ahead.
		if r := ran.Load(); r >= 10_000_000 {
			t.Fatalf("%d jobs ran after a break at 1000", r)
		}
	}
}

func TestStreamFailFastEndsWithTheError(t *testing.T) {
	boom := errors.New("boom")
	fn := func(_ context.Context, x int) (int, error) {
		if x == 500 {
			return 0, boom
		}
		return x, nil
	}
	var last error
	n := 0
	for _, err := range par.Stream(context.Background(), count(100_000), fn) {
		if last != nil {
			t.Fatal("stream went on after its error")
		}
		last = err
		n++
	}
	var je *par.JobError
	if !errors.As(last, &je) || je.Index != 500 || !errors.Is(last, boom) {
		t.Fatalf("last = %v", last)
	}
	if n > 501 {
		t.Fatalf("%d pairs before the error at 500", n)
	}
}

func TestStreamCollectErrorsGoesOn(t *testing.T) {
	fn := func(_ context.Context, x int) (int, error) {
		if x%10 == 0 {
			return 0, errors.New("tens")
		}
		return x, nil
	}
	var fails, oks int
	for i, err := range enumerate(par.Stream(context.Background(), count(100), fn, par.CollectErrors())) {
		var je *par.JobError
		switch {
		case errors.As(err, &je):
			if je.Index != i || i%10 != 0 {
				t.Fatalf("error %v at position %d", err, i)
			}
			fails++
		case err == nil:
			oks++
		}
	}
	if fails != 10 || oks != 90 {
		t.Fatalf("fails %d, oks %d", fails, oks)
	}
}

// enumerate yields each pair's position and error.
func enumerate[V any](seq func(func(V, error) bool)) func(func(int, error) bool) {
	return func(yield func(int, error) bool) {
		i := 0
		for _, err := range seq {
			if !yield(i, err) {
				return
			}
			i++
		}
	}
}

func TestStreamContextCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var last error
	n := 0
	for _, err := range par.Stream(ctx, count(10_000_000), square) {
		if n++; n == 100 {
			cancel()
		}
		last = err
	}
	if !errors.Is(last, context.Canceled) {
		t.Fatalf("last = %v, want context.Canceled", last)
	}
}

// TestStreamMemoryIsBounded streams ten million inputs from an iter.Seq and
// checks that the heap never holds them: the live heap is sampled while the
// stream runs, and must stay far below what materialising the inputs and
// results (160 MB) would take.
func TestStreamMemoryIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 10M inputs")
	}
	const n = 10_000_000
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak uint64
	sum := 0
	i := 0
	for v, err := range par.Stream(context.Background(), count(n), square) {
		if err != nil {
			t.Fatal(err)
		}
		sum += v
		if i++; i%1_000_000 == 0 {
			runtime.GC()
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapAlloc)
		}
	}
	want := 0
	for x := range n {
		want += x * x
	}
	if i != n || sum != want {
		t.Fatalf("got %d results summing to %d, want %d and %d", i, sum, n, want)
	}
	grown := int64(peak) - int64(base.HeapAlloc)
	t.Logf("live heap grew by %d KiB over %d inputs", grown/1024, n)
	if grown > 32<<20 {
		t.Fatalf("live heap grew by %d MiB while streaming", grown>>20)
	}
}

func TestForEachOverSequenceKeepsMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 10M inputs")
	}
	var total atomic.Int64
	var peak uint64
	err := par.ForEach(context.Background(), count(10_000_000), func(_ context.Context, x int) error {
		if total.Add(int64(x)); x%2_000_000 == 0 {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak {
				peak = m.HeapAlloc
			}
		}
		return nil
	}, par.Jobs(1))
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(10_000_000) * (10_000_000 - 1) / 2; total.Load() != want {
		t.Fatalf("total %d, want %d", total.Load(), want)
	}
	if peak > 64<<20 {
		t.Fatalf("heap reached %d MiB", peak>>20)
	}
}
