package dashboard

import (
	"cmp"
	"slices"
	"strconv"
	"time"
)

// snapshot returns what the tracker knows at now.
func (t *tracker) snapshot(now time.Time) *Snapshot {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := &Snapshot{Time: now, Since: t.since, WorkerTTL: MillisOf(t.ttl),
		Workers: []Worker{}, Queues: []Queue{}, Runs: []Run{}, Failures: []Failure{}, Stats: []Stat{}, Problems: []string{}}
	// Workers.
	perQueue := map[string][2]int{}
	for key, e := range t.workers {
		age := now.Sub(e.seen)
		if t.ttl > 0 && age > t.ttl {
			delete(t.workers, key) // its entry expired
			continue
		}
		w := e.w
		w.Seen, w.Age = e.seen, MillisOf(max(0, age))
		w.Stale = t.ttl > 0 && age > 2*t.ttl/3
		s.Workers = append(s.Workers, w)
		if !w.Stale {
			c := perQueue[w.Queue]
			perQueue[w.Queue] = [2]int{c[0] + 1, c[1] + w.Slots}
		}
	}
	slices.SortFunc(s.Workers, func(a, b Worker) int { return cmp.Compare(a.ID, b.ID) })
	// Queues.
	for _, q := range t.queues {
		c := perQueue[q.Name]
		q.Workers, q.Slots = c[0], c[1]
		s.Queues = append(s.Queues, q)
	}
	// Runs.
	for _, r := range t.sortedRuns() {
		run := Run{
			ID: r.id, Queue: r.queue, Tasks: slices.Clone(r.tasks), Name: r.name, Host: r.host, Total: r.total,
			Submitted: r.submitted, Done: r.done, Failed: r.failed, Pending: r.pending(),
			Retried: r.retried, Rerun: r.rerun, Redelivered: r.redelivered, Ended: r.ended, QueuedBatches: t.queued[r.id],
			Started: r.started, Last: r.last, Partial: r.partial, ETA: -1,
		}
		if run.Tasks == nil {
			run.Tasks = []string{}
		}
		switch {
		case run.Pending == 0 && len(r.batches) == 0:
			run.State = RunDone
		case r.cancelled:
			run.State = RunWithdrawn
		case run.QueuedBatches == 0 && now.Sub(r.last) > 5*time.Second:
			run.State = RunWithdrawn
		default:
			run.State = RunRunning
		}
		if n := len(r.samples); n > 1 {
			a, b := r.samples[0], r.samples[n-1]
			if dt := b.t.Sub(a.t).Seconds(); dt > 0 {
				run.Rate = float64(b.n-a.n) / dt
			}
		}
		if run.State == RunDone && run.Rate == 0 {
			if dt := r.last.Sub(r.started).Seconds(); dt > 0 {
				run.Rate = float64(r.done+r.failed) / dt
			}
		}
		if left := r.total - r.done - r.failed; r.total >= 0 && left >= 0 && run.Rate > 0 {
			run.ETA = Millis(float64(left) / run.Rate * 1000)
		}
		s.Runs = append(s.Runs, run)
	}
	// Failures, newest first.
	n := len(t.failures)
	for i := range n {
		s.Failures = append(s.Failures, t.failures[(t.failPos+n-1-i)%n])
	}
	// Stats.
	for k, st := range t.stats {
		h := Histogram{Bounds: durationBounds, Counts: make([]uint64, len(durationBounds)), Sum: st.sum}
		var c uint64
		for i := range durationBounds {
			c += st.counts[i]
			h.Counts[i] = c
		}
		h.Count = c + st.counts[len(durationBounds)]
		s.Stats = append(s.Stats, Stat{Queue: k.queue, Task: k.task, Submitted: st.submitted, Done: st.done,
			Failed: st.failed, Retried: st.retried, Rerun: st.rerun, Redelivered: st.redelivered, Duration: h})
		s.Totals.Submitted += st.submitted
		s.Totals.Done += st.done
		s.Totals.Failed += st.failed
		s.Totals.Retried += st.retried
		s.Totals.Rerun += st.rerun
		s.Totals.Redelivered += st.redelivered
	}
	slices.SortFunc(s.Stats, func(a, b Stat) int { return cmp.Or(cmp.Compare(a.Queue, b.Queue), cmp.Compare(a.Task, b.Task)) })
	// Throughput over the last shownSecs whole seconds.
	end := now.Unix()
	for sec := end - shownSecs; sec < end; sec++ {
		p := t.secs[slot(sec)]
		if p.T != sec {
			p = Point{T: sec}
		}
		s.Rate = append(s.Rate, p)
	}
	// Problems.
	for what, msg := range t.problems {
		s.Problems = append(s.Problems, what+": "+msg)
	}
	if t.bad > 0 {
		s.Problems = append(s.Problems, strconv.FormatInt(t.bad, 10)+" messages did not decode")
	}
	slices.Sort(s.Problems)
	return s
}
