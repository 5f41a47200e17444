package cli

import (
	"errors"
	"fmt"
	"strconv"
)

// Options are the parsed command-line options of a run.
type Options struct {
	Jobs         string // -j spec: N, N%, +N, -N, 0
	KeepOrder    bool
	Ungroup      bool
	LineBuffer   bool
	Tag          bool
	TagString    string
	JobLog       string
	Resume       bool
	ResumeFailed bool
	Retries      int
	Timeout      string
	Halt         string
	Delay        string
	DryRun       bool
	MaxArgs      int  // -n
	MaxReplArgs  int  // -N
	NoArgs       bool // -n0 or -N0: one input per job, none inserted
	Xargs        bool
	ContextX     bool // -X
	MultiM       bool // -m
	Results      string
	Pipe         bool
	Block        string
	Bar          bool
	ETA          bool
	Progress     bool
	Null         bool
	Delim        string
	hasDelim     bool
	ColSep       string
	ArgFiles     []string
	Link         bool
	Quote        bool
	Verbose      bool // -v: print the command to stdout before its output
	Trace        bool // -t: print the command to stderr
	NoRunIfEmpty bool
	ArgSep       string
	ArgFileSep   string
	Version      bool
	Help         bool
	TermSeq      string
	TmpDir       string
	Repl         Replacements
	Shuf         bool
	Cluster      string // --cluster URL: run the commands on a par cluster
	Run          string // --run NAME: a durable run on the cluster

	Command []string // the command words
	Sources []Source // input sources from the command line
}

// Source is one input source named on the command line.
type Source struct {
	Args   []string // ::: arguments
	File   string   // :::: file or -a file ("-" is standard input)
	Linked bool     // :::+ or ::::+: paired with the previous source
}

// ErrUsage marks errors in the command line; par exits 255 without
// running anything.
var ErrUsage = errors.New("usage")

type usageError struct{ msg string }

func (e *usageError) Error() string   { return e.msg }
func (e *usageError) Is(t error) bool { return t == ErrUsage }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// optSpec describes one option: its names, whether it takes a value and
// how it is stored. Names of one letter are short options.
type optSpec struct {
	names []string
	arg   int // 0 none, 1 required, 2 optional (only as --opt=val or -iVAL)
	set   func(o *Options, v string) error
}

func flag(p *bool) func(*Options, string) error {
	return func(*Options, string) error { *p = true; return nil }
}

func intArg(name string, p *int) func(*Options, string) error {
	return func(_ *Options, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return usagef("%s must be a non-negative integer, not %q", name, v)
		}
		*p = n
		return nil
	}
}

// perJob parses -n or -N; 0 means one input per job with none inserted.
func perJob(name string, p *int) func(*Options, string) error {
	parse := intArg(name, p)
	return func(o *Options, v string) error {
		if err := parse(o, v); err != nil {
			return err
		}
		o.NoArgs = *p == 0
		return nil
	}
}

