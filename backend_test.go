package par_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/par-project/par"
	"github.com/par-project/par/internal/wire"
)

var (
	sqrtTask = par.Register("par_test.sqrt", func(_ context.Context, x float64) (float64, error) {
		return math.Sqrt(x), nil
	})
	rootTask = par.Register("par_test.root", func(_ context.Context, x float64) (float64, error) {
		if x < 0 {
			return -1, errors.New("negative")
		}
		return math.Sqrt(x), nil
	})
	rememberedTask = par.Register("par_test.remembered", func(_ context.Context, x float64) (float64, error) { return x, nil })
	upperTask      = par.Register("par_test.upper", func(_ context.Context, s string) (string, error) {
		if s == "boom" {
			return "", errors.New("boom")
		}
		return strings.ToUpper(s), nil
	})
	panicTask = par.Register("par_test.panic", func(_ context.Context, s string) (string, error) {
		panic(s)
	})
)

// encodedBackend runs every batch through the encoded path a worker process
// or cluster worker uses, and loses jobs the way a dying worker does.
type encodedBackend struct {
	mu    sync.Mutex
	lost  map[int]int // job index → attempts to lose
	execs int
}

func (b *encodedBackend) Start(ctx context.Context, spec par.Spec) (par.Session, error) {
	s, err := par.Goroutines().Start(ctx, spec)
	return &encodedSession{Session: s, b: b}, err
}

type encodedSession struct {
	par.Session
	b *encodedBackend
}

func (s *encodedSession) Exec(ctx context.Context, batch *par.Batch) error {
	s.b.mu.Lock()
	s.b.execs++
	s.b.mu.Unlock()
	if err := s.Session.Exec(ctx, batch); err != nil {
		return err
	}
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	for i, idx := range batch.Indexes {
		if s.b.lost[idx] > 0 {
			s.b.lost[idx]--
			if batch.Errs == nil {
				batch.Errs = make([]error, batch.Len())
			}
			batch.Errs[i] = &par.WorkerLostError{Worker: "w1", ExitCode: -1, Signal: "killed"}
		}
	}
	return nil
}

func TestMapOnAnotherBackend(t *testing.T) {
	b := &encodedBackend{lost: map[int]int{3: 1, 700: 2}}
	xs := make([]float64, 1000)
	for i := range xs {
		xs[i] = float64(i * i)
	}
	got, err := par.Map(context.Background(), xs, sqrtTask.Func(), par.On(b), par.Retries(2, 0))
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if v != float64(i) {
			t.Fatalf("result %d = %v", i, v)
		}
	}
	if b.lost[3] != 0 || b.lost[700] != 0 {
		t.Fatalf("lost jobs not retried: %v", b.lost)
	}

	b.lost = map[int]int{5: 1}
	_, err = par.Map(context.Background(), xs, sqrtTask.Func(), par.On(b))
	var wl *par.WorkerLostError
	var je *par.JobError
	if !errors.As(err, &wl) || !errors.As(err, &je) || je.Index != 5 || !strings.Contains(err.Error(), "signal: killed") {
		t.Fatalf("without retries: %v", err)
	}
}

func TestUnregisteredFuncFailsAtTheCall(t *testing.T) {
	b := &encodedBackend{}
	_, err := par.Map(context.Background(), []int{1}, square, par.On(b))
	if !errors.Is(err, par.ErrNotRegistered) || !strings.Contains(err.Error(), "square") {
		t.Fatalf("err = %v", err)
	}
	if b.execs != 0 {
		t.Fatal("an unregistered func reached the backend")
	}
	p := newPool(t, par.On(b))
	if _, err := par.Submit(p, context.Background(), square, 2).Wait(context.Background()); !errors.Is(err, par.ErrNotRegistered) {
		t.Fatalf("Submit: %v", err)
	}
}

func TestPanicCrossesTheBoundary(t *testing.T) {
	for _, err := range par.Stream(context.Background(), []string{"deep"}, panicTask.Func(), par.On(&encodedBackend{})) {
		var pe *par.PanicError
		if !errors.As(err, &pe) || pe.Value != "deep" {
			t.Fatalf("err = %v", err)
		}
	}
}

func TestSubmitOnAnotherBackend(t *testing.T) {
	b := &encodedBackend{lost: map[int]int{0: 1}}
	p := newPool(t, par.On(b), par.Retries(1, 0))
	v, err := par.Submit(p, context.Background(), sqrtTask.Func(), 81).Wait(context.Background())
	if err != nil || v != 9 {
		t.Fatalf("got %v, %v", v, err)
	}
	if st := p.Stats(); st.Retried != 1 || st.PerTask[0].Name != "par_test.sqrt" {
		t.Fatalf("stats %+v", st)
	}
}

