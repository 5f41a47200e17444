package cluster

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/par-project/par"
	"github.com/par-project/par/internal/remote"
	"github.com/par-project/par/internal/wire"
)

// A worker's batches, from the message it pulled to the results it
// stores: the batch's inputs arrive packed, one CBOR array, and run with
// one call (par.ExecBatch); its outputs leave packed the same way, with
// the errors of the jobs that failed beside them.

// handle runs the batch in msg and answers it: it sends the results
// straight to the driver, and returns a channel closed once they are
// stored and msg is acknowledged (nil when there is nothing to wait for).
func (w *worker) handle(ctx context.Context, msg jetstream.Msg) <-chan struct{} {
	var b wire.Batch
	if err := wire.Unmarshal(msg.Data(), &b); err != nil {
		w.cfg.log.Error("par worker: dropping a batch that does not decode", "subject", msg.Subject(), "err", err)
		_ = msg.TermWithReason("undecodable batch")
		return nil
	}
	if err := b.Validate(); err != nil {
		w.cfg.log.Error("par worker: dropping an invalid batch (is its driver another version of par?)", "subject", msg.Subject(), "err", err)
		_ = msg.TermWithReason("invalid batch")
		return nil
	}
	if w.isCancelled(b.Run) {
		_ = msg.TermWithReason("run cancelled")
		return nil
	}
	md, err := msg.Metadata()
	if err != nil {
		_ = msg.TermWithReason("no metadata")
		return nil
	}
	var rs wire.Results
	ins := b.Inputs // as they ran, large ones fetched
	switch {
	case w.maxDel > 0 && int(md.NumDelivered) >= w.maxDel:
		reason := fmt.Sprintf("batch %d was handed out %d times (MaxDeliver) and its worker was lost or stopped each time (a worker is declared lost %v after its last heartbeat)", b.ID, md.NumDelivered, w.ackWait)
		rs = failAll(&b, &wire.Error{Kind: wire.KindLost, Msg: reason, Retryable: true})
		if err := w.keepDead(ctx, msg, &b, w.cfg.queue, md.Sequence.Stream, reason); err != nil {
			w.cfg.log.Warn("par worker: dead letter not stored", "run", b.Run, "batch", b.ID, "err", err)
		}
	case b.Task == ExecTask && !w.cfg.allowExec:
		rs = failAll(&b, &wire.Error{Kind: kindExec, Msg: ErrExecNotAllowed.Error() + " (worker " + w.info.ID + ")"})
	default:
		var ok bool
		if rs, ins, ok = w.run(ctx, msg, &b); !ok {
			_ = msg.Nak() // stopped before it finished: another worker takes it
			return nil
		}
	}
	rs.Worker = w.info.ID
	durable := msg.Headers().Get(HeaderDurable) != ""
	var digests []string // a durable run's job digests (see Client.Run)
	if durable {
		if items, err := wire.SplitArray(ins); err == nil {
			digests = make([]string, len(items))
			for k, in := range items {
				digests[k] = digest(b.Task, in)
			}
		}
	}
	msgs, err := w.answer(b.Run, &rs, md.Sequence.Stream, md.NumDelivered, digests)
	if err != nil {
		w.cfg.log.Warn("par worker: results not encoded; the batch will run again", "run", b.Run, "batch", b.ID, "err", err)
		_ = msg.Nak()
		return nil
	}
	// Straight to the driver first: it need not wait until the results
	// are on disk. The stored copy is what counts when this one is lost,
	// and the driver keeps the first result of each job. A durable run's
	// driver takes only stored results.
	for _, m := range msgs {
		if durable {
			break
		}
		_ = w.nc.Publish(livePrefix+b.Run, m.Data)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.store(ctx, msg, &b, msgs)
	}()
	return done
}

// store stores the results messages msgs of the batch b, which came in
// msg, and then acknowledges msg; if they cannot be stored, msg goes back
// to the queue.
func (w *worker) store(ctx context.Context, msg jetstream.Msg, b *wire.Batch, msgs []resultsMsg) {
	for _, m := range msgs {
		if _, err := publish(ctx, w.js, m.Msg, m.id, w.cfg.log); err != nil {
			w.cfg.log.Warn("par worker: results not stored; the batch will run again", "run", b.Run, "batch", b.ID, "err", err)
			_ = msg.Nak()
			return
		}
	}
	actx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := msg.DoubleAck(actx); err != nil {
		// The results are stored; a second run is dropped by the driver.
		w.cfg.log.Warn("par worker: ack failed", "run", b.Run, "batch", b.ID, "err", err)
	}
}