func specs(o *Options) []optSpec {
	str := func(p *string) func(*Options, string) error {
		return func(_ *Options, v string) error { *p = v; return nil }
	}
	repl := func(k kind) func(*Options, string) error {
		return func(o *Options, v string) error {
			for n, kk := range o.Repl {
				if kk == k {
					delete(o.Repl, n)
				}
			}
			o.Repl[v] = k
			return nil
		}
	}
	ignore := func(*Options, string) error { return nil }
	return []optSpec{
		{[]string{"jobs", "j", "max-procs", "maxprocs", "P"}, 1, str(&o.Jobs)},
		{[]string{"keep-order", "keeporder", "k"}, 0, flag(&o.KeepOrder)},
		{[]string{"no-keep-order", "nokeeporder", "nok", "no-k"}, 0, func(o *Options, _ string) error { o.KeepOrder = false; return nil }},
		{[]string{"group", "g"}, 0, func(o *Options, _ string) error { o.Ungroup, o.LineBuffer = false, false; return nil }},
		{[]string{"ungroup", "u"}, 0, flag(&o.Ungroup)},
		{[]string{"line-buffer", "line-buffered", "linebuffer", "linebuffered", "lb"}, 0, flag(&o.LineBuffer)},
		{[]string{"tag"}, 0, flag(&o.Tag)},
		{[]string{"tag-string", "tagstring"}, 1, func(o *Options, v string) error { o.Tag, o.TagString = true, v; return nil }},
		{[]string{"joblog", "jl"}, 1, str(&o.JobLog)},
		{[]string{"resume"}, 0, flag(&o.Resume)},
		{[]string{"resume-failed", "resumefailed"}, 0, flag(&o.ResumeFailed)},
		{[]string{"retries"}, 1, intArg("--retries", &o.Retries)},
		{[]string{"timeout"}, 1, str(&o.Timeout)},
		{[]string{"halt-on-error", "halt"}, 1, str(&o.Halt)},
		{[]string{"delay"}, 1, str(&o.Delay)},
		{[]string{"dry-run", "dryrun", "dr"}, 0, flag(&o.DryRun)},
		{[]string{"max-args", "maxargs", "n"}, 1, perJob("-n", &o.MaxArgs)},
		{[]string{"max-replace-args", "maxreplaceargs", "N"}, 1, perJob("-N", &o.MaxReplArgs)},
		{[]string{"xargs"}, 0, flag(&o.Xargs)},
		{[]string{"X"}, 0, flag(&o.ContextX)},
		{[]string{"m"}, 0, flag(&o.MultiM)},
		{[]string{"results", "result", "res"}, 1, str(&o.Results)},
		{[]string{"pipe", "spreadstdin"}, 0, flag(&o.Pipe)},
		{[]string{"block-size", "blocksize", "block"}, 1, str(&o.Block)},
		{[]string{"bar"}, 0, flag(&o.Bar)},
		{[]string{"eta"}, 0, flag(&o.ETA)},
		{[]string{"progress"}, 0, flag(&o.Progress)},
		{[]string{"null", "0"}, 0, flag(&o.Null)},
		{[]string{"delimiter", "d"}, 1, func(o *Options, v string) error {
			d, err := unescapeDelim(v)
			o.Delim, o.hasDelim = d, true
			return err
		}},
		{[]string{"col-sep", "colsep", "C"}, 1, str(&o.ColSep)},
		{[]string{"arg-file", "argfile", "a"}, 1, func(o *Options, v string) error { o.ArgFiles = append(o.ArgFiles, v); return nil }},
		{[]string{"link", "xapply"}, 0, flag(&o.Link)},
		{[]string{"quote", "q"}, 0, flag(&o.Quote)},
		{[]string{"verbose", "t"}, 0, flag(&o.Trace)},
		{[]string{"v"}, 0, flag(&o.Verbose)},
		{[]string{"no-run-if-empty", "norunifempty", "r"}, 0, flag(&o.NoRunIfEmpty)},
		{[]string{"arg-sep", "argsep"}, 1, str(&o.ArgSep)},
		{[]string{"arg-file-sep", "argfilesep"}, 1, str(&o.ArgFileSep)},
		{[]string{"version", "V"}, 0, flag(&o.Version)},
		{[]string{"help", "h"}, 0, flag(&o.Help)},
		{[]string{"term-seq", "termseq"}, 1, str(&o.TermSeq)},
		{[]string{"tmpdir", "tempdir"}, 1, str(&o.TmpDir)},
		{[]string{"shuf"}, 0, flag(&o.Shuf)},
		{[]string{"cluster"}, 1, str(&o.Cluster)},
		{[]string{"run"}, 1, str(&o.Run)},
		{[]string{"replace", "i"}, 2, func(o *Options, v string) error {
			if v == "" {
				v = "{}"
			}
			return repl(kArg)(o, v)
		}},
		{[]string{"I"}, 1, repl(kArg)},
		{[]string{"extensionreplace", "er", "U"}, 1, repl(kNoExt)},
		{[]string{"basenamereplace", "bnr"}, 1, repl(kBase)},
		{[]string{"dirnamereplace", "dnr"}, 1, repl(kDir)},
		{[]string{"basenameextensionreplace", "bner"}, 1, repl(kBaseNoExt)},
		{[]string{"seqreplace"}, 1, repl(kSeq)},
		{[]string{"slotreplace"}, 1, repl(kSlot)},
		{[]string{"will-cite", "willcite", "nn", "nonotice", "no-notice", "silent", "gnu"}, 0, ignore},
	}
}