func TestExecTask(t *testing.T) {
	in, _ := wire.Marshal(16.0)
	out, err := par.ExecTask(context.Background(), sqrtTask.Name(), in, 0)
	var v float64
	if err != nil || wire.Unmarshal(out, &v) != nil || v != 4 {
		t.Fatalf("got %v, %v", v, err)
	}
	if _, err := par.ExecTask(context.Background(), "nobody", in, 0); !errors.Is(err, par.ErrUnknownTask) {
		t.Fatalf("unknown task: %v", err)
	}
	bad, _ := wire.Marshal("not a number")
	if _, err := par.ExecTask(context.Background(), sqrtTask.Name(), bad, 0); err == nil || !strings.Contains(err.Error(), "decoding input") {
		t.Fatalf("bad input: %v", err)
	}
}

func TestRegisterPanicsOnProgrammerErrors(t *testing.T) {
	for name, f := range map[string]func(){
		"duplicate": func() { par.Register("par_test.sqrt", sqrtTask.Func()) },
		"empty":     func() { par.Register("", sqrtTask.Func()) },
		"nil":       func() { par.Register[int, int]("par_test.nil", nil) },
	} {
		func() {
			defer func() {
				if v := recover(); v == nil || !strings.HasPrefix(v.(string), "par: ") {
					t.Errorf("%s: recovered %v", name, v)
				}
			}()
			f()
		}()
	}
}

func TestExecTasksDecodesAndEncodesABatch(t *testing.T) {
	var ins [][]byte
	for _, v := range []any{4.0, 9.0, "bad", 16.0} {
		b, _ := wire.Marshal(v)
		ins = append(ins, b)
	}
	var seen []int
	outs, errs := par.ExecTasks(context.Background(), sqrtTask.Name(), ins, 0, func(k int) { seen = append(seen, k) })
	if errs[2] == nil || !strings.Contains(errs[2].Error(), "decoding input") || outs[2] != nil {
		t.Fatalf("bad input: %v, %x", errs[2], outs[2])
	}
	for k, want := range map[int]float64{0: 2, 1: 3, 3: 4} {
		var v float64
		if errs[k] != nil || wire.Unmarshal(outs[k], &v) != nil || v != want {
			t.Fatalf("job %d: %v, %v", k, v, errs[k])
		}
	}
	if len(seen) != 4 {
		t.Fatalf("before called for %v", seen)
	}
	good := [][]byte{ins[0], ins[1]}
	outs, errs = par.ExecTasks(context.Background(), sqrtTask.Name(), good, 0, nil)
	if errs[0] != nil || errs[1] != nil || len(outs) != 2 {
		t.Fatalf("batch path: %v", errs)
	}
	_, errs = par.ExecTasks(context.Background(), "nobody", good, 0, nil)
	if !errors.Is(errs[0], par.ErrUnknownTask) || !errors.Is(errs[1], par.ErrUnknownTask) {
		t.Fatalf("unknown task: %v", errs)
	}
}

