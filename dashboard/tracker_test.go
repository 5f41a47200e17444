package dashboard

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/par-project/par/internal/wire"
)

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	data, err := wire.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// inputs returns the inputs of n jobs, as a batch carries them.
func inputs(n int) []byte {
	return wire.JoinArray(slices.Repeat([][]byte{{0x01}}, n))
}

// results returns the results of batch's jobs indexes from worker, which
// ran 2 ms each: jobs listed in errs failed, at their position.
func results(batch uint64, worker string, indexes []int64, errs ...wire.JobError) *wire.Results {
	outs := slices.Repeat([][]byte{{0x01}}, len(indexes))
	for _, e := range errs {
		outs[e.At] = []byte{0xf6}
	}
	return &wire.Results{Batch: batch, Worker: worker, Indexes: indexes, Outputs: wire.JoinArray(outs), Errs: errs,
		Nanos: int64(len(indexes)) * 2e6}
}

func TestTrackerCountsRuns(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	tr := newTracker(t0)
	h := nats.Header{}
	h.Set(HeaderName, "nightly")
	h.Set(HeaderHost, "box")
	h.Set(HeaderTotal, "5")
	tr.batch("par.jobs.q.r1", h, mustMarshal(t, &wire.Batch{ID: 1, Run: "r1", Task: "sq", First: 0, Inputs: inputs(3), Attempt: 1}), t0)
	// The same batch sent again after a reconnect counts once.
	tr.batch("par.jobs.q.r1", nil, mustMarshal(t, &wire.Batch{ID: 1, Run: "r1", Task: "sq", First: 0, Inputs: inputs(3), Attempt: 1}), t0)
	tr.batch("par.jobs.q.r1", nil, mustMarshal(t, &wire.Batch{ID: 2, Run: "r1", Task: "sq", Indexes: []int64{3, 9}, Inputs: inputs(2), Attempt: 2}), t0)

	t1 := t0.Add(time.Second)
	tr.results("par.results.r1", nil, mustMarshal(t, results(1, "w1", []int64{0, 1, 2},
		wire.JobError{At: 2, Err: wire.Error{Kind: wire.KindJob, Msg: "<b>bad</b> " + strings.Repeat("x", 3*MaxErrorLen)}})), t1)
	// Batch 1 again, from a worker that took it over: a rerun.
	tr.results("par.results.r1", nil, mustMarshal(t, results(1, "w2", []int64{0})), t1)
	tr.results("par.results.r1", nil, mustMarshal(t, results(2, "w2", []int64{9})), t1)
	// Results of a run that started before the tracker.
	tr.results("par.results.old", nil, mustMarshal(t, results(4, "w2", []int64{0})), t1)
	// Junk is counted as a problem, not a panic.
	tr.results("par.results.r1", nil, []byte{0xff}, t1)
	tr.batch("par.jobs.q.r1", nil, []byte{0x01}, t1)

	tr.polled([]Queue{{Name: "q", Pending: 1}}, map[string]uint64{"r1": 1}, 15*time.Second, t1)
	tr.setWorker("w1", &Worker{ID: "w1", Queue: "q", Slots: 2}, t1)
	tr.setWorker("w2", &Worker{ID: "w2", Queue: "q", Slots: 2}, t1.Add(-11*time.Second))
	tr.setWorker("w3", &Worker{ID: "w3", Queue: "q", Slots: 2}, t1.Add(-16*time.Second))

	s := tr.snapshot(t1.Add(time.Second))
	if len(s.Runs) != 2 {
		t.Fatalf("%d runs, want 2", len(s.Runs))
	}
	var r Run
	for _, x := range s.Runs {
		if x.ID == "r1" {
			r = x
		}
	}
	want := Run{ID: "r1", Queue: "q", Name: "nightly", Host: "box", Total: 5, Submitted: 5, Done: 3, Failed: 1,
		Pending: 1, Retried: 2, Rerun: 1, QueuedBatches: 1, State: RunRunning}
	if r.Name != want.Name || r.Host != want.Host || r.Total != want.Total || r.Submitted != want.Submitted ||
		r.Done != want.Done || r.Failed != want.Failed || r.Pending != want.Pending || r.Retried != want.Retried ||
		r.Rerun != want.Rerun || r.QueuedBatches != want.QueuedBatches || r.State != want.State || r.Partial {
		t.Errorf("run = %+v\nwant %+v", r, want)
	}
	if len(s.Failures) != 1 {
		t.Fatalf("%d failures, want 1", len(s.Failures))
	}
	f := s.Failures[0]
	if f.Index != 2 || f.Worker != "w1" || f.Task != "sq" || f.Kind != wire.KindJob || !strings.HasPrefix(f.Error, "<b>bad</b> ") ||
		len(f.Error) > MaxErrorLen+len("…") {
		t.Errorf("failure = %+v (error of %d bytes)", f, len(f.Error))
	}
	if s.Totals != (Totals{Submitted: 5, Done: 4, Failed: 1, Retried: 2, Rerun: 1}) {
		t.Errorf("totals = %+v", s.Totals)
	}
	if len(s.Workers) != 2 || s.Workers[0].Stale || !s.Workers[1].Stale {
		t.Errorf("workers = %+v, want w1 fresh, w2 stale, w3 gone", s.Workers)
	}
	if len(s.Queues) != 1 || s.Queues[0].Workers != 1 || s.Queues[0].Slots != 2 {
		t.Errorf("queues = %+v", s.Queues)
	}
	if len(s.Problems) != 1 || !strings.Contains(s.Problems[0], "2 messages did not decode") {
		t.Errorf("problems = %q", s.Problems)
	}
	last := s.Rate[len(s.Rate)-1]
	if last.T != t1.Unix() || last.Done != 4 || last.Failed != 1 {
		t.Errorf("last second of throughput = %+v", last)
	}
	for _, st := range s.Stats {
		if st.Task == "sq" && (st.Duration.Count != 4 || st.Duration.Counts[len(st.Duration.Counts)-1] != 4) {
			t.Errorf("duration histogram of sq = %+v", st.Duration)
		}
	}

	// The last job comes in: the run is done, with its rate and no ETA left.
	tr.results("par.results.r1", nil, mustMarshal(t, results(2, "w2", []int64{3})), t1)
	tr.polled(nil, map[string]uint64{}, 0, t1.Add(time.Second))
	s = tr.snapshot(t1.Add(time.Second))
	if r := s.Runs[len(s.Runs)-1]; r.ID != "r1" || r.State != RunDone || r.Pending != 0 || r.ETA != 0 {
		t.Errorf("finished run = %+v", r)
	}
	// Finished runs go after runLinger.
	tr.polled(nil, nil, 0, t1.Add(runLinger+2*time.Second))
	if s := tr.snapshot(t1.Add(runLinger + 2*time.Second)); len(s.Runs) != 0 {
		t.Errorf("%d runs left after they finished long ago", len(s.Runs))
	}
}

