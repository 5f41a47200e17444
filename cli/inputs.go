package cli

import (
	"bufio"
	"fmt"
	"io"
	"iter"
	"os"
	"regexp"
	"strings"
)

// inputs turns the input sources into a stream of argument tuples: one
// value per source, in GNU parallel's order (the cross product with the
// first source varying slowest; linked sources paired). Only the first
// source streams; the others are read into memory because the cross
// product visits them many times.
type inputs struct {
	sources []reader
	link    bool
	colsep  *regexp.Regexp
	err     error // first read error, reported after the run
	closers []io.Closer
}

// reader yields the records of one source.
type reader struct {
	linked bool
	seq    iter.Seq[string]
}

// openInputs opens every source up front so a missing file is reported
// before anything runs.
func openInputs(o *Options, stdin io.Reader) (*inputs, error) {
	in := &inputs{link: o.Link}
	delim := "\n"
	if o.Null {
		delim = "\x00"
	}
	if o.hasDelim {
		delim = o.Delim
	}
	if o.ColSep != "" {
		re, err := regexp.Compile(o.ColSep)
		if err != nil {
			return nil, usagef("--colsep %q is not a regular expression: %v", o.ColSep, err)
		}
		in.colsep = re
	}
	srcs := o.Sources
	if len(srcs) == 0 {
		srcs = []Source{{File: "-"}}
	}
	stdinUsed := false
	for _, s := range srcs {
		if s.Args != nil {
			args := s.Args
			in.sources = append(in.sources, reader{linked: s.Linked, seq: func(yield func(string) bool) {
				for _, a := range args {
					for _, r := range splitArg(a, delim) {
						if !yield(r) {
							return
						}
					}
				}
			}})
			continue
		}
		var r io.Reader
		if s.File == "-" {
			if stdinUsed {
				return nil, usagef("standard input can be read only once")
			}
			stdinUsed = true
			r = stdin
		} else {
			f, err := os.Open(s.File)
			if err != nil {
				in.close()
				return nil, usagef("cannot open input file %q: %v", s.File, unwrapPathErr(err))
			}
			in.closers = append(in.closers, f)
			r = f
		}
		in.sources = append(in.sources, reader{linked: s.Linked, seq: in.records(r, delim)})
	}
	return in, nil
}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

func (in *inputs) close() {
	for _, c := range in.closers {
		c.Close()
	}
}

// splitArg splits a ::: argument on the delimiter, as GNU parallel does
// when it reads such arguments back as records.
func splitArg(a, delim string) []string {
	if delim == "" || !strings.Contains(a, delim) {
		return []string{a}
	}
	return strings.Split(a, delim)
}

// records streams the delimited records of r. A last record without a
// delimiter counts; a read error stops the stream and is kept in in.err.
func (in *inputs) records(r io.Reader, delim string) iter.Seq[string] {
	return func(yield func(string) bool) {
		br := bufio.NewReaderSize(r, 64<<10)
		last := delim[len(delim)-1]
		var pending strings.Builder
		for {
			chunk, err := br.ReadString(last)
			pending.WriteString(chunk)
			if err == nil && !strings.HasSuffix(pending.String(), delim) {
				continue // multi-byte delimiter: only its last byte matched
			}
			if s := pending.String(); s != "" {
				pending.Reset()
				if !yield(strings.TrimSuffix(s, delim)) {
					return
				}
			}
			if err == io.EOF {
				return
			}
			if err != nil {
				if in.err == nil {
					in.err = fmt.Errorf("reading input: %w", err)
				}
				return
			}
		}
	}
}

// Tuples yields one argument tuple per job input: the cross product of
// the sources, linked groups zipped. With --colsep each record becomes
// its columns.
func (in *inputs) Tuples() iter.Seq[[]string] {
	groups := in.groups()
	return func(yield func([]string) bool) {
		if len(groups) == 0 {
			return
		}
		rest := make([][][]string, len(groups)-1)
		for i, g := range groups[1:] {
			for t := range g {
				rest[i] = append(rest[i], t)
			}
			if len(rest[i]) == 0 {
				return // a source with no values: the product is empty
			}
		}
		for head := range groups[0] {
			if !product(head, rest, yield) {
				return
			}
		}
	}
}

func product(prefix []string, rest [][][]string, yield func([]string) bool) bool {
	if len(rest) == 0 {
		return yield(prefix)
	}
	for _, t := range rest[0] {
		next := make([]string, 0, len(prefix)+len(t))
		next = append(append(next, prefix...), t...)
		if !product(next, rest[1:], yield) {
			return false
		}
	}
	return true
}

// groups zips linked sources together. With --link all sources form one
// group and shorter ones wrap around; :::+ pairs stop at the shortest.
func (in *inputs) groups() []iter.Seq[[]string] {
	cols := func(s string) []string {
		if in.colsep == nil {
			return []string{s}
		}
		return splitCols(in.colsep, s)
	}
	var groups [][]reader
	for _, s := range in.sources {
		if (s.linked || in.link) && len(groups) > 0 {
			groups[len(groups)-1] = append(groups[len(groups)-1], s)
		} else {
			groups = append(groups, []reader{s})
		}
	}
	out := make([]iter.Seq[[]string], len(groups))
	for i, g := range groups {
		out[i] = zip(g, in.link, cols)
	}
	return out
}

func zip(g []reader, wrap bool, cols func(string) []string) iter.Seq[[]string] {
	return func(yield func([]string) bool) {
		if len(g) == 1 {
			for s := range g[0].seq {
				if !yield(cols(s)) {
					return
				}
			}
			return
		}
		all := make([][]string, len(g))
		longest, shortest := 0, -1
		for i, r := range g {
			for s := range r.seq {
				all[i] = append(all[i], s)
			}
			longest = max(longest, len(all[i]))
			if shortest < 0 || len(all[i]) < shortest {
				shortest = len(all[i])
			}
		}
		n := shortest
		if wrap {
			n = longest
			if shortest == 0 {
				n = 0
			}
		}
		for k := 0; k < n; k++ {
			var t []string
			for _, vals := range all {
				t = append(t, cols(vals[k%len(vals)])...)
			}
			if !yield(t) {
				return
			}
		}
	}
}

// splitCols splits a record on --colsep like Perl's split: trailing
// empty fields are dropped.
func splitCols(re *regexp.Regexp, s string) []string {
	f := re.Split(s, -1)
	for len(f) > 0 && f[len(f)-1] == "" {
		f = f[:len(f)-1]
	}
	if len(f) == 0 {
		return []string{""}
	}
	return f
}
