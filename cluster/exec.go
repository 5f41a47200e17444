package cluster

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/par-project/par"
	"github.com/par-project/par/internal/wire"
)

// A driver's batches on their way: Exec sends a par.Batch as one message
// or, when it does not fit the server's max payload, as several (its
// parts), and deliver matches the results that come back to the jobs.
//
// Inputs and results stay packed, as the engine hands them over: a batch
// that fits one message travels as the engine's input array, and when one
// results message brings all of its results back, their output array is
// the batch's output. Only a batch split into parts, a durable run's
// batch (whose jobs are known by digest) or results that come in pieces
// are taken apart job by job.

// BatchTarget asks for batches that run about 100 ms. A batch costs the
// cluster a few milliseconds of CPU whatever its size (two messages
// written to disk, an acknowledgement, the driver's and the worker's
// share), on machines that also run jobs: a message per 100 ms of work
// keeps that cost to a few percent, and many tiny jobs share one message.
// Measured with benchrun (job cpu par-cluster 200: jobs of 5 ms on two
// workers, server and driver on 2 cores): with 25 ms batches the run took
// 13% longer than with 100 ms ones.
func (s *session) BatchTarget() time.Duration { return 100 * time.Millisecond }

// MinBatch keeps the end of a run in batches of 25 ms or more. Each batch
// costs the cluster its messages and a worker a wait while its results
// are stored: the same benchrun measure took 4% longer (0.616 s against
// 0.590 s, the median of 6 interleaved runs each) when the last jobs went
// out one 5 ms job at a time, as an eighth of the target allows; 12 ms
// was as slow, 40 and 60 ms no faster than 25.
func (s *session) MinBatch() time.Duration { return 25 * time.Millisecond }

// execution is a par.Batch being run: what its parts share.
type execution struct {
	b    *par.Batch
	n    int
	digs []string // a durable run's job digests, nil for others
	// The results, filled by deliver under the session's lock: all at
	// once in whole, when one message brought every result of a batch
	// sent whole, else job by job in outs.
	whole []byte
	outs  [][]byte
}

// setErr records the error of job k.
func (e *execution) setErr(k int, err error) {
	if e.b.Errs == nil {
		e.b.Errs = make([]error, e.n)
	}
	e.b.Errs[k] = err
}

// pending is a part of a batch, one message, waiting for its results.
type pending struct {
	e    *execution
	id   uint64
	data []byte // the message, to send again after a reconnect
	seq  uint64 // its sequence in the jobs stream, 0 until stored
	n    int    // its jobs
	ks   []int  // the position in e.b of each of its jobs; nil when they are all of e.b's, in order
	// The jobs' indexes: first, first+1, …, or, when they are not
	// contiguous, pos maps each to its job in the part.
	first int64
	pos   map[int64]int
	got   []bool // jobs whose result came, nil until one did
	left  int
	done  chan struct{}
}

// at returns the job of the part whose index is ix.
func (p *pending) at(ix int64) (int, bool) {
	if p.pos != nil {
		j, ok := p.pos[ix]
		return j, ok
	}
	if ix < p.first || ix-p.first >= int64(p.n) {
		return 0, false
	}
	return int(ix - p.first), true
}

// k returns the position in the batch of job j of the part.
func (p *pending) k(j int) int {
	if p.ks == nil {
		return j
	}
	return p.ks[j]
}