func TestTrackerKeepsTheLastFailures(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	tr := newTracker(t0)
	n := MaxFailures + 7
	tr.batch("par.jobs.q.r", nil, mustMarshal(t, &wire.Batch{ID: 1, Task: "f", Inputs: inputs(n), Attempt: 1}), t0)
	for i := range n {
		tr.results("par.results.r", nil, mustMarshal(t, results(1, "", []int64{int64(i)},
			wire.JobError{At: 0, Err: wire.Error{Kind: wire.KindJob, Msg: "e"}})), t0)
	}
	s := tr.snapshot(t0)
	if len(s.Failures) != MaxFailures || s.Failures[0].Index != int64(n-1) || s.Failures[MaxFailures-1].Index != int64(n-MaxFailures) {
		t.Fatalf("%d failures from index %d to %d", len(s.Failures), s.Failures[0].Index, s.Failures[len(s.Failures)-1].Index)
	}
}

func TestTrackerWithdrawnRun(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	tr := newTracker(t0)
	tr.batch("par.jobs.q.r", nil, mustMarshal(t, &wire.Batch{ID: 1, Task: "f", Inputs: inputs(2), Attempt: 1}), t0)
	tr.polled(nil, map[string]uint64{}, 0, t0.Add(6*time.Second))
	if s := tr.snapshot(t0.Add(6 * time.Second)); s.Runs[0].State != RunWithdrawn {
		t.Fatalf("state %q, want %q", s.Runs[0].State, RunWithdrawn)
	}
}

