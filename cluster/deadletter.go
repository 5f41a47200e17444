package cluster

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/par-project/par/internal/wire"
)

// Dead letters: a batch handed out Settings.MaxDeliver times is not run
// again; its jobs fail with a *par.WorkerLostError, and the worker that
// got it last keeps it in stream PAR_DEAD, on subject par.dead.<run>,
// with the reason. par status lists them; par retry RUN (Client.Retry)
// puts them back in the queue.
const (
	DeadStream   = "PAR_DEAD"
	deadPrefix   = "par.dead."
	headerReason = "Par-Reason" // on dead letters: why the batch was given up
	headerQueue  = "Par-Queue"  // on dead letters: the queue it came from
	headerJobs   = "Par-Jobs"   // on dead letters: how many jobs it holds
)

// DeadLetter is a batch whose jobs exhausted their deliveries.
type DeadLetter struct {
	Run    string    `json:"run"`
	Queue  string    `json:"queue"`
	Task   string    `json:"task"`
	Jobs   int       `json:"jobs"`
	Reason string    `json:"reason"`
	Time   time.Time `json:"time"`
	Seq    uint64    `json:"seq"` // its sequence in PAR_DEAD
}

// deadStream returns the dead letters' stream, creating it if asked.
func deadStream(ctx context.Context, js jetstream.JetStream, create bool, s Settings) (jetstream.Stream, error) {
	if !create {
		st, err := js.Stream(ctx, DeadStream)
		if err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			err = fmt.Errorf("cluster: stream %s: %w", DeadStream, err)
		}
		return st, err
	}
	s = s.withDefaults()
	replicas := s.Replicas
	if replicas == 0 {
		replicas = autoReplicas(js.Conn())
	}
	return ensureStream(ctx, js, jetstream.StreamConfig{
		Name:        DeadStream,
		Description: "par: batches whose jobs exhausted their deliveries",
		Subjects:    []string{deadPrefix + ">"},
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      s.ResultsMaxAge,
		Storage:     jetstream.FileStorage,
		Duplicates:  2 * time.Minute,
		Replicas:    replicas,
	})
}

// keepDead stores the batch in msg as a dead letter, once whatever the
// worker that does it: the message id names the job message.
func (w *worker) keepDead(ctx context.Context, msg jetstream.Msg, b *wire.Batch, queue string, seq uint64, reason string) error {
	if _, err := deadStream(ctx, w.js, true, w.cfg.settings); err != nil {
		return err
	}
	dm := &nats.Msg{Subject: deadPrefix + b.Run, Data: msg.Data(), Header: nats.Header{}}
	for k, v := range msg.Headers() { // the batch's own, for its retry
		if !strings.HasPrefix(k, "Nats-") {
			dm.Header[k] = v
		}
	}
	dm.Header.Set(headerReason, reason)
	dm.Header.Set(headerQueue, queue)
	dm.Header.Set(headerJobs, strconv.Itoa(b.Len()))
	_, err := publish(ctx, w.js, dm, "dead."+strconv.FormatUint(seq, 10), w.cfg.log)
	return err
}

// DeadLetters lists the dead letters of run, or of every run when run is
// "".
func (c *Client) DeadLetters(ctx context.Context, run string) ([]DeadLetter, error) {
	st, err := deadStream(ctx, c.js, false, Settings{})
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []DeadLetter
	err = eachDead(ctx, c.js, run, func(m jetstream.Msg) error {
		var b wire.Batch
		if wire.Unmarshal(m.Data(), &b) != nil {
			return nil
		}
		md, err := m.Metadata()
		if err != nil {
			return err
		}
		h := m.Headers()
		jobs, _ := strconv.Atoi(h.Get(headerJobs))
		out = append(out, DeadLetter{Run: strings.TrimPrefix(m.Subject(), deadPrefix), Queue: h.Get(headerQueue), Task: b.Task,
			Jobs: jobs, Reason: h.Get(headerReason), Time: md.Timestamp, Seq: md.Sequence.Stream})
		return nil
	}, st)
	return out, err
}

