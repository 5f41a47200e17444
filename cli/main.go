// Package cli is the par command: GNU parallel's command line on par's
// engine. Main parses the arguments, runs the jobs and returns the exit
// status; cmd/par only wires it to the process.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"math/rand/v2"
	"os"
)

// Version is par's version as --version prints it.
var Version = "0.1.0"

// reserved are the words cmd/par hands to the cluster's entry points
// before calling Main; Main refuses them rather than run a command of that
// name. Only these words are reserved: `par echo ::: a` runs echo.
var reserved = []string{"server", "worker", "status", "retry"}

// Main runs par with args (without the program name) and returns the exit
// status: 0 when every job succeeded, the number of failed jobs (at most
// 101) otherwise, the --halt status when --halt stopped the run, 255 for
// errors in the command line or environment.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		for _, w := range reserved {
			if args[0] == w {
				fmt.Fprintf(stderr, "par: %s is not available in this build\n", w)
				return 255
			}
		}
	}
	o, err := Parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "par: %v\n", err)
		return 255
	}
	switch {
	case o.Version:
		fmt.Fprintf(stdout, "par %s\n", Version)
		return 0
	case o.Help:
		io.WriteString(stdout, usage)
		return 0
	}
	rc, err := run(ctx, o, stdin, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "par: %v\n", err)
		return 255
	}
	return rc
}

const usage = `Usage:
par [options] [command [arguments]] < list_of_arguments
par [options] [command [arguments]] (::: arguments|:::: argfile(s))...
cat ... | par --pipe [options] [command [arguments]]

-j n            Run n jobs in parallel
-k              Keep same order
-X              Multiple arguments with context replace
--colsep regexp Split input on regexp for positional replacements
{} {.} {/} {/.} {//} {#} {%} Replacement strings
{3} {3.} {3/} {3/.} {3//}    Positional replacement strings
--joblog FILE --resume --resume-failed --retries N --timeout S|N%
--halt now|soon,fail|success|done=N|N%  --delay S  --dry-run  --results DIR
--pipe --block SIZE  --tag --tagstring S  --line-buffer  -u  --bar --eta
--cluster URL   Run the commands on par worker --allow-exec (secret: $PAR_SECRET)
--run NAME      With --cluster: a durable run; run again, it runs only what did not finish
Subcommands: par server | par worker | par status | par retry RUN
`

// run checks everything that can be wrong before the first job starts,
// then runs the jobs.
func run(ctx context.Context, o *Options, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	r, err := newRunner(o, stdout, stderr, os.Getenv)
	if err != nil {
		return 0, err
	}
	if o.Run != "" && o.Cluster == "" {
		return 0, errors.New("--run needs --cluster: durable runs are kept by the cluster")
	}
	if o.Cluster != "" && !o.DryRun {
		rm, slots, err := connectCluster(ctx, o.Cluster, o.Run)
		if err != nil {
			return 0, err
		}
		defer rm.close()
		r.remote = rm
		if o.Jobs == "" {
			r.nJobs = slots
		}
	}
	if o.JobLog != "" {
		f, err := openJobLog(r, o)
		if err != nil {
			return 0, err
		}
		defer f.Close()
	}
	var jobs iter.Seq[*job]
	var inErr error
	readErr := func() error { return inErr }
	if o.Pipe {
		block := int64(1 << 20)
		if o.Block != "" {
			if block, err = parseSize(o.Block); err != nil {
				return 0, err
			}
		}
		delim := byte('\n')
		if o.Null {
			delim = 0
		}
		jobs = r.pipeJobs(stdin, block, delim, &inErr)
	} else {
		in, err := openInputs(o, stdin)
		if err != nil {
			return 0, err
		}
		defer in.close()
		jobs = r.jobSeq(in.Tuples())
		readErr = func() error { return in.err }
	}
	if o.Progress {
		o.ETA = true // par shows one progress line for both
	}
	if o.Bar || o.ETA || r.halt.Pct > 0 || o.Shuf {
		var all []*job
		for j := range jobs {
			all = append(all, j)
		}
		if o.Shuf {
			shuffle(all)
		}
		r.total = len(all)
		jobs = func(yield func(*job) bool) {
			for _, j := range all {
				if !yield(j) {
					return
				}
			}
		}
		if o.Bar || o.ETA {
			r.prog = newProgress(stderr, len(all), o.Bar, o.ETA)
		}
	}
	rc := r.Run(ctx, jobs)
	if err := readErr(); err != nil {
		return 0, err
	}
	return rc, nil
}

// openJobLog opens --joblog: read first for --resume, then appended to;
// otherwise created anew with the header. The caller closes the file.
func openJobLog(r *runner, o *Options) (*os.File, error) {
	appendLog := false
	if o.Resume || o.ResumeFailed {
		f, err := os.Open(o.JobLog)
		switch {
		case err == nil:
			done, err := ReadJobLog(f, o.ResumeFailed)
			f.Close()
			if err != nil {
				return nil, fmt.Errorf("cannot resume from --joblog %s: %w", o.JobLog, err)
			}
			r.skip = done
			appendLog = true
		case errors.Is(err, os.ErrNotExist):
		default:
			return nil, fmt.Errorf("cannot read --joblog %s: %v", o.JobLog, unwrapPathErr(err))
		}
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if appendLog {
		flags = os.O_WRONLY | os.O_CREATE | os.O_APPEND
	}
	f, err := os.OpenFile(o.JobLog, flags, 0o666)
	if err != nil {
		return nil, fmt.Errorf("cannot write to --joblog %s: %v", o.JobLog, unwrapPathErr(err))
	}
	if !appendLog {
		if _, err := f.WriteString(joblogHeader); err != nil {
			f.Close()
			return nil, fmt.Errorf("cannot write to --joblog %s: %v", o.JobLog, err)
		}
	} else if st, err := f.Stat(); err == nil && st.Size() == 0 {
		f.WriteString(joblogHeader)
	}
	r.joblog = f
	return f, nil
}

// shuffle puts the jobs in random order (--shuf).
func shuffle(js []*job) {
	rand.Shuffle(len(js), func(i, k int) { js[i], js[k] = js[k], js[i] })
}
