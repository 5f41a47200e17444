//go:build linux

package proc

import (
	"errors"
	"strings"
	"testing"

	"github.com/par-project/par"
)

func TestMap(t *testing.T) {
	b := newBackend(t, Workers(2))
	ctx := testCtx(t)
	for range 3 { // the workers are kept across calls
		got, err := par.Map(ctx, ints(1000), squareTask.Func(), par.On(b))
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range got {
			if v != i*i {
				t.Fatalf("got[%d] = %d", i, v)
			}
		}
	}
	if n := len(b.pids()); n != 2 {
		t.Errorf("%d worker processes, want 2", n)
	}
}

func TestJobErrors(t *testing.T) {
	b := newBackend(t, Workers(2))
	_, err := par.Map(testCtx(t), ints(10), failTask.Func(), par.On(b), par.CollectErrors())
	var je *par.JobError
	if !errors.As(err, &je) || je.Index != 3 {
		t.Fatalf("error = %v, want job 3's", err)
	}
	if !strings.Contains(err.Error(), "no good: 3") || !strings.Contains(err.Error(), "try again") {
		t.Errorf("error = %q, want both jobs' texts", err)
	}
	// The retryable error stays retryable across the pipe.
	_, err = par.Map(testCtx(t), []int{4}, failTask.Func(), par.On(b))
	if !par.IsRetryable(err) {
		t.Errorf("error %v lost its retryability", err)
	}
}
