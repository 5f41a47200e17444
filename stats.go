package par

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

type counters struct {
	Done    int           // jobs finished, failed ones included
	Failed  int           // jobs that failed
	Retried int           // retries spent
	Busy    time.Duration // time spent running jobs
}

// PerJob returns the mean time a job took.
func (c counters) PerJob() time.Duration {
	if c.Done == 0 {
		return 0
	}
	return c.Busy / time.Duration(c.Done)
}

// WorkerStats are one worker's figures.
type WorkerStats struct {
	ID     int
	Active bool // false once the worker stopped (SetWorkers down)
	counters
}

// TaskStats are one task's figures; plain funcs are named by their Go name.
type TaskStats struct {
	Name string
	counters
}

// Stats is a snapshot of a pool's work (Parallel Python's print_stats).
type Stats struct {
	Workers   int           // workers running now
	Queued    int           // jobs waiting for a worker
	Elapsed   time.Duration // since the pool started
	PerWorker []WorkerStats // every worker the pool has had, by ID
	PerTask   []TaskStats   // by name
	counters                // totals
}

// Throughput returns jobs finished per second since the pool started.
func (s Stats) Throughput() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Done) / s.Elapsed.Seconds()
}

// Stats returns a snapshot of p's figures.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Stats{Workers: p.live, Queued: len(p.queue) - p.head, Elapsed: time.Since(p.start)}
	for _, w := range p.workers {
		s.PerWorker = append(s.PerWorker, *w)
		s.Done += w.Done
		s.Failed += w.Failed
		s.Retried += w.Retried
		s.Busy += w.Busy
	}
	for _, t := range p.tasks {
		s.PerTask = append(s.PerTask, *t)
	}
	slices.SortFunc(s.PerTask, func(a, b TaskStats) int { return cmp.Compare(a.Name, b.Name) })
	return s
}

// String formats s as a table: one row per worker, then one per task.
func (s Stats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d jobs, %d failed, %d retried in %v (%.1f jobs/s) on %d workers\n",
		s.Done, s.Failed, s.Retried, s.Elapsed.Round(time.Millisecond), s.Throughput(), len(s.PerWorker))
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "worker\tjobs\tshare\tfailed\tbusy\tper job\t")
	for _, w := range s.PerWorker {
		fmt.Fprintf(tw, "%d\t%d\t%s\t%d\t%v\t%v\t\n", w.ID, w.Done, share(w.Done, s.Done), w.Failed,
			w.Busy.Round(time.Microsecond), w.PerJob().Round(time.Microsecond))
	}
	fmt.Fprintln(tw, "task\tjobs\tshare\tfailed\tbusy\tper job\t")
	for _, t := range s.PerTask {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%v\t%v\t\n", t.Name, t.Done, share(t.Done, s.Done), t.Failed,
			t.Busy.Round(time.Microsecond), t.PerJob().Round(time.Microsecond))
	}
	tw.Flush()
	return b.String()
}

func share(n, total int) string {
	if total == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(total))
}