// run runs b's jobs with heartbeats, and returns their results and the
// inputs as they ran (large ones fetched), or reports false if the worker
// was stopped before they finished.
func (w *worker) run(ctx context.Context, msg jetstream.Msg, b *wire.Batch) (wire.Results, []byte, bool) {
	bctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := &running{msg: msg, run: b.Run, cancel: cancel}
	n := b.Len()
	w.mu.Lock()
	w.running[r] = struct{}{}
	w.mu.Unlock()
	w.busy.Add(1)
	w.inJobs.Add(int64(n))
	defer func() {
		w.busy.Add(-1)
		w.inJobs.Add(-int64(n))
		w.mu.Lock()
		delete(w.running, r)
		w.mu.Unlock()
	}()
	t0 := time.Now()
	ins, inErrs := w.loadBigInputs(bctx, b.Inputs, b.Refs)
	jctx := context.WithValue(context.WithValue(bctx, workerKey{}, w.info.ID), objectsKey{}, w.objects)
	out, errs, err := par.ExecBatch(jctx, b.Task, ins, time.Duration(b.TimeoutNanos), nil)
	if m, cerr := wire.CountArray(out); err == nil && (cerr != nil || m != n) {
		err = fmt.Errorf("cluster: task %s returned %d results for %d jobs (%v)", b.Task, m, n, cerr)
	}
	if err != nil {
		// No job ran (an unknown task, say): each fails with the reason.
		errs = slices.Repeat([]error{err}, n)
		out = wire.Nulls(n)
	}
	if ctx.Err() != nil {
		return wire.Results{}, nil, false
	}
	rs := wire.Results{Batch: b.ID, First: b.First, Indexes: b.Indexes, Outputs: out, Nanos: time.Since(t0).Nanoseconds()}
	var werrs map[int]*wire.Error // the failed jobs' errors, nil if none
	for _, es := range [][]error{errs, inErrs} {
		for k, err := range es {
			if err != nil {
				werrs = withErr(werrs, k, remote.ToWire(err))
			}
		}
	}
	if len(out) > w.maxOut {
		werrs = w.bigResults(ctx, &rs, werrs)
	}
	rs.Errs = jobErrors(werrs)
	for _, e := range rs.Errs {
		w.noteFailure(&e.Err)
	}
	w.jobs.Add(int64(n))
	w.failed.Add(int64(len(rs.Errs)))
	return rs, ins, true
}

// withErr returns werrs with e as the error of job k.
func withErr(werrs map[int]*wire.Error, k int, e *wire.Error) map[int]*wire.Error {
	if werrs == nil {
		werrs = map[int]*wire.Error{}
	}
	werrs[k] = e
	return werrs
}

// bigResults stores each output of rs too large for a message in the
// object store and puts a reference in its place, or, when it cannot,
// fails its job in werrs, which it returns.
func (w *worker) bigResults(ctx context.Context, rs *wire.Results, werrs map[int]*wire.Error) map[int]*wire.Error {
	items, err := wire.SplitArray(rs.Outputs)
	if err != nil {
		return werrs // run counted them: cannot happen
	}
	changed := false
	for k, out := range items {
		if len(out) <= w.maxOut || werrs[k] != nil {
			continue
		}
		changed = true
		ref, werr := w.bigResult(ctx, out)
		if werr != nil {
			werrs, items[k] = withErr(werrs, k, werr), []byte{0xf6}
			continue
		}
		items[k] = ref
		rs.Refs = append(rs.Refs, k)
	}
	if changed {
		rs.Outputs = wire.JoinArray(items)
	}
	return werrs
}

// jobErrors lists the errors of werrs, by job, in order.
func jobErrors(werrs map[int]*wire.Error) []wire.JobError {
	if len(werrs) == 0 {
		return nil
	}
	out := make([]wire.JobError, 0, len(werrs))
	for k, e := range werrs {
		out = append(out, wire.JobError{At: k, Err: *e})
	}
	slices.SortFunc(out, func(a, b wire.JobError) int { return cmp.Compare(a.At, b.At) })
	return out
}

