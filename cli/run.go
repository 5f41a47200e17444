package cli

import (
	"context"
	"fmt"
	"io"
	"iter"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/par-project/par"
)

// runner runs one invocation of par: the jobs, their output, the joblog
// and the exit status, with GNU parallel's rules.
type runner struct {
	o       *Options
	tmpl    *Template
	mode    expandMode
	quote   bool
	shell   string
	env     []string
	paths   pathCache
	termSeq []termStep
	nJobs   int
	halt    HaltSpec
	timeout TimeoutSpec
	delay   time.Duration
	stdout  io.Writer
	stderr  io.Writer
	outMu   sync.Mutex // serialises writes to stdout and stderr
	joblog  io.Writer
	skip    map[int64]bool // --resume: sequence numbers already run
	total   int            // number of jobs, when known in advance (-1 if not)

	jobCtx  context.Context    // the commands' context; --halt now cancels it
	kill    context.CancelFunc // --halt now: kills running jobs
	mu      sync.Mutex         // guards the counters below
	stopNew bool               // --halt: start no more jobs
	haltNow bool
	haltRC  int
	halted  bool
	started int
	done    int
	failed  int
	med     remedian // run times of successful jobs, for --timeout N%
	nextRun time.Time
	prog    *progress
	remote  *remote // --cluster: where the commands run
}

// newRunner checks the options that need checking before anything runs.
func newRunner(o *Options, stdout, stderr io.Writer, getenv func(string) string) (*runner, error) {
	r := &runner{o: o, stdout: stdout, stderr: stderr, termSeq: defaultTermSeq, total: -1}
	var err error
	if r.nJobs, err = parseJobs(o.Jobs, runtime.NumCPU()); err != nil {
		return nil, err
	}
	if o.Halt != "" {
		if r.halt, err = ParseHalt(o.Halt); err != nil {
			return nil, err
		}
	}
	if o.Timeout != "" {
		if r.timeout, err = ParseTimeout(o.Timeout); err != nil {
			return nil, err
		}
	}
	if o.Delay != "" {
		if r.delay, err = parseDuration(o.Delay); err != nil {
			return nil, usagef("--delay must be a duration in seconds, not %q", o.Delay)
		}
	}
	if o.TermSeq != "" {
		if r.termSeq, err = parseTermSeq(o.TermSeq); err != nil {
			return nil, err
		}
	}
	if (o.Resume || o.ResumeFailed) && o.JobLog == "" {
		return nil, usagef("--resume and --resume-failed require --joblog")
	}
	cmd := joinCommand(o.Command, o.Quote)
	r.quote = cmd != ""
	if cmd == "" {
		cmd = "{}" // no command: each input is the command itself
	}
	r.tmpl = ParseTemplate(cmd, o.Repl)
	if !r.tmpl.HasReplacement() && !o.Pipe {
		r.tmpl = ParseTemplate(cmd+" {}", DefaultReplacements())
	}
	if o.ContextX {
		r.mode = modeContext
	}
	if o.ColSep == "" && o.MaxArgs == 0 && o.MaxReplArgs == 0 && !o.ContextX && !o.MultiM && !o.Xargs && !o.Pipe {
		n := max(1, len(o.Sources))
		if err := r.tmpl.checkPositions(n); err != nil {
			return nil, usagef("%v", err)
		}
	}
	r.shell = pickShell(getenv)
	r.env = slices.Clip(append(os.Environ(), "PARALLEL_PID="+strconv.Itoa(os.Getpid())))
	return r, nil
}

// joinCommand joins the command words with spaces, as GNU parallel does;
// with -q each word is quoted first.
func joinCommand(words []string, quote bool) string {
	s := ""
	for i, w := range words {
		if i > 0 {
			s += " "
		}
		if quote {
			w = shellQuote(w)
		}
		s += w
	}
	return s
}

