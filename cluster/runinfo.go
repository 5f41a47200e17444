package cluster

import (
	"cmp"
	"context"
	"encoding/json"
	"os"
	"strconv"

	"github.com/nats-io/nats.go"

	"github.com/par-project/par"
)

// What a cluster tells those who watch it (par status, the dashboard)
// beyond the jobs and results themselves. Batches carry headers that name
// their run; results carry the delivery they answer; a driver announces on
// the core NATS subject "par.ended.<run>" that a run is over, with an
// Ended as JSON; workers describe themselves in the workers bucket (see
// WorkerInfo).
const (
	HeaderName     = "Par-Name"     // on batches: the run's name, or its task's
	HeaderHost     = "Par-Host"     // on batches: the host the driver runs on
	HeaderTotal    = "Par-Total"    // on batches: the run's job count, when known
	HeaderDelivery = "Par-Delivery" // on results: how often their batch was handed out (1 the first time)
	EndedPrefix    = "par.ended."   // par.ended.<run>: the driver is done with the run
)

// Ended is what a driver publishes on EndedPrefix+run when it closes a
// run's session.
type Ended struct {
	// Cancelled is set when the driver gave up on batches before their
	// results came (its context ended, or a fail-fast run stopped at its
	// first error): their jobs were withdrawn and will never have results.
	Cancelled bool `json:"cancelled"`
}

// Named returns c as a par.Backend whose runs are shown by par status and
// the dashboard under name, with total jobs (their progress is then
// measured against it; a negative total means unknown). Runs started on c
// itself are shown under their task's name, their progress measured
// against the jobs submitted so far.
//
//	out, err := par.Map(ctx, files, Resize.Func(), par.On(c.Named("thumbnails", len(files))))
func (c *Client) Named(name string, total int) par.Backend {
	return named{c: c, label: runLabel{name: name, total: max(total, -1)}}
}

type named struct {
	c     *Client
	label runLabel
}

func (n named) Start(ctx context.Context, spec par.Spec) (par.Session, error) {
	return n.c.start(ctx, spec, n.label)
}

// runLabel is what a session's batches say about their run.
type runLabel struct {
	name    string
	total   int  // -1 when unknown
	durable bool // a durable run (see Client.Run)
}

// header returns the headers of a batch of task in a run labelled l.
func (l runLabel) header(task, host string) nats.Header {
	h := nats.Header{}
	h.Set(HeaderName, cmp.Or(l.name, task))
	if host != "" {
		h.Set(HeaderHost, host)
	}
	if l.total >= 0 {
		h.Set(HeaderTotal, strconv.Itoa(l.total))
	}
	if l.durable {
		h.Set(HeaderDurable, "1")
	}
	return h
}

// publishEnded tells watchers that the session's run is over.
func (s *session) publishEnded() {
	data, _ := json.Marshal(Ended{Cancelled: s.abandoned.Load()})
	_ = s.c.nc.Publish(EndedPrefix+s.run, data)
}

// hostname is the driver's host for HeaderHost.
func hostname() string {
	h, _ := os.Hostname()
	return h
}
