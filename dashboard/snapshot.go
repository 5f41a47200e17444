package dashboard

import (
	"context"
	"time"
)

// A Source gives the state of a cluster. A Collector is one; tests and
// other programs can provide their own. Snapshot is called for every page
// update and every scrape, so it should be cheap, and safe for concurrent
// use.
type Source interface {
	Snapshot(ctx context.Context) (*Snapshot, error)
}

// Snapshot is what the dashboard shows at one moment, and what /api/state
// and /api/events send as JSON.
type Snapshot struct {
	Time time.Time `json:"time"`
	// WorkerTTL is how long a worker's entry lives after its last
	// heartbeat; 0 when unknown.
	WorkerTTL Millis    `json:"worker_ttl_ms"`
	Workers   []Worker  `json:"workers"`
	Queues    []Queue   `json:"queues"`
	Runs      []Run     `json:"runs"`     // newest first
	Failures  []Failure `json:"failures"` // newest first, at most MaxFailures
	Stats     []Stat    `json:"stats"`    // per queue and task, since the source started
	Totals    Totals    `json:"totals"`   // Stats added up
	Rate      []Point   `json:"rate"`     // jobs finished per second, oldest first, one point a second
	Problems  []string  `json:"problems"` // what the source could not read, for the page to show
	Since     time.Time `json:"since"`    // when the source started counting
}

// Millis is a duration that travels as whole milliseconds.
type Millis int64

// MillisOf returns d in milliseconds.
func MillisOf(d time.Duration) Millis { return Millis(d.Milliseconds()) }

// Worker is a live worker, as it last described itself in the PAR_WORKERS
// bucket.
type Worker struct {
	ID    string `json:"id"`
	Host  string `json:"host"`
	PID   int    `json:"pid"`
	Queue string `json:"queue"`
	Cores int    `json:"cores"`
	Slots int    `json:"slots"` // batches it runs at once
	Busy  int    `json:"busy"`  // batches running at its last heartbeat
	// RunningJobs are the jobs of those batches.
	RunningJobs int       `json:"running_jobs"`
	Jobs        int64     `json:"jobs"`   // jobs it finished, failed ones included
	Failed      int64     `json:"failed"` // jobs that failed on it
	LastError   string    `json:"last_error"`
	Exec        bool      `json:"exec"`
	Started     time.Time `json:"started"`
	Seen        time.Time `json:"seen"`   // its last heartbeat, by the server's clock
	Age         Millis    `json:"age_ms"` // since Seen
	// Stale is set when no heartbeat came for two thirds of the worker
	// TTL: the worker is probably gone, and its entry expires at the TTL.
	Stale bool `json:"stale"`
}

// Queue is the state of one queue's batches, from its JetStream consumer.
type Queue struct {
	Name        string `json:"name"`
	Pending     uint64 `json:"pending"`     // batches waiting for a worker
	InFlight    int    `json:"in_flight"`   // handed out, not yet finished
	Redelivered int    `json:"redelivered"` // handed out again after a lost worker
	Waiting     int    `json:"waiting"`     // idle worker slots asking for work
	Workers     int    `json:"workers"`     // live workers serving it
	Slots       int    `json:"slots"`       // their slots
}

// Run states.
const (
	RunRunning   = "running"   // jobs are pending
	RunDone      = "done"      // every job submitted so far has a result
	RunWithdrawn = "withdrawn" // the driver gave up on jobs still pending (or none is queued any more)
)

// Run is a driver's run (a Map, Stream or Pool session) as seen from its
// batches and results. Counts are of job attempts: a job retried by the
// driver counts once per submission.
type Run struct {
	ID    string   `json:"id"`
	Queue string   `json:"queue"`
	Tasks []string `json:"tasks"`
	// Name, Host and Total are known only when the driver sends them
	// (headers Par-Name, Par-Host and Par-Total on its batches); "" and -1
	// otherwise.
	Name  string `json:"name"`
	Host  string `json:"host"`
	Total int64  `json:"total"`

	Submitted int64 `json:"submitted"` // job attempts published
	Done      int64 `json:"done"`      // succeeded
	Failed    int64 `json:"failed"`
	Pending   int64 `json:"pending"` // submitted, no result yet
	Retried   int64 `json:"retried"` // submitted again after a failure
	Rerun     int64 `json:"rerun"`   // results that came twice
	// Redelivered counts results of batches handed out more than once,
	// because their first worker was lost or stopped.
	Redelivered int64 `json:"redelivered"`
	// Ended is set when the driver said it is done with the run: every
	// result it waited for came, or it gave up (then the run is withdrawn).
	Ended bool `json:"ended"`
	// QueuedBatches are the run's batches in PAR_JOBS: waiting or running.
	QueuedBatches uint64 `json:"queued_batches"`

	State string  `json:"state"` // one of the Run constants
	Rate  float64 `json:"rate"`  // jobs finished per second, over the last 10 seconds
	// ETA is the time left at Rate, when Total is known; -1 otherwise.
	ETA     Millis    `json:"eta_ms"`
	Started time.Time `json:"started"` // first batch seen
	Last    time.Time `json:"last"`    // last batch or result seen
	// Partial is set when the run was under way before the source started,
	// so its earlier batches and results are not counted.
	Partial bool `json:"partial"`
}

// Failure is a job that failed, as its worker reported it.
type Failure struct {
	Time   time.Time `json:"time"`
	Run    string    `json:"run"`
	Queue  string    `json:"queue"`
	Task   string    `json:"task"`
	Index  int64     `json:"index"`
	Worker string    `json:"worker"`
	Kind   string    `json:"kind"`  // job, panic, timeout, lost, decode, unknown-task
	Error  string    `json:"error"` // the error's text, cut at MaxErrorLen bytes
}

// Stat counts the jobs of one task on one queue.
type Stat struct {
	Queue     string `json:"queue"`
	Task      string `json:"task"`
	Submitted int64  `json:"submitted"`
	Done      int64  `json:"done"`
	Failed    int64  `json:"failed"`
	Retried   int64  `json:"retried"`
	Rerun     int64  `json:"rerun"`
	// Redelivered counts results of batches handed out more than once.
	Redelivered int64     `json:"redelivered"`
	Duration    Histogram `json:"duration"`
}

// Totals adds up Stats.
type Totals struct {
	Submitted int64 `json:"submitted"`
	Done      int64 `json:"done"`
	Failed    int64 `json:"failed"`
	Retried   int64 `json:"retried"`
	Rerun     int64 `json:"rerun"`
	// Redelivered counts results of batches handed out more than once.
	Redelivered int64 `json:"redelivered"`
}

// Histogram counts job durations in seconds. Counts[i] is the number of
// observations at most Bounds[i] (cumulative, as Prometheus has them).
type Histogram struct {
	Bounds []float64 `json:"bounds"`
	Counts []uint64  `json:"counts"`
	Count  uint64    `json:"count"`
	Sum    float64   `json:"sum"`
}

// Point is one second of throughput.
type Point struct {
	T      int64 `json:"t"`      // Unix seconds
	Done   int64 `json:"done"`   // jobs that succeeded in that second
	Failed int64 `json:"failed"` // jobs that failed in that second
}

// Limits of a Snapshot.
const (
	MaxFailures = 50   // failures kept
	MaxErrorLen = 2048 // bytes of an error's text kept
	MaxRuns     = 100  // runs kept; finished ones go first
)