// Exec publishes b on the run's jobs subject, as one message or, when it
// does not fit the server's max payload, as several, and waits for every
// job's result. A job's input too large for a message, and a result the
// worker found too large, go through the object store (see
// bigpayloads.go). If ctx ends first, the batch's messages are withdrawn
// from the queue and Exec returns ctx's error.
func (s *session) Exec(ctx context.Context, b *par.Batch) error {
	if err := s.failure(); err != nil {
		return err
	}
	e := &execution{b: b, n: b.Len()}
	if e.n == 0 {
		b.Output = wire.JoinArray(nil)
		return nil
	}
	limit := int(s.max) - 1024 // room for the envelope and headers
	var parts []*pending
	defer func() {
		s.mu.Lock()
		for _, p := range parts {
			if p.left > 0 {
				delete(s.pending, p.id)
			}
		}
		s.mu.Unlock()
	}()
	if s.durable == nil && len(b.Input) <= limit {
		// The common case: the engine's input array is the message's.
		if m, err := wire.CountArray(b.Input); err != nil || m != e.n {
			return fmt.Errorf("cluster: batch input: %d items for %d jobs (%v)", m, e.n, err)
		}
		p := s.part(e, nil, e.n)
		parts = append(parts, p)
		if err := s.publish(ctx, p, b.Input, nil); err != nil {
			s.withdraw(parts)
			return err
		}
	} else {
		built, err := s.split(ctx, e, limit)
		if err != nil {
			return err
		}
		for _, bp := range built {
			parts = append(parts, bp.pending)
			if err := s.publish(ctx, bp.pending, wire.JoinArray(bp.inputs), bp.refs); err != nil {
				s.withdraw(parts)
				return err
			}
		}
	}
	for _, p := range parts {
		select {
		case <-p.done:
		case <-ctx.Done():
			s.withdraw(parts)
			return ctx.Err()
		case <-s.failed:
			return s.failErr
		}
	}
	s.mu.Lock() // deliver wrote the results under it
	whole, outs := e.whole, e.outs
	s.mu.Unlock()
	if whole != nil {
		b.Output = whole
		return nil
	}
	for k, out := range outs {
		if out == nil {
			outs[k] = []byte{0xf6} // null: the job failed
		}
	}
	s.loadBigOutputs(ctx, e)
	b.Output = wire.JoinArray(outs)
	return nil
}

// part returns a part of e's batch holding n jobs, at the positions ks
// (nil: all of the batch's, in order).
func (s *session) part(e *execution, ks []int, n int) *pending {
	p := &pending{e: e, n: n, ks: ks, left: n, done: make(chan struct{})}
	idx := e.b.Indexes
	contiguous := true
	for j := 1; j < n && contiguous; j++ {
		contiguous = idx[p.k(j)] == idx[p.k(j-1)]+1
	}
	p.first = int64(idx[p.k(0)])
	if !contiguous {
		p.pos = make(map[int64]int, n)
		for j := range n {
			p.pos[int64(idx[p.k(j)])] = j
		}
	}
	return p
}

// parted is a part being built by split.
type parted struct {
	*pending
	inputs [][]byte // its jobs' inputs
	refs   []int    // its jobs whose input is a reference to a large one
}

// split takes e's batch apart job by job: it fills in a durable run's
// stored results, stores inputs too large for a message in the object
// store, and groups the other jobs into parts that each fit limit bytes.
func (s *session) split(ctx context.Context, e *execution, limit int) ([]*parted, error) {
	b := e.b
	ins, err := wire.SplitArray(b.Input)
	if err == nil && len(ins) != e.n {
		err = fmt.Errorf("%d inputs for %d jobs", len(ins), e.n)
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: batch input: %w", err)
	}
	e.outs = make([][]byte, e.n)
	e.digs = s.reuse(b.Task, ins, e.outs) // a durable run's stored results
	if e.digs != nil {
		s.dropGoneBig(ctx, e.outs)
	}
	var parts []*parted
	var ks []int
	var cur *parted
	size := 0
	flush := func() {
		if cur != nil {
			cur.pending = s.part(e, ks, len(ks))
			parts = append(parts, cur)
		}
		cur, ks, size = nil, nil, 0
	}
	for k, in := range ins {
		if e.outs[k] != nil {
			continue // a durable run's stored result
		}
		ref := false
		if len(in)+16 > limit {
			if in, err = s.bigInput(ctx, in); err != nil {
				e.setErr(k, err)
				continue
			}
			ref = true
		}
		if cur != nil && size+len(in)+16 > limit {
			flush()
		}
		if cur == nil {
			cur = &parted{}
		}
		if ref {
			cur.refs = append(cur.refs, len(ks))
		}
		ks = append(ks, k)
		cur.inputs = append(cur.inputs, in)
		size += len(in) + 16
	}
	flush()
	return parts, nil
}

// publish registers p, whose inputs are the array inputs (refs: the
// positions of references to large ones), and sends it as one message,
// retrying while the server is unreachable; the message id makes the
// retries harmless.
func (s *session) publish(ctx context.Context, p *pending, inputs []byte, refs []int) error {
	b := p.e.b
	id := s.nextID.Add(1)
	wb := wire.Batch{ID: id, Run: s.run, Task: b.Task, Attempt: max(1, b.Attempt), TimeoutNanos: s.timeout.Nanoseconds(),
		First: p.first, Inputs: inputs, Refs: refs}
	if p.pos != nil {
		wb.First, wb.Indexes = 0, make([]int64, p.n)
		for j := range p.n {
			wb.Indexes[j] = int64(b.Indexes[p.k(j)])
		}
	}
	data, err := wire.Marshal(&wb)
	if err != nil {
		return fmt.Errorf("cluster: encoding batch: %w", err)
	}
	if int64(len(data)) > s.max {
		return fmt.Errorf("%w: batch of %d bytes; the server takes messages up to %d bytes", ErrTooLarge, len(data), s.max)
	}
	s.mu.Lock()
	p.id, p.data = id, data
	s.pending[id] = p
	s.mu.Unlock()
	seq, err := s.send(ctx, data, b.Task, s.run+"."+strconv.FormatUint(id, 10))
	s.mu.Lock()
	p.seq = seq
	s.mu.Unlock()
	return err
}