func TestExecBatchRunsAnArray(t *testing.T) {
	ctx := context.Background()
	in, _ := wire.Marshal([]float64{4, 9, -1, 16})
	out, errs, err := par.ExecBatch(ctx, rootTask.Name(), in, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []float64
	if err := wire.Unmarshal(out, &got); err != nil || len(got) != 4 {
		t.Fatalf("output %x: %v, %v", out, got, err)
	}
	if len(errs) != 4 || got[0] != 2 || got[1] != 3 || got[3] != 4 || errs[0] != nil || errs[3] != nil {
		t.Fatalf("results %v, errors %v", got, errs)
	}
	if errs[2] == nil || errs[2].Error() != "negative" || got[2] != 0 {
		t.Fatalf("the root of -1: %v, %v; want an error and the zero value", got[2], errs[2])
	}
	// All good: no error slice at all.
	in, _ = wire.Marshal([]float64{1, 4})
	if _, errs, err := par.ExecBatch(ctx, sqrtTask.Name(), in, 0, nil); err != nil || errs != nil {
		t.Fatalf("good batch: %v, %v", errs, err)
	}
	// One input of the wrong type fails alone.
	in, _ = wire.Marshal([]any{1.0, "x", 9.0})
	out, errs, err = par.ExecBatch(ctx, sqrtTask.Name(), in, 0, nil)
	items, _ := wire.SplitArray(out)
	if err != nil || len(items) != 3 || len(errs) != 3 || errs[0] != nil || errs[2] != nil || errs[1] == nil {
		t.Fatalf("mixed batch: %d items, %v, %v", len(items), errs, err)
	}
	if _, _, err := par.ExecBatch(ctx, "nobody", in, 0, nil); !errors.Is(err, par.ErrUnknownTask) {
		t.Fatalf("unknown task: %v", err)
	}
	if _, _, err := par.ExecBatch(ctx, sqrtTask.Name(), []byte{0x01}, 0, nil); !errors.Is(err, wire.ErrDecode) {
		t.Fatalf("not an array: %v", err)
	}
}

// TestAppendExecBatchReuses runs batches of one task one after another,
// as a worker does, appending each one's results to the last one's
// buffer: results stay right when the task's reused slices shrink and
// grow again, failed jobs get the zero value rather than a stale result,
// and what went before dst is kept.
func TestAppendExecBatchReuses(t *testing.T) {
	ctx := context.Background()
	var buf []byte
	for i, batch := range [][]string{{"a", "bb", "ccc"}, {"d"}, {"ee", "boom", "f", "gggg"}} {
		in, _ := wire.Marshal(batch)
		out, errs, err := par.AppendExecBatch(ctx, append(buf[:0], 'x'), upperTask.Name(), in, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if out[0] != 'x' {
			t.Fatalf("batch %d: the prefix was lost: %x", i, out)
		}
		var got []string
		if err := wire.Unmarshal(out[1:], &got); err != nil || len(got) != len(batch) {
			t.Fatalf("batch %d: %q, %v", i, got, err)
		}
		for k, x := range batch {
			want := strings.ToUpper(x)
			if x == "boom" {
				want = ""
				if errs == nil || errs[k] == nil {
					t.Fatalf("batch %d: job %d did not fail", i, k)
				}
			}
			if got[k] != want {
				t.Errorf("batch %d: job %d = %q, want %q", i, k, got[k], want)
			}
		}
		buf = out
	}
}

// slowTransport answers every batch after a fixed delay, as a remote
// backend's round trip does, and reports how long its jobs ran (100 ns
// each): batch sizes must follow that, not the delay.
type slowTransport struct {
	mu    sync.Mutex
	execs int
	sizes []int // each batch's job count, in the order Exec was called
}

func (b *slowTransport) Start(ctx context.Context, spec par.Spec) (par.Session, error) {
	s, err := par.Goroutines().Start(ctx, spec)
	return &slowSession{Session: s, b: b}, err
}

type slowSession struct {
	par.Session
	b *slowTransport
}

func (s *slowSession) BatchTarget() time.Duration { return time.Millisecond }

func (s *slowSession) Exec(ctx context.Context, batch *par.Batch) error {
	s.b.mu.Lock()
	s.b.execs++
	s.b.sizes = append(s.b.sizes, batch.Len())
	s.b.mu.Unlock()
	time.Sleep(2 * time.Millisecond) // the round trip, not synchronisation
	err := s.Session.Exec(ctx, batch)
	batch.Ran = time.Duration(batch.Len()) * 100 * time.Nanosecond
	return err
}

// TestBatchSizesCarryOverCalls maps one task twice on a remote backend:
// the first call grows its batches from one job, the second starts from
// the size the first arrived at.
func TestBatchSizesCarryOverCalls(t *testing.T) {
	xs := make([]float64, 20000)
	par.ForgetTaskCost(rememberedTask.Name())
	var firsts [2][]int
	for call := range firsts {
		b := &slowTransport{}
		if _, err := par.Map(context.Background(), xs, rememberedTask.Func(), par.On(b), par.Jobs(2)); err != nil {
			t.Fatal(err)
		}
		firsts[call] = b.sizes[:2]
	}
	if firsts[0][0] != 1 {
		t.Fatalf("first call's batches began %v, want one job: nothing was known", firsts[0])
	}
	if min(firsts[1][0], firsts[1][1]) < 1000 {
		t.Fatalf("second call's batches began %v, want the first call's size (thousands of 100 ns jobs)", firsts[1])
	}
}

func TestBatchesFollowRunTimeNotRoundTrips(t *testing.T) {
	b := &slowTransport{}
	xs := make([]float64, 20000)
	got, err := par.Map(context.Background(), xs, sqrtTask.Func(), par.On(b), par.Jobs(2))
	if err != nil || len(got) != len(xs) {
		t.Fatal(err)
	}
	// Sized by the 2 ms round trip, every batch would be one job long
	// (20,000 of them); by run time they grow eightfold to 10,000 jobs.
	if b.execs > 60 {
		t.Fatalf("%d batches for %d jobs: sizes follow the round trip, not the jobs' run time", b.execs, len(xs))
	}
}