// eachDead calls fn with each dead letter of run ("" for all) stored now.
func eachDead(ctx context.Context, js jetstream.JetStream, run string, fn func(jetstream.Msg) error, st jetstream.Stream) error {
	subject := deadPrefix + ">"
	if run != "" {
		subject = deadPrefix + run
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		return fmt.Errorf("cluster: reading dead letters: %w", err)
	}
	total := uint64(0)
	for _, n := range info.State.Subjects {
		total += n
	}
	if total == 0 {
		return nil
	}
	cons, err := js.OrderedConsumer(ctx, DeadStream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		return fmt.Errorf("cluster: reading dead letters: %w", err)
	}
	var ferr error
	for seen := uint64(0); seen < total && ferr == nil; {
		batch, err := cons.FetchNoWait(int(min(total-seen, 1000)))
		if err != nil {
			return fmt.Errorf("cluster: reading dead letters: %w", err)
		}
		n := 0
		for m := range batch.Messages() { // read to the end, so the fetch ends
			n++
			if ferr == nil {
				ferr = fn(m)
			}
		}
		if n == 0 {
			if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, jetstream.ErrNoMessages) {
				return fmt.Errorf("cluster: reading dead letters: %w", err)
			}
			return nil // deleted meanwhile
		}
		seen += uint64(n)
	}
	return ferr
}

// Retry puts run's dead letters back in the queues they came from, as new
// batches that get Settings.MaxDeliver deliveries again, and deletes them.
// Their results go where the run's results go: to its driver if it still
// waits for them, and, for a durable run, to the results a driver that
// runs the name again gets back. It returns how many jobs it re-queued.
func (c *Client) Retry(ctx context.Context, run string) (int, error) {
	if err := checkName("run", run); err != nil {
		return 0, err
	}
	st, err := deadStream(ctx, c.js, false, Settings{})
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	jobs := 0
	retry := nuid.Next()
	err = eachDead(ctx, c.js, run, func(m jetstream.Msg) error {
		md, err := m.Metadata()
		if err != nil {
			return err
		}
		queue := m.Headers().Get(headerQueue)
		if checkName("queue", queue) != nil {
			queue = DefaultQueue
		}
		jm := &nats.Msg{Subject: jobsPrefix + queue + "." + run, Data: m.Data(), Header: nats.Header{}}
		for k, v := range m.Headers() {
			if k != headerReason && k != headerQueue && k != headerJobs && !strings.HasPrefix(k, "Nats-") {
				jm.Header[k] = v
			}
		}
		msgID := fmt.Sprintf("%s.retry.%s.%d", run, retry, md.Sequence.Stream)
		if _, err := publish(ctx, c.js, jm, msgID, c.cfg.log); err != nil {
			return fmt.Errorf("cluster: re-queueing a dead letter of run %s: %w", run, err)
		}
		if err := st.DeleteMsg(ctx, md.Sequence.Stream); err != nil {
			return fmt.Errorf("cluster: deleting a re-queued dead letter: %w", err)
		}
		n, _ := strconv.Atoi(m.Headers().Get(headerJobs))
		jobs += n
		return nil
	}, st)
	return jobs, err
}

// purgeDead deletes run's dead letters.
func (c *Client) purgeDead(ctx context.Context, run string) error {
	st, err := deadStream(ctx, c.js, false, Settings{})
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err == nil {
		err = st.Purge(ctx, jetstream.WithPurgeSubject(deadPrefix+run))
	}
	if err != nil {
		return fmt.Errorf("cluster: deleting dead letters of run %s: %w", run, err)
	}
	return nil
}

// RetryMain runs par retry: it puts the dead letters of the run named by
// its argument back in their queues (see Client.Retry) and says how many
// jobs it re-queued. par status lists the dead letters and their runs.
//
//	par retry [--connect URL] [--secret S] RUN
func RetryMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("par retry", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("connect", "nats://127.0.0.1:4222", "NATS URL of the cluster; several comma-separated to fail over")
	secret := fs.String("secret", "", "shared secret (default $PAR_SECRET)")
	if fs.Parse(args) != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "par retry: give one run name (par status lists the runs with dead letters)")
		return 2
	}
	run := fs.Arg(0)
	if err := checkName("run", run); err != nil {
		fmt.Fprintln(stderr, "par retry:", err)
		return 2
	}
	c, err := Connect(*url, Secret(secretOr(*secret)))
	if err != nil {
		fmt.Fprintln(stderr, "par retry:", err)
		return 1
	}
	defer c.Close()
	n, err := c.Retry(ctx, run)
	if err != nil {
		fmt.Fprintln(stderr, "par retry:", err)
		return 1
	}
	fmt.Fprintf(stdout, "re-queued %d jobs of run %s\n", n, run)
	return 0
}