func TestTrackerEndedAndRedelivered(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	tr := newTracker(t0)
	tr.batch("par.jobs.q.a", nil, mustMarshal(t, &wire.Batch{ID: 1, Task: "f", Inputs: inputs(2), Attempt: 1}), t0)
	tr.batch("par.jobs.q.b", nil, mustMarshal(t, &wire.Batch{ID: 1, Task: "f", Inputs: inputs(2), Attempt: 1}), t0)
	// Run a: its batch's first worker was lost, the second delivery
	// answered; then the driver ended the run.
	second := nats.Header{}
	second.Set(HeaderDelivery, "2")
	tr.results("par.results.a", second, mustMarshal(t, results(1, "w2", []int64{0, 1})), t0)
	tr.ended("par.ended.a", []byte(`{"cancelled":false}`), t0)
	// Run b: the driver gave up before any result came.
	tr.ended("par.ended.b", []byte(`{"cancelled":true}`), t0)
	// Junk and runs never seen change nothing but the count of bad messages.
	tr.ended("par.ended.zzz", nil, t0)
	tr.ended("par.ended.a", []byte("{"), t0)
	tr.ended("par.ended.a.b", nil, t0)

	s := tr.snapshot(t0)
	got := map[string]Run{}
	for _, r := range s.Runs {
		got[r.ID] = r
	}
	if a := got["a"]; a.State != RunDone || !a.Ended || a.Redelivered != 2 || a.Done != 2 {
		t.Errorf("run a = %+v, want done, ended, 2 redelivered", a)
	}
	if b := got["b"]; b.State != RunWithdrawn || !b.Ended || b.Pending != 2 {
		t.Errorf("run b = %+v, want withdrawn at once, ended, 2 pending", b)
	}
	if s.Totals.Redelivered != 2 {
		t.Errorf("totals = %+v, want 2 redelivered", s.Totals)
	}
	if len(got) != 2 || len(s.Problems) != 1 || !strings.Contains(s.Problems[0], "1 messages did not decode") {
		t.Errorf("runs %v, problems %q", got, s.Problems)
	}
}

// FuzzTracker feeds the tracker messages as a hostile publisher could: it
// must not panic, whatever arrives.
func FuzzTracker(f *testing.F) {
	f.Add([]byte{}, mustMarshal(f, &wire.Batch{ID: 1, Task: "t", Inputs: inputs(2), Attempt: 1}),
		mustMarshal(f, results(1, "", []int64{1})))
	f.Add([]byte(`{"cancelled":true}`), mustMarshal(f, &wire.Batch{ID: 1, Task: "t", Indexes: []int64{5, 2}, Inputs: inputs(2), Attempt: 3}),
		mustMarshal(f, &wire.Results{Batch: 1, First: 2, Outputs: []byte{0x81, 0xf6}, Errs: []wire.JobError{{At: 0, Err: wire.Error{Kind: "x"}}}, Nanos: 1 << 62}))
	f.Fuzz(func(t *testing.T, ended []byte, batch, results []byte) {
		tr := newTracker(time.Unix(0, 0))
		now := time.Unix(100, 0)
		h := nats.Header{}
		h.Set(HeaderDelivery, string(ended))
		tr.batch("par.jobs.q.r", nil, batch, now)
		tr.results("par.results.r", h, results, now)
		tr.results("par.results.r", nil, results, now)
		tr.ended("par.ended.r", ended, now)
		tr.polled(nil, nil, time.Second, now)
		s := tr.snapshot(now)
		for _, r := range s.Runs {
			if r.Pending < 0 || r.Done+r.Failed > r.Submitted && !r.Partial {
				t.Fatalf("run %+v", r)
			}
		}
	})
}
