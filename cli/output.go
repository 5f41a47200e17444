package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
)

// finish prints a finished job's output and writes its joblog line. It
// runs on the one goroutine that reads the engine's stream, in job order
// with -k, else in the order jobs end.
func (r *runner) finish(res *result) error {
	if res.suppress {
		return nil
	}
	if r.prog != nil {
		r.prog.step(res.failed())
	}
	var firstErr error
	keep := func(err error) {
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	defer res.out.Close()
	defer res.errOut.Close()
	if r.o.Results != "" && !r.o.DryRun {
		keep(r.saveResults(res))
	}
	if r.o.DryRun {
		r.write(r.stdout, []byte(res.cmd+"\n"))
	} else if res.out != nil {
		if r.o.Verbose {
			r.write(r.stdout, []byte(res.cmd+"\n"))
		}
		tag := r.tag(res)
		r.outMu.Lock()
		n, err := copyTagged(r.stdout, res.out, tag)
		keep(wrapOut(res, "output", err))
		keep(wrapOut(res, "error output", copyOnly(r.stderr, res.errOut, tag)))
		r.outMu.Unlock()
		res.recv = n
	}
	if res.err != nil {
		r.errorf("job %d: %v", res.job.seq, res.err)
	}
	if res.haltMsg != "" {
		r.write(r.stderr, []byte(res.haltMsg))
	}
	if r.joblog != nil && !r.o.DryRun {
		host := ":"
		if res.host != "" {
			host = res.host
		}
		e := LogEntry{Seq: res.job.seq, Host: host, Start: res.start, Runtime: res.dur,
			Send: int64(len(res.job.stdin)), Receive: res.recv, Exitval: res.exit,
			Signal: res.signal, Command: res.cmd}
		if _, err := io.WriteString(r.joblog, e.Format()); err != nil {
			keep(fmt.Errorf("writing joblog: %w", err))
		}
	}
	return firstErr
}

func wrapOut(res *result, what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("job %d: %s lost: %w", res.job.seq, what, err)
}

func copyOnly(w io.Writer, s *spool, tag string) error {
	_, err := copyTagged(w, s, tag)
	return err
}

// copyTagged replays a spool to w, putting tag before every line.
func copyTagged(w io.Writer, s *spool, tag string) (int64, error) {
	if s == nil {
		return 0, nil
	}
	n := s.n
	if tag == "" {
		_, err := s.WriteTo(w)
		return n, err
	}
	tw := &tagWriter{w: w, tag: tag, bol: true}
	_, err := s.WriteTo(tw)
	return n, err
}

// tagWriter puts a tag at the start of every line written through it.
type tagWriter struct {
	w   io.Writer
	tag string
	bol bool // at the beginning of a line
	buf bytes.Buffer
}

func (t *tagWriter) Write(p []byte) (int, error) {
	t.buf.Reset()
	for i := 0; i < len(p); {
		if t.bol {
			t.buf.WriteString(t.tag)
			t.bol = false
		}
		j := bytes.IndexByte(p[i:], '\n')
		if j < 0 {
			t.buf.Write(p[i:])
			break
		}
		t.buf.Write(p[i : i+j+1])
		i += j + 1
		t.bol = true
	}
	_, err := t.w.Write(t.buf.Bytes())
	return len(p), err
}

// tag is the --tag or --tagstring prefix of a job's lines, with a tab.
func (r *runner) tag(res *result) string {
	if !r.o.Tag {
		return ""
	}
	if r.o.TagString != "" {
		t := ParseTemplate(r.o.TagString, r.o.Repl)
		return t.Expand(jobVars{args: res.job.args, seq: res.job.seq, slot: res.slot}, modeNormal) + "\t"
	}
	return strings.Join(res.job.args, " ") + "\t"
}

// write writes to par's stdout or stderr without mixing with other writes.
func (r *runner) write(w io.Writer, p []byte) {
	r.outMu.Lock()
	defer r.outMu.Unlock()
	w.Write(p)
}

// errorf prints a par message on stderr, each line prefixed with "par: ".
func (r *runner) errorf(format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	var b strings.Builder
	for _, l := range strings.Split(msg, "\n") {
		b.WriteString("par: " + l + "\n")
	}
	r.write(r.stderr, []byte(b.String()))
}

// liveWriters are the writers for --ungroup and --line-buffer, where
// output goes out while the job runs; nil means spool it (--group).
func (r *runner) liveWriters(j *job) (io.Writer, io.Writer) {
	switch {
	case r.o.DryRun:
		return nil, nil
	case r.o.Ungroup:
		// A file goes to the job as is: no copying at all.
		return r.direct(r.stdout), r.direct(r.stderr)
	case r.o.LineBuffer && !r.o.KeepOrder:
		tag := ""
		if r.o.Tag {
			tag = r.tag(&result{job: j})
		}
		return &lineWriter{r: r, w: r.stdout, tag: tag}, &lineWriter{r: r, w: r.stderr, tag: tag}
	}
	return nil, nil
}

// lineWriter passes whole lines of a running job to par's output, so
// lines of concurrent jobs never mix (--line-buffer).
type lineWriter struct {
	r       *runner
	w       io.Writer
	tag     string
	partial []byte
	mu      sync.Mutex
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := bytes.LastIndexByte(p, '\n')
	if i < 0 {
		l.partial = append(l.partial, p...)
		return len(p), nil
	}
	out := append(l.partial, p[:i+1]...)
	l.partial = append([]byte(nil), p[i+1:]...)
	l.emit(out)
	return len(p), nil
}

func (l *lineWriter) emit(out []byte) {
	if l.tag != "" {
		var b bytes.Buffer
		(&tagWriter{w: &b, tag: l.tag, bol: true}).Write(out)
		out = b.Bytes()
	}
	l.r.write(l.w, out)
}

// flushLive writes what is left of a job's last line.
func flushLive(ws ...io.Writer) {
	for _, w := range ws {
		if l, ok := w.(*lineWriter); ok {
			l.mu.Lock()
			if len(l.partial) > 0 {
				l.emit(l.partial)
				l.partial = nil
			}
			l.mu.Unlock()
		}
	}
}

// direct is w for a job to write to itself if w is a file, else w behind
// par's output lock.
func (r *runner) direct(w io.Writer) io.Writer {
	if f, ok := w.(*os.File); ok {
		return f
	}
	return lockedWriter{r, w}
}

type lockedWriter struct {
	r *runner
	w io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.r.outMu.Lock()
	defer l.r.outMu.Unlock()
	return l.w.Write(p)
}