// failAll returns results that fail every job of b with e.
func failAll(b *wire.Batch, e *wire.Error) wire.Results {
	n := b.Len()
	rs := wire.Results{Batch: b.ID, First: b.First, Indexes: b.Indexes, Outputs: wire.Nulls(n), Errs: make([]wire.JobError, n)}
	for k := range rs.Errs {
		rs.Errs[k] = wire.JobError{At: k, Err: *e}
	}
	return rs
}

// resultsMsg is a results message and its message id, which makes a
// retried publish harmless. The id names the job message (a batch resent
// by its driver is a new message), its delivery and the part of the
// results, so only a retried publish is deduplicated.
type resultsMsg struct {
	*nats.Msg
	id string
}

// answer encodes rs, the results of the batch at seq in the jobs stream in
// its delivery-th delivery, as messages to the run's results subject that
// fit the server's max payload. The stored results of a durable run
// carry their jobs' digests.
func (w *worker) answer(run string, rs *wire.Results, seq, delivery uint64, digests []string) ([]resultsMsg, error) {
	extra := 0
	if digests != nil {
		extra = digestLen + 1
	}
	parts, err := chunks(rs, w.maxOut, extra)
	if err != nil {
		return nil, err
	}
	var msgs []resultsMsg
	for part, c := range parts {
		data, err := wire.Marshal(&c.Results)
		if err != nil {
			return nil, err
		}
		m := &nats.Msg{Subject: resultsPrefix + run, Data: data, Header: nats.Header{}}
		m.Header.Set(HeaderDelivery, strconv.FormatUint(delivery, 10))
		if digests != nil {
			m.Header.Set(HeaderDigests, strings.Join(digests[c.from:c.from+c.Len()], ","))
		}
		msgs = append(msgs, resultsMsg{m, fmt.Sprintf("%s.%d.%d.%d.%d", run, rs.Batch, seq, delivery, part)})
	}
	return msgs, nil
}

// chunk is a part of a batch's results, from its result from on.
type chunk struct {
	wire.Results
	from int
}

// chunks splits rs, the results of a batch, into parts of about limit
// bytes at most, counting extra bytes of headers per result.
func chunks(rs *wire.Results, limit, extra int) ([]chunk, error) {
	n := rs.Len()
	errSize := func(e *wire.Error) int { return len(e.Msg) + len(e.Stack) + len(e.Kind) + 16 }
	size := 64 + len(rs.Outputs) + extra*n
	for i := range rs.Errs {
		size += errSize(&rs.Errs[i].Err)
	}
	if size <= limit {
		return []chunk{{Results: *rs}}, nil
	}
	items, err := wire.SplitArray(rs.Outputs)
	if err != nil {
		return nil, err
	}
	var parts []chunk
	cut := func(from, to int) {
		c := chunk{from: from, Results: wire.Results{Batch: rs.Batch, Worker: rs.Worker, Outputs: wire.JoinArray(items[from:to]),
			Nanos: rs.Nanos / int64(n) * int64(to-from)}}
		if rs.Indexes != nil {
			c.Indexes = rs.Indexes[from:to]
		} else {
			c.First = rs.First + int64(from)
		}
		for _, e := range rs.Errs {
			if e.At >= from && e.At < to {
				c.Errs = append(c.Errs, wire.JobError{At: e.At - from, Err: e.Err})
			}
		}
		for _, k := range rs.Refs {
			if k >= from && k < to {
				c.Refs = append(c.Refs, k-from)
			}
		}
		parts = append(parts, c)
	}
	from, size, errAt := 0, 64, 0
	for k, it := range items {
		s := len(it) + extra + 2
		for errAt < len(rs.Errs) && rs.Errs[errAt].At < k {
			errAt++
		}
		if errAt < len(rs.Errs) && rs.Errs[errAt].At == k {
			s += errSize(&rs.Errs[errAt].Err)
		}
		if k > from && size+s > limit {
			cut(from, k)
			from, size = k, 64
		}
		size += s
	}
	cut(from, n)
	return parts, nil
}
