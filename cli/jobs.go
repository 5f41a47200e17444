package cli

import (
	"bufio"
	"io"
	"iter"
	"strings"
)

// maxCommandLen bounds a command that -X, -m or --xargs fill with
// arguments: the kernel's limit on one argument (sh -c takes the command
// as one), less room for the shell.
const maxCommandLen = 128<<10 - 4096

// jobSeq groups argument tuples into jobs: one tuple per job, -n/-N
// tuples per job, or with -X/-m/--xargs as many as fit, spread over the
// job slots as GNU parallel does. Sequence numbers count every job, also
// those --resume skips.
func (r *runner) jobSeq(tuples iter.Seq[[]string]) iter.Seq[*job] {
	per := max(r.o.MaxArgs, r.o.MaxReplArgs, 1)
	multi := r.o.ContextX || r.o.MultiM || r.o.Xargs
	return func(yield func(*job) bool) {
		var seq int64
		emit := func(args []string) bool {
			seq++
			if r.skip[seq] {
				return true
			}
			if r.o.NoRunIfEmpty && strings.TrimSpace(strings.Join(args, "")) == "" {
				return true
			}
			return yield(&job{seq: seq, args: args})
		}
		if multi && r.o.MaxArgs == 0 && r.o.MaxReplArgs == 0 {
			var all [][]string
			for t := range tuples {
				all = append(all, t)
			}
			per = max(1, ceilDiv(len(all), r.nJobs))
			r.fill(all, per, emit)
			return
		}
		if r.o.NoArgs {
			for range tuples {
				if !emit(nil) {
					return
				}
			}
			return
		}
		var cur []string
		n := 0
		for t := range tuples {
			cur = append(cur, t...)
			n++
			if n == per {
				if !emit(cur) {
					return
				}
				cur, n = nil, 0
			}
		}
		if n > 0 {
			emit(cur)
		}
	}
}

// fill emits jobs of up to per tuples each, fewer when the command would
// grow past maxCommandLen.
func (r *runner) fill(all [][]string, per int, emit func([]string) bool) {
	base := len(r.tmpl.Expand(jobVars{quote: r.quote}, r.mode))
	var cur []string
	n, size := 0, base
	for _, t := range all {
		grow := 0
		for _, a := range t {
			grow += len(shellQuote(a)) + 1
		}
		if n > 0 && (n == per || size+grow > maxCommandLen) {
			if !emit(cur) {
				return
			}
			cur, n, size = nil, 0, base
		}
		cur = append(cur, t...)
		n++
		size += grow
	}
	if n > 0 {
		emit(cur)
	}
}

// pipeJobs cuts standard input into blocks for --pipe: each block holds
// whole records (lines), at most --block bytes unless one record is
// longer, or -N records when -N is given.
func (r *runner) pipeJobs(in io.Reader, block int64, delim byte, inErr *error) iter.Seq[*job] {
	return func(yield func(*job) bool) {
		br := bufio.NewReaderSize(in, 256<<10)
		var seq int64
		var carry []byte
		for {
			var buf []byte
			buf = append(buf, carry...)
			carry = nil
			records := 0
			var err error
			for {
				if r.o.MaxReplArgs > 0 && records == r.o.MaxReplArgs {
					break
				}
				var rec []byte
				rec, err = readRecord(br, delim)
				if len(rec) > 0 {
					if r.o.MaxReplArgs == 0 && len(buf) > 0 && int64(len(buf)+len(rec)) > block {
						carry = rec
						break
					}
					buf = append(buf, rec...)
					records++
				}
				if err != nil {
					break
				}
			}
			if err != nil && err != io.EOF && *inErr == nil {
				*inErr = err
			}
			if len(buf) > 0 {
				seq++
				if !r.skip[seq] && !yield(&job{seq: seq, stdin: buf}) {
					return
				}
			}
			if err != nil && len(carry) == 0 {
				return
			}
		}
	}
}

// readRecord reads one record including its delimiter, however long.
func readRecord(br *bufio.Reader, delim byte) ([]byte, error) {
	var out []byte
	for {
		chunk, err := br.ReadSlice(delim)
		out = append(out, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		return out, err
	}
}
