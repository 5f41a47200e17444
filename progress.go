package par

import (
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Status is a run's progress, as passed to the Progress callback.
type Status struct {
	Done    int           // jobs finished, failed ones included
	Failed  int           // jobs that failed
	Retried int           // retries spent so far
	Total   int           // jobs in the run, or -1 when the inputs are an iter.Seq
	Elapsed time.Duration // since the run started
}

// Rate returns finished jobs per second so far.
func (s Status) Rate() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Done) / s.Elapsed.Seconds()
}

// ETA estimates the time left at the rate so far; zero when unknown.
func (s Status) ETA() time.Duration {
	r := s.Rate()
	if s.Total < 0 || r == 0 {
		return 0
	}
	return time.Duration(float64(s.Total-s.Done) / r * float64(time.Second))
}

// tracker follows one run's progress for the Progress callback and the bar.
// It is used only by the goroutine that collects results.
type tracker struct {
	fn     func(Status)
	bar    *progressbar.ProgressBar
	status Status
	start  time.Time
}

func newTracker(o *options, total int) *tracker {
	t := &tracker{fn: o.progress, start: time.Now(), status: Status{Total: total}}
	if o.barTo != nil && (!o.barTTY || isTerminal(os.Stderr)) {
		t.bar = progressbar.NewOptions64(int64(total),
			progressbar.OptionSetWriter(o.barTo),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("jobs"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetWidth(30),
			progressbar.OptionOnCompletion(func() { _, _ = o.barTo.Write([]byte("\n")) }),
		)
	}
	return t
}

func (t *tracker) active() bool { return t.fn != nil || t.bar != nil }

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

func (t *tracker) add(b interface{ counts() (int, int, int) }) {
	if t.fn == nil && t.bar == nil {
		return
	}
	ran, failed, retried := b.counts()
	t.status.Done += ran
	t.status.Failed += failed
	t.status.Retried += retried
	t.status.Elapsed = time.Since(t.start)
	if t.fn != nil {
		t.fn(t.status)
	}
	if t.bar != nil {
		_ = t.bar.Add(ran)
	}
}

func (t *tracker) finish() {
	if t.bar != nil {
		_ = t.bar.Finish()
	}
}

func (b *batch[In, Out]) counts() (int, int, int) { return b.ran, b.nerr, b.retry }