// Run runs every job and returns par's exit status.
func (r *runner) Run(ctx context.Context, jobs iter.Seq[*job]) int {
	jobCtx, kill := context.WithCancel(ctx)
	defer kill()
	r.jobCtx, r.kill = jobCtx, kill
	opts := []par.Option{par.Jobs(r.nJobs), par.BatchSize(1), par.CollectErrors()}
	if !r.o.KeepOrder {
		opts = append(opts, par.Unordered())
	}
	rc := 0
	for oc, err := range par.Stream(ctx, jobs, r.runJob, opts...) {
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			r.errorf("%v", err)
			rc = 255
			continue
		}
		if oc.skipped {
			continue
		}
		if err := r.finish(oc); err != nil {
			// Output that cannot be written (a full disk) ends the run, as
			// in GNU parallel: carrying on would lose more.
			r.errorf("%v", err)
			rc = 255
			r.mu.Lock()
			r.stopNew, r.haltNow = true, true
			r.mu.Unlock()
			r.kill()
		}
	}
	if r.prog != nil {
		r.prog.finish()
	}
	if ctx.Err() != nil {
		return 255
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case rc != 0:
		return rc
	case r.halted:
		return r.haltRC
	case r.halt.When != haltNever && r.halt.Pct > 0:
		return int(ceilDiv(r.failed*100, max(1, r.started)))
	}
	return min(r.failed, 101)
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// result is a finished job as the stream delivers it.
type result struct {
	job *job
	outcome
	haltMsg  string // --halt: why par stops, printed after the job's output
	suppress bool   // killed by --halt now: neither printed nor logged
}

// runJob runs one job with its retries; it is the function the engine
// calls. A failing command is not an error for the engine: GNU parallel's
// rules (--halt, exit status) decide what a failure means.
func (r *runner) runJob(ctx context.Context, j *job) (*result, error) {
	if r.startable() != nil {
		return &result{job: j, outcome: outcome{skipped: true}}, nil
	}
	if err := r.wait(ctx); err != nil {
		return &result{job: j, outcome: outcome{skipped: true}}, nil
	}
	slot := par.Slot(ctx)
	cmd := r.tmpl.Expand(jobVars{args: j.args, seq: j.seq, slot: slot, quote: r.quote}, r.mode)
	if r.o.Trace {
		r.write(r.stderr, []byte(cmd+"\n"))
	}
	if r.o.DryRun {
		return &result{job: j, outcome: outcome{cmd: cmd, start: time.Now()}}, nil
	}
	attempts := max(1, r.o.Retries)
	var oc outcome
	for a := 1; a <= attempts; a++ {
		out, errOut := r.liveWriters(j)
		if r.remote != nil {
			oc = r.execRemote(r.jobCtx, j, slot, cmd, r.timeoutNow(), out, errOut)
		} else {
			oc = r.execOnce(r.jobCtx, j, slot, cmd, r.timeoutNow(), out, errOut)
		}
		flushLive(out, errOut)
		if !oc.failed() || r.jobCtx.Err() != nil || a == attempts || r.stopping() {
			break
		}
		oc.out.Close()
		oc.errOut.Close()
	}
	if oc.exit == -1 && oc.signal != 0 && r.jobCtx.Err() == nil && r.timeout != (TimeoutSpec{}) {
		r.errorf("Warning: This job was killed because it timed out:\nWarning: %s", cmd)
	}
	res := &result{job: j, outcome: oc}
	r.account(res)
	return res, nil
}

// startable reports whether a new job may start: not after --halt.
func (r *runner) startable() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopNew {
		return errHalted
	}
	r.started++
	return nil
}

var errHalted = fmt.Errorf("halted")

func (r *runner) stopping() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopNew
}

// wait enforces --delay between job starts.
func (r *runner) wait(ctx context.Context) error {
	if r.delay <= 0 {
		return nil
	}
	r.mu.Lock()
	now := time.Now()
	at := r.nextRun
	if at.Before(now) {
		at = now
	}
	r.nextRun = at.Add(r.delay)
	r.mu.Unlock()
	t := time.NewTimer(time.Until(at))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// timeoutNow is the timeout for a job starting now: fixed, or N% of the
// median run time of the successful jobs so far (none before the first).
func (r *runner) timeoutNow() time.Duration {
	if r.timeout.D > 0 {
		return r.timeout.D
	}
	if r.timeout.Pct == 0 {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.med.median()
	if m == 0 {
		return 0
	}
	return time.Duration(r.timeout.Pct * float64(m))
}
