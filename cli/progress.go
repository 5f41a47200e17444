package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress draws --bar and --eta on par's stderr. Job output never goes
// there, so redirecting stdout gives clean output while the terminal
// shows progress.
type progress struct {
	bar   *progressbar.ProgressBar
	w     io.Writer
	eta   bool
	total int
	done  int
	start time.Time
}

func newProgress(w io.Writer, total int, bar, eta bool) *progress {
	p := &progress{w: w, eta: eta, total: total, start: time.Now()}
	if bar {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetWidth(30),
			progressbar.OptionClearOnFinish(),
		)
	}
	return p
}

// step records one finished job.
func (p *progress) step(failed bool) {
	p.done++
	if p.bar != nil {
		p.bar.Add(1)
	}
	if p.eta && p.bar == nil {
		el := time.Since(p.start)
		avg := el / time.Duration(p.done)
		left := p.total - p.done
		fmt.Fprintf(p.w, "\rETA: %ds Left: %d AVG: %.2fs  done: %d/%d ",
			int((avg * time.Duration(left)).Seconds()), left, avg.Seconds(), p.done, p.total)
	}
}

func (p *progress) finish() {
	if p.bar != nil {
		p.bar.Finish()
	}
	if p.eta && p.bar == nil {
		fmt.Fprintln(p.w)
	}
}
