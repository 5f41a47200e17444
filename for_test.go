package par_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/par-project/par"
)

func TestForCoversEveryIndexOnce(t *testing.T) {
	for _, n := range []int{1, 2, 3, 1000, 100_003} {
		for name, opts := range map[string][]par.Option{
			"guided":    nil,
			"static":    {par.Static(), par.Jobs(3)},
			"dynamic7":  {par.Dynamic(7)},
			"oneworker": {par.Jobs(1)},
		} {
			hits := make([]atomic.Int32, n)
			var chunks atomic.Int32
			err := par.For(context.Background(), n, func(lo, hi int) {
				chunks.Add(1)
				for i := lo; i < hi; i++ {
					hits[i].Add(1)
				}
			}, opts...)
			if err != nil {
				t.Fatal(err)
			}
			for i := range hits {
				if hits[i].Load() != 1 {
					t.Fatalf("%s n=%d: index %d ran %d times", name, n, i, hits[i].Load())
				}
			}
			if name == "static" && int(chunks.Load()) != min(3, n) {
				t.Fatalf("static n=%d: %d chunks, want one per worker", n, chunks.Load())
			}
		}
	}
}

func TestForPanicAndCancel(t *testing.T) {
	err := par.For(context.Background(), 100, func(lo, hi int) {
		if lo <= 42 && 42 < hi {
			panic("forty-two")
		}
	}, par.Dynamic(1))
	var je *par.JobError
	var pe *par.PanicError
	if !errors.As(err, &je) || je.Index != 42 || !errors.As(err, &pe) {
		t.Fatalf("err = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var ran atomic.Int32
	err = par.For(ctx, 1_000_000, func(lo, hi int) {
		if ran.Add(1) == 5 {
			cancel()
		}
	}, par.Dynamic(1), par.Jobs(2))
	if !errors.Is(err, context.Canceled) || ran.Load() > 1000 {
		t.Fatalf("err = %v after %d chunks", err, ran.Load())
	}
	if err := par.For(context.Background(), 0, func(int, int) { t.Fatal("ran") }); err != nil {
		t.Fatal(err)
	}
}
