package cli

import (
	"fmt"
	"strings"
)

func seqArgs(from, to int) []string {
	var s []string
	for i := from; i <= to; i++ {
		s = append(s, fmt.Sprint(i))
	}
	return s
}

func seqLines(from, to int) string {
	return strings.Join(seqArgs(from, to), "\n") + "\n"
}

func a(s ...string) []string { return s }

func diffCases() []diffCase {
	brother := `My brother's 12" *** record  (costs $$$).jpg`
	return []diffCase{
		// input sources
		{name: "args", args: a("-k", "echo", ":::", "a", "b", "c")},
		{name: "args unordered", args: a("echo", ":::", "a", "b", "c"), sorted: true},
		{name: "cross product", args: a("-k", "echo", ":::", "a", "b", ":::", "1", "2")},
		{name: "cross product three", args: a("-k", "echo", ":::", "a", "b", ":::", "1", "2", ":::", "x", "y")},
		{name: "positional product", args: a("-k", "echo", "{1}-{2}", ":::", "a", "b", ":::", "1", "2", "3")},
		{name: "positional swapped", args: a("-k", "echo", "{2}", "{1}", ":::", "a", "b", ":::", "x", "y")},
		{name: "positional subset", args: a("-k", "echo", "{2}", ":::", "a", ":::", "b", ":::", "c")},
		{name: "link plus", args: a("-k", "echo", ":::", "a", "b", "c", ":::+", "1", "2")},
		{name: "link plus product", args: a("-k", "echo", ":::", "x", "y", ":::", "a", "b", ":::+", "1", "2", "3")},
		{name: "link option wraps", args: a("-k", "--link", "echo", ":::", "a", "b", "c", ":::", "1", "2")},
		{name: "xapply", args: a("-k", "--xapply", "echo", ":::", "a", "b", ":::", "1", "2")},
		{name: "stdin", args: a("-k", "echo"), stdin: "a\nb\n"},
		{name: "stdin no final newline", args: a("-k", "echo"), stdin: "a\nb"},
		{name: "stdin empty", args: a("echo"), stdin: ""},
		{name: "stdin empty lines", args: a("-k", "echo"), stdin: "a\n\nb\n"},
		{name: "stdin crlf", args: a("-k", "echo"), stdin: "a\r\nb\r\n"},
		{name: "empty arg", args: a("-k", "echo", "{}", ":::", "")},
		{name: "empty args middle", args: a("-k", "echo", ":::", "a", "", "b")},
		{name: "no args", args: a("-k", "echo", ":::")},
		{name: "null", args: a("-k", "-0", "echo"), stdin: "a\x00b\nc\x00"},
		{name: "null long", args: a("-k", "--null", "echo", "{}"), stdin: "x y\x00z"},
		{name: "delimiter", args: a("-k", "-d", ",", "echo"), stdin: "a,b,c"},
		{name: "delimiter escape", args: a("-k", "-d", `\t`, "echo"), stdin: "a\tb"},
		{name: "colsep", args: a("-k", "--colsep", ",", "echo", "{2}", "{1}"), stdin: "a,b\nc,d\n"},
		{name: "colsep tab", args: a("-k", "--colsep", `\t`, "echo"), stdin: "a b\tc\n"},
		{name: "colsep empty fields", args: a("-k", "--colsep", " ", "echo", "{1}-{2}-{3}"), stdin: "a  b\n"},
		{name: "colsep all", args: a("-k", "-C", ",", "echo", "{}"), stdin: "a,b\n"},
		{name: "colsep regexp", args: a("-k", "--colsep", "[,;]+", "echo", "{3}", "{1}"), stdin: "a,,b;c\n"},
		{name: "arg file", args: a("-k", "-a", "$D/in", "echo"), files: map[string]string{"in": "x\ny\n"}},
		{name: "arg file long", args: a("-k", "--arg-file=$D/in", "echo"), files: map[string]string{"in": "x\ny\n"}},
		{name: "four colons", args: a("-k", "echo", "::::", "$D/in"), files: map[string]string{"in": "x\ny\n"}},
		{name: "four colons two files", args: a("-k", "echo", "::::", "$D/in", "$D/in2"), files: map[string]string{"in": "x\ny\n", "in2": "1\n2\n"}},
		{name: "file and args", args: a("-k", "echo", "::::", "$D/in", ":::", "p", "q"), files: map[string]string{"in": "x\ny\n"}},
		{name: "four colons plus", args: a("-k", "echo", "::::", "$D/in", "::::+", "$D/in2"), files: map[string]string{"in": "x\ny\nz\n", "in2": "1\n2\n"}},
		{name: "arg sep", args: a("-k", "--arg-sep", ",,", "echo", ",,", "a", "b")},
		{name: "many lines", args: a("-k", "-j4", "echo"), stdin: seqLines(1, 100)},
		{name: "many args", args: a(append([]string{"-k", "echo", ":::"}, seqArgs(1, 500)...)...)},

		// replacement strings
		{name: "dot slash", args: a("-k", "echo", "{.}", "{/}", "{//}", "{/.}", ":::", "/x/y.z", "a.b/c", ".bashrc", "x.", "a/", "/", "a//b", "dir/sub/")},
		{name: "seq", args: a("-k", "echo", "{#}", ":::", "a", "b", "c")},
		{name: "slot j1", args: a("-k", "-j1", "echo", "{%}", ":::", "a", "b", "c")},
		{name: "positional modifiers", args: a("-k", "echo", "{2.}", "{1/}", "{1//}", "{2/.}", ":::", "a/b.c", ":::", "d/e.f")},
		{name: "positional dot", args: a("-k", "echo", "{1.}", ":::", "x.y")},
		{name: "replace I", args: a("-k", "-I", ",,", "echo", ",,-,,", "{.}", ":::", "a.b")},
		{name: "replace long", args: a("-k", "--replace", "XX", "echo", "XX", ":::", "a")},
		{name: "extension replace", args: a("-k", "--er", "EXT", "echo", "EXT", ":::", "a.b")},
		{name: "several strings", args: a("-k", "echo {} {} {.}", ":::", "a.b")},
		{name: "unknown braces literal", args: a("-k", "echo", "{foo}", "{1..}", ":::", "a")},
		{name: "seq only no append", args: a("-k", "echo", "{#}", ":::", "a", "b")},
		{name: "command from input", args: a("-k", ":::", "echo hi", `echo "x y"`)},
		{name: "command from stdin", args: a("-k"), stdin: "echo 1\necho 2; echo 3\n"},
		{name: "composed", args: a("-k", "echo a';' echo {}", ":::", "x")},
		{name: "composed quoted", args: a("-k", "echo a; echo {}", ":::", "x y")},
		{name: "env seq", args: a("-k", "echo $PARALLEL_SEQ", ":::", "a", "b")},
		{name: "option to command", args: a("-k", "echo", "-n", ":::", "a")},
		{name: "double dash", args: a("-k", "--", "echo", ":::", "a")},
		{name: "tag two sources", args: a("-k", "--tag", "echo", ":::", "a", ":::", "b c")},

		// quoting: data stays data
		{name: "quoting", args: a("-k", "echo", ":::", "a b", "it's", "$(echo pwned)", "; echo reboot", "`id`", `a"b`, "*", "~", `a\b`, "#", "!", "x=y", "%", "a,b", "{}", "a\tb")},
		{name: "quoting dry run", args: a("-k", "--dry-run", "echo", ":::", "a b", "it's", "$HOME", "ü", "'", "''", "a'b'c")},
		{name: "brother", args: a("-k", "echo", ":::", brother)},
		{name: "brother touch", args: a("-k", "touch $D/{}; ls $D", ":::", brother)},
		{name: "unicode", args: a("-k", "echo", ":::", "日本", "é", "😀")},
		{name: "spaces", args: a("-k", "echo", "[{}]", ":::", " leading", "trailing ", "  ")},
		{name: "newline with null", args: a("-k", "-0", "echo", "[{}]"), stdin: "a\nb\x00c"},
		{name: "quote option", args: a("-k", "-q", "echo", "a b", "{}", ":::", "c d")},
		{name: "dollar var in command", args: a("-k", "X=1; echo $X {}", ":::", "a")},

		// -n -N -X -m
		{name: "n2", args: a("-k", "-n2", "echo", ":::", "a", "b", "c", "d", "e")},
		{name: "n2 with string", args: a("-k", "-n2", "echo", "{}", "x", ":::", "a", "b", "c")},
		{name: "n2 positional", args: a("-k", "-n2", "echo", "{1}", "{2}", "x", ":::", "a", "b", "c")},
		{name: "N2", args: a("-k", "-N2", "echo", "{1}+{2}", ":::", "a", "b", "c")},
		{name: "N2 append", args: a("-k", "-N2", "echo", ":::", "a", "b", "c")},
		{name: "N0 inserts nothing", args: a("-k", "-N0", "echo", "hi", ":::", "a", "b", "c")},
		{name: "n0 inserts nothing", args: a("-k", "-n0", "echo", "{#}", ":::", "a", "b")},
		{name: "X j1", args: a("-k", "-j1", "-X", "echo", "pre{}post", ":::", "a", "b", "c")},
		{name: "X j3", args: a("-k", "-j3", "-X", "echo", ":::", "a", "b", "c", "d", "e", "f", "g")},
		{name: "m j1", args: a("-k", "-j1", "-m", "echo", "pre{}post", ":::", "a", "b", "c")},
		{name: "m j2", args: a("-k", "-j2", "-m", "echo", ":::", "a", "b", "c", "d", "e", "f", "g")},
		{name: "X stdin j4", args: a("-k", "-j4", "-X", "echo"), stdin: seqLines(1, 20)},
		{name: "dry run n", args: a("-k", "--dry-run", "-n2", "echo", ":::", "a", "b", "c")},

		// -j forms and option syntax
		{name: "j0", args: a("-k", "-j0", "echo", ":::", "a", "b", "c")},
		{name: "j percent", args: a("-k", "-j", "50%", "echo", ":::", "a", "b")},
		{name: "j plus", args: a("-k", "-j", "+1", "echo", ":::", "a", "b")},
		{name: "j minus", args: a("-k", "-j", "-1", "echo", ":::", "a", "b")},
		{name: "bundled", args: a("-kj2", "echo", ":::", "a", "b")},
		{name: "long equals", args: a("--jobs=2", "--keep-order", "echo", ":::", "a", "b")},
		{name: "long prefix", args: a("--keep", "--jobs", "3", "echo", ":::", "a", "b")},
		{name: "max procs", args: a("-k", "-P", "2", "echo", ":::", "a", "b")},

		// output
		{name: "tag", args: a("-k", "--tag", "echo", ":::", "a", "b")},
		{name: "tagstring", args: a("-k", "--tagstring", "X{}Y{#}", "echo", ":::", "a", "b")},
		{name: "tag multiline", args: a("-k", "--tag", `printf "l1\nl2\n"`, ":::", "a")},
		{name: "tag no newline", args: a("-k", "--tag", `printf x`, ":::", "a")},
		{name: "line buffer", args: a("-j1", "--line-buffer", "echo", ":::", "a", "b")},
		{name: "line buffer tag", args: a("--lb", "--tag", "echo", ":::", "a", "b"), sorted: true},
		{name: "ungroup", args: a("-j1", "-u", "echo", ":::", "a", "b")},
		{name: "group", args: a("-k", "--group", "echo", ":::", "a", "b")},
		{name: "verbose v", args: a("-k", "-v", "echo", ":::", "a")},
		{name: "trace t", args: a("-k", "-t", "echo", ":::", "a")},
		{name: "stderr apart", args: a("-k", "echo out; echo err >&2", ":::", "a", "b")},
		{name: "big output", args: a("-k", "-j3", "seq", ":::", "20000", "30000", "1")},
		{name: "no run if empty", args: a("-k", "-r", "echo", "x"), stdin: "a\n \n\nb\n"},

		// exit status and halt
		{name: "exit count", args: a("-k", "echo {}; exit {}", ":::", "0", "1", "2", "0")},
		{name: "exit capped", args: a("exit 1", ":::"), sorted: true},
		{name: "exit 101", args: a(append([]string{"-j4", "exit 1", ":::"}, seqArgs(1, 105)...)...)},
		{name: "halt now fail", args: a("-j1", "--halt", "now,fail=1", "echo {}; exit {}", ":::", "0", "0", "3", "0")},
		{name: "halt now kills running", args: a("-j2", "--halt", "now,fail=1", "echo {}; sleep {}; exit 1", ":::", "0.2", "3")},
		{name: "halt soon waits", args: a("-j2", "--halt", "soon,fail=1", "echo {}; sleep {}; exit 1", ":::", "0.2", "1", "5"), sorted: true},
		{name: "halt soon fail", args: a("-j1", "--halt", "soon,fail=1", "echo {}; exit {}", ":::", "0", "4", "0")},
		{name: "halt 2", args: a("-j1", "--halt", "2", "echo {}; exit {}", ":::", "0", "5", "0")},
		{name: "halt 1", args: a("-j1", "--halt", "1", "echo {}; exit {}", ":::", "0", "5", "0")},
		{name: "halt success", args: a("-j1", "--halt", "now,success=1", "echo {}; exit {}", ":::", "1", "0", "1")},
		{name: "halt fail 2", args: a("-j1", "--halt", "soon,fail=2", "echo {}; exit {}", ":::", "1", "1", "1", "1")},
		{name: "halt fail pct", args: a("-j1", "--halt", "now,fail=50%", "echo {}; exit {}", ":::", "1", "1", "0", "0")},
		{name: "halt done", args: a("-j1", "--halt", "now,done=2", "echo", ":::", "a", "b", "c")},
		{name: "halt never", args: a("-k", "--halt", "never", "exit 1", ":::", "a", "b")},
		{name: "halt signal", args: a("-j1", "--halt", "now,fail=1", "kill -9 $$", ":::", "a")},
		{name: "signal", args: a("-k", "kill -{} $$", ":::", "9", "15"), joblog: true},
		{name: "not found", args: a("-k", "no_such_command_par_test", ":::", "a")},
		{name: "retries", args: a("-k", "--retries", "3", "echo {}; false", ":::", "a")},
		{name: "retries succeed", args: a("-k", "--retries", "2", "echo {}", ":::", "a")},
		{name: "timeout", args: a("-k", "--timeout", "1", "sleep {}; echo {}", ":::", "0", "5"), joblog: true},
		{name: "timeout percent", args: a("-k", "-j1", "--timeout", "300%", "sleep {}; echo {}", ":::", "0.1", "0.1", "0.1", "4")},
		{name: "delay", args: a("-k", "--delay", "0.05", "echo", ":::", "a", "b")},

		// joblog, dry run, pipe
		{name: "joblog", args: a("-k", "echo {}; exit {}", ":::", "0", "1", "2"), joblog: true},
		{name: "joblog newline", args: a("-k", "-0", "echo"), stdin: "a\nb\x00", joblog: true},
		{name: "dry run", args: a("-k", "--dry-run", "echo {}; exit 1", ":::", "a b", "c")},
		{name: "pipe block", args: a("-k", "--pipe", "--block", "50", "wc", "-c"), stdin: seqLines(1, 100), joblog: true},
		{name: "pipe N", args: a("-k", "--pipe", "-N3", "tr '\\n' ' '; echo"), stdin: seqLines(1, 10)},
		{name: "pipe no newline", args: a("-k", "--pipe", "cat"), stdin: "a\nb"},
		{name: "pipe seq", args: a("-k", "--pipe", "--block", "20", "echo {#}; cat"), stdin: seqLines(1, 20)},
		{name: "pipe default", args: a("--pipe", "wc", "-l"), stdin: seqLines(1, 1000)},

		// bad input: exit 255, nothing run
		{name: "unknown option", usage: true, args: a("--frobnicate", "echo", ":::", "a")},
		{name: "bad halt", usage: true, args: a("--halt", "foo", "echo", ":::", "a")},
		{name: "bad halt rule", usage: true, args: a("--halt", "now,maybe=1", "echo", ":::", "a")},
		{name: "bad j", usage: true, args: a("-j", "x", "echo", ":::", "a")},
		{name: "missing file", usage: true, args: a("echo", "::::", "$D/nonexistent")},
		{name: "missing arg file", usage: true, args: a("-a", "$D/nonexistent", "echo")},
		{name: "bad timeout", usage: true, args: a("--timeout", "1x", "echo", ":::", "a")},
		{name: "resume without joblog", usage: true, args: a("--resume", "echo", ":::", "a")},
		{name: "unwritable joblog", usage: true, args: a("--joblog", "$D/no/such/dir/log", "echo", ":::", "a")},
	}
}
