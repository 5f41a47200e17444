//go:build linux

package proc

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/par-project/par/internal/testio"

	"github.com/par-project/par"
)

func TestPanic(t *testing.T) {
	b := newBackend(t, Workers(2))
	_, err := par.Map(testCtx(t), ints(10), panicTask.Func(), par.On(b))
	var je *par.JobError
	if !errors.As(err, &je) || je.Index != 5 {
		t.Fatalf("error = %v, want job 5's", err)
	}
	var pe *par.PanicError
	if !errors.As(err, &pe) {
		t.Fatalf("error = %v, want a *par.PanicError", err)
	}
	if pe.Value != "boom 5" {
		t.Errorf("panic value = %#v, want \"boom 5\"", pe.Value)
	}
	if !strings.Contains(pe.Stack, "main_test.go") {
		t.Errorf("stack does not show the job:\n%s", pe.Stack)
	}
	// A panic does not cost the worker.
	if got, err := par.Map(testCtx(t), ints(10), squareTask.Func(), par.On(b)); err != nil || got[9] != 81 {
		t.Fatalf("after a panic: %v, %v", got, err)
	}
}

func TestExit(t *testing.T) {
	var stderr testio.Buffer
	b := newBackend(t, Workers(2), Stderr(&stderr))
	before := b.pids()
	_, err := par.Map(testCtx(t), ints(20), exitTask.Func(), par.On(b))
	var je *par.JobError
	if !errors.As(err, &je) || je.Index != 7 {
		t.Fatalf("error = %v, want job 7's", err)
	}
	var lost *par.WorkerLostError
	if !errors.As(err, &lost) {
		t.Fatalf("error = %v, want a *par.WorkerLostError", err)
	}
	if lost.ExitCode != 3 || lost.Signal != "" {
		t.Errorf("exit code %d, signal %q; want 3 and none", lost.ExitCode, lost.Signal)
	}
	if !strings.Contains(lost.Stderr, "leaving now") {
		t.Errorf("stderr tail %q lacks the job's last words", lost.Stderr)
	}
	if !strings.Contains(lost.Reason, "died while running this job") {
		t.Errorf("reason %q", lost.Reason)
	}
	if !par.IsRetryable(err) {
		t.Error("a lost worker should be retryable")
	}
	if !strings.Contains(stderr.String(), "] leaving now\n") || !strings.HasPrefix(stderr.String(), "[worker ") {
		t.Errorf("stderr not passed on with a prefix: %q", stderr.String())
	}
	// The slot gets a new worker.
	if got, err := par.Map(testCtx(t), ints(100), squareTask.Func(), par.On(b)); err != nil || got[99] != 99*99 {
		t.Fatalf("after an exit: %v", err)
	}
	_ = before
}

func TestExitRetried(t *testing.T) {
	b := newBackend(t, Workers(2), Stderr(&testio.Buffer{}))
	_, err := par.Map(testCtx(t), ints(20), exitTask.Func(), par.On(b), par.Retries(2, 0), par.CollectErrors())
	var lost *par.WorkerLostError
	if !errors.As(err, &lost) {
		t.Fatalf("error = %v, want a *par.WorkerLostError", err)
	}
	// Only the job that exits fails; its batch-mates ran again.
	if n := strings.Count(err.Error(), "par: job "); n != 1 {
		t.Errorf("%d jobs failed, want 1: %v", n, err)
	}
}

func TestMemoryLimit(t *testing.T) {
	b := newBackend(t, Workers(1), MemoryLimit(200<<20))
	_, err := par.Map(testCtx(t), ints(4), hogTask.Func(), par.On(b), par.BatchSize(4))
	var je *par.JobError
	if !errors.As(err, &je) || je.Index != 2 {
		t.Fatalf("error = %v, want job 2's", err)
	}
	var lost *par.WorkerLostError
	if !errors.As(err, &lost) {
		t.Fatalf("error = %v, want a *par.WorkerLostError", err)
	}
	if !strings.Contains(lost.Reason, "memory limit exceeded") || !strings.Contains(lost.Reason, "limit 200.0 MiB") {
		t.Errorf("reason = %q", lost.Reason)
	}
	if lost.Signal != "killed" {
		t.Errorf("signal = %q, want killed", lost.Signal)
	}
}

func TestTimeoutKills(t *testing.T) {
	b := newBackend(t, Workers(2))
	jobs := []time.Duration{0, 0, -time.Hour, 0} // job 2 ignores its context
	start := time.Now()
	_, err := par.Map(testCtx(t), jobs, sleepTask.Func(), par.On(b), par.Timeout(200*time.Millisecond))
	var je *par.JobError
	if !errors.As(err, &je) || je.Index != 2 {
		t.Fatalf("error = %v, want job 2's", err)
	}
	if !errors.Is(err, par.ErrTimeout) {
		t.Fatalf("error = %v, want par.ErrTimeout", err)
	}
	if !strings.Contains(err.Error(), "after 200ms (worker") || !strings.Contains(err.Error(), "killed") {
		t.Errorf("error = %q", err)
	}
	if par.IsRetryable(err) {
		t.Error("a timeout should not be retryable")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
	// The worker was replaced.
	if got, err := par.Map(testCtx(t), ints(10), squareTask.Func(), par.On(b)); err != nil || got[3] != 9 {
		t.Fatalf("after a timeout: %v", err)
	}
}

func TestTimeoutCooperative(t *testing.T) {
	b := newBackend(t, Workers(1))
	pids := b.pids()
	_, err := par.Map(testCtx(t), []time.Duration{time.Hour}, sleepTask.Func(), par.On(b), par.Timeout(50*time.Millisecond))
	if !errors.Is(err, par.ErrTimeout) || !strings.Contains(err.Error(), "context deadline exceeded") {
		t.Fatalf("error = %v, want the job's own timeout", err)
	}
	if after := b.pids(); len(pids) > 0 && (len(after) != 1 || after[0] != pids[0]) {
		t.Errorf("worker replaced (%v, then %v) although the job returned", pids, after)
	}
}

// TestFailFastKills: when a job fails, par cancels the others; a worker
// running a job that ignores its context is killed rather than waited for.
func TestFailFastKills(t *testing.T) {
	b := newBackend(t, Workers(2))
	ctx := testCtx(t)
	start := time.Now()
	// Job 0 ignores its context for an hour; job 1 fails at once.
	_, err := par.Map(ctx, []time.Duration{-time.Hour, -1}, failAfter.Func(), par.On(b), par.BatchSize(1))
	if err == nil || !strings.Contains(err.Error(), "gave up") {
		t.Fatalf("error = %v, want job 1's", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("took %v", d)
	}
	if got, err := par.Map(ctx, ints(4), squareTask.Func(), par.On(b)); err != nil || got[3] != 9 {
		t.Fatalf("after the kill: %v", err)
	}
}

var failAfter = par.Register("proc-test.fail-after", func(_ context.Context, d time.Duration) (int, error) {
	if d == -1 {
		return 0, errors.New("gave up")
	}
	time.Sleep(-d)
	return 0, nil
})