// dispatch hands a results message to the Exec waiting for it. The first
// result for each job wins; later ones (from a batch that ran twice) and
// results of batches nobody waits for are dropped.
func (s *session) dispatch(msg jetstream.Msg) { s.deliver(msg.Data(), seqOf(msg)) }

// dispatchLive hands over results a worker sent straight to the driver
// (see worker.answer), ahead of their stored copy.
func (s *session) dispatchLive(msg *nats.Msg) { s.deliver(msg.Data, 0) }

// resultsHead is the start of a results message: enough to tell whether
// anyone waits for it. Most messages come twice, straight from the worker
// and stored, and the second is dropped after reading this far.
type resultsHead struct {
	Batch uint64 `cbor:"1,keyasint,omitempty"`
}

// deliver hands the results in data, stored at seq in the results stream
// (0 when they came straight from the worker), to the Exec waiting for
// them.
func (s *session) deliver(data []byte, seq uint64) {
	var head resultsHead
	if err := wire.Unmarshal(data, &head); err == nil && !s.waiting(head.Batch) {
		s.c.cfg.log.Debug("par cluster: results of a batch nobody waits for", "run", s.run, "batch", head.Batch, "seq", seq)
		return
	}
	var rs wire.Results
	if err := wire.Unmarshal(data, &rs); err != nil {
		s.c.cfg.log.Warn("par cluster: dropping undecodable results", "run", s.run, "err", err)
		return
	}
	if err := rs.Validate(); err != nil {
		s.c.cfg.log.Warn("par cluster: dropping invalid results (is their worker another version of par?)", "run", s.run, "err", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pending[rs.Batch]
	if p == nil {
		return
	}
	e, n := p.e, rs.Len()
	took := 0
	if p.ks == nil && p.got == nil && e.digs == nil && n == p.n && p.pos == nil && rs.Indexes == nil && rs.First == p.first && rs.Refs == nil {
		// Every result of a batch sent whole, in one message.
		e.whole = rs.Outputs
		for i := range rs.Errs {
			e.setErr(rs.Errs[i].At, fromWire(&rs.Errs[i].Err, rs.Worker))
		}
		took = n
	} else {
		took = s.place(p, &rs)
	}
	p.left -= took
	e.b.Ran += time.Duration(float64(rs.Nanos) * float64(took) / float64(n))
	if p.left == 0 {
		delete(s.pending, rs.Batch)
		close(p.done)
	}
}

// place puts the results rs, valid, in p's execution one by one, and
// returns how many it took: the first result of each job of p.
func (s *session) place(p *pending, rs *wire.Results) int {
	items, err := wire.SplitArray(rs.Outputs)
	if err != nil {
		return 0 // cannot happen: Validate checked the array
	}
	e := p.e
	if e.outs == nil {
		e.outs = make([][]byte, e.n)
	}
	if p.got == nil {
		p.got = make([]bool, p.n)
	}
	took, errAt := 0, 0
	for i, out := range items {
		var werr *wire.Error
		for errAt < len(rs.Errs) && rs.Errs[errAt].At < i {
			errAt++
		}
		if errAt < len(rs.Errs) && rs.Errs[errAt].At == i {
			werr = &rs.Errs[errAt].Err
		}
		j, ok := p.at(rs.Index(i))
		if !ok || p.got[j] {
			continue
		}
		p.got[j] = true
		took++
		k := p.k(j)
		if s.durable != nil {
			s.durable.note(e.digs[k], out, werr == nil)
		}
		if werr != nil {
			e.setErr(k, fromWire(werr, rs.Worker))
		} else {
			e.outs[k] = out
		}
	}
	return took
}

// waiting reports whether some Exec waits for results of batch id.
func (s *session) waiting(id uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending[id] != nil
}
