package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/par-project/par"
	"github.com/par-project/par/cluster"
)

// With --cluster URL each command runs on a worker of a par cluster
// started with par worker --allow-exec, instead of in this process's
// children. Everything else (replacement strings, output grouping, exit
// status, --joblog with the worker's name as Host, --resume, --halt,
// --retries, --timeout) is the same. The command runs with the worker's
// environment plus PARALLEL_SEQ, PARALLEL_JOBSLOT and PARALLEL_PID; its
// output travels back whole when it ends, so --ungroup and --line-buffer
// print it then.

// execRequest is one command sent to a worker.
type execRequest struct {
	Cmd          string `cbor:"1,keyasint"`
	Seq          int64  `cbor:"2,keyasint,omitempty"`
	Slot         int    `cbor:"3,keyasint,omitempty"`
	Stdin        []byte `cbor:"4,keyasint,omitempty"`
	TimeoutNanos int64  `cbor:"5,keyasint,omitempty"`
	TermSeq      string `cbor:"6,keyasint,omitempty"` // --termseq, "" for the default
	PID          int    `cbor:"7,keyasint,omitempty"` // the driver's, as PARALLEL_PID
}

// execReply is how the command ended on the worker.
type execReply struct {
	Stdout       []byte `cbor:"1,keyasint,omitempty"`
	Stderr       []byte `cbor:"2,keyasint,omitempty"`
	Exit         int    `cbor:"3,keyasint,omitempty"`
	Signal       int    `cbor:"4,keyasint,omitempty"`
	StartNanos   int64  `cbor:"5,keyasint,omitempty"` // Unix time on the worker
	RuntimeNanos int64  `cbor:"6,keyasint,omitempty"`
	Host         string `cbor:"7,keyasint,omitempty"` // the worker's name
	Err          string `cbor:"8,keyasint,omitempty"` // the command could not start
}

// execTask runs shell commands for the par command on cluster workers. It
// is registered under cluster.ExecTask in every binary that imports cli,
// par worker included; a worker runs it only with --allow-exec.
var execTask = par.Register(cluster.ExecTask, runExec)

// runExec runs req on this host, as a worker does.
func runExec(ctx context.Context, req execRequest) (execReply, error) {
	r := &runner{o: &Options{}, shell: pickShell(os.Getenv), termSeq: defaultTermSeq}
	if req.TermSeq != "" {
		seq, err := parseTermSeq(req.TermSeq)
		if err != nil {
			return execReply{}, err
		}
		r.termSeq = seq
	}
	r.env = append(os.Environ(), "PARALLEL_PID="+strconv.Itoa(req.PID))
	r.env = r.env[:len(r.env):len(r.env)]
	var out, errOut bytes.Buffer
	j := &job{seq: req.Seq, stdin: req.Stdin}
	oc := r.execOnce(ctx, j, req.Slot, req.Cmd, time.Duration(req.TimeoutNanos), &out, &errOut)
	host := cluster.WorkerName(ctx)
	if host == "" {
		host, _ = os.Hostname()
	}
	rep := execReply{Stdout: out.Bytes(), Stderr: errOut.Bytes(), Exit: oc.exit, Signal: oc.signal,
		StartNanos: oc.start.UnixNano(), RuntimeNanos: oc.dur.Nanoseconds(), Host: host}
	if oc.err != nil {
		rep.Err = oc.err.Error()
	}
	return rep, nil
}

// remote is the driver's side of --cluster: a pool on the cluster.
type remote struct {
	c       *cluster.Client
	pool    *par.Pool
	durable bool // a durable run: requests name the job, not this par
}

// connectCluster connects to the cluster at url (with $PAR_SECRET, and
// $PAR_TLS_CA, $PAR_TLS_CERT, $PAR_TLS_KEY and $PAR_CREDS when set) and
// returns the number of command slots of its live workers that run
// commands, the default for -j. With a run name the commands are the
// durable run of that name (see cluster.Client.Run): a command whose
// line, input and sequence number match one that succeeded in an earlier
// par of the same name is not run again, its output is replayed.
func connectCluster(ctx context.Context, url, run string) (*remote, int, error) {
	var env cluster.ClientFlags // empty: each from its environment variable
	c, err := cluster.Connect(url, append(env.Options(), cluster.Secret(os.Getenv("PAR_SECRET")))...)
	if err != nil {
		return nil, 0, err
	}
	var backend par.Backend = c
	if run != "" {
		backend = c.Run(run)
	}
	pool, err := par.NewPool(par.On(backend))
	if err != nil {
		c.Close()
		return nil, 0, err
	}
	ws, _ := c.Workers(ctx)
	slots := 0
	for _, w := range ws {
		if w.Exec && w.Queue == cluster.DefaultQueue {
			slots += w.Slots
		}
	}
	if slots == 0 {
		slots = runtime.NumCPU() // none live yet: jobs wait for workers in the queue
	}
	return &remote{c: c, pool: pool, durable: run != ""}, slots, nil
}

func (rm *remote) close() {
	rm.pool.Close()
	rm.c.Close()
}

// execRemote runs cmdline once on a cluster worker: execOnce's
// counterpart. Output goes to spools unless out/errOut writers are given.
func (r *runner) execRemote(ctx context.Context, j *job, slot int, cmdline string, timeout time.Duration, out, errOut io.Writer) outcome {
	oc := outcome{cmd: cmdline, start: time.Now(), slot: slot}
	if out == nil {
		oc.out = &spool{dir: r.o.TmpDir}
		oc.errOut = &spool{dir: r.o.TmpDir}
		out, errOut = oc.out, oc.errOut
	}
	req := execRequest{Cmd: cmdline, Seq: j.seq, Slot: slot, Stdin: j.stdin, TimeoutNanos: timeout.Nanoseconds(),
		TermSeq: r.o.TermSeq, PID: os.Getpid()}
	if r.remote.durable {
		// A durable run knows a job by its request: leave out what
		// changes from one par to the next.
		req.Slot, req.PID = 0, 0
	}
	rep, err := par.Submit(r.remote.pool, ctx, execTask.Func(), req).Wait(ctx)
	switch {
	case ctx.Err() != nil:
		// --halt now or an interrupt: the cluster withdraws the job and
		// its worker kills the command.
		oc.exit, oc.signal = -1, int(syscall.SIGTERM)
		oc.dur = time.Since(oc.start)
		return oc
	case err != nil:
		var je *par.JobError
		if errors.As(err, &je) {
			err = je.Err
		}
		oc.exit, oc.err = 255, err
		oc.dur = time.Since(oc.start)
		return oc
	}
	if _, err := out.Write(rep.Stdout); err != nil {
		oc.err = err
	}
	if _, err := errOut.Write(rep.Stderr); err != nil && oc.err == nil {
		oc.err = err
	}
	oc.start, oc.dur = time.Unix(0, rep.StartNanos), time.Duration(rep.RuntimeNanos)
	oc.exit, oc.signal, oc.host = rep.Exit, rep.Signal, rep.Host
	if rep.Err != "" {
		oc.err = errors.New(rep.Err)
	}
	return oc
}
