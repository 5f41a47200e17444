package cli

import (
	"errors"
	"slices"
	"testing"
)

func TestParseOptions(t *testing.T) {
	o, err := Parse([]string{"-kj4", "--tag", "--joblog=log", "--halt", "now,fail=1", "-n2", "--res", "out", "echo", "-n", ":::", "a", "b", ":::+", "1", "::::", "f1", "f2"})
	if err != nil {
		t.Fatal(err)
	}
	if !o.KeepOrder || o.Jobs != "4" || !o.Tag || o.JobLog != "log" || o.Halt != "now,fail=1" || o.MaxArgs != 2 || o.Results != "out" {
		t.Errorf("options: %+v", o)
	}
	if !slices.Equal(o.Command, []string{"echo", "-n"}) {
		t.Errorf("command %q", o.Command)
	}
	want := []Source{{Args: []string{"a", "b"}}, {Args: []string{"1"}, Linked: true}, {File: "f1"}, {File: "f2"}}
	if len(o.Sources) != len(want) {
		t.Fatalf("sources %+v", o.Sources)
	}
	for i := range want {
		if !slices.Equal(o.Sources[i].Args, want[i].Args) || o.Sources[i].File != want[i].File || o.Sources[i].Linked != want[i].Linked {
			t.Errorf("source %d: %+v, want %+v", i, o.Sources[i], want[i])
		}
	}
}

func TestParseForms(t *testing.T) {
	for _, tc := range []struct {
		args []string
		ok   func(*Options) bool
	}{
		{[]string{"-j", "3"}, func(o *Options) bool { return o.Jobs == "3" }},
		{[]string{"-j3"}, func(o *Options) bool { return o.Jobs == "3" }},
		{[]string{"--jobs=3"}, func(o *Options) bool { return o.Jobs == "3" }},
		{[]string{"--jobs", "3"}, func(o *Options) bool { return o.Jobs == "3" }},
		{[]string{"-P", "+2"}, func(o *Options) bool { return o.Jobs == "+2" }},
		{[]string{"--keep"}, func(o *Options) bool { return o.KeepOrder }},
		{[]string{"-0"}, func(o *Options) bool { return o.Null }},
		{[]string{"-d", `\n`}, func(o *Options) bool { return o.Delim == "\n" }},
		{[]string{"-I", "XX"}, func(o *Options) bool { return o.Repl["XX"] == kArg && o.Repl["{}"] == 0 }},
		{[]string{"-i"}, func(o *Options) bool { return o.Repl["{}"] == kArg }},
		{[]string{"--replace", "YY", "cmd"}, func(o *Options) bool { return o.Repl["YY"] == kArg && o.Command[0] == "cmd" }},
		{[]string{"-a", "x", "-a", "y"}, func(o *Options) bool { return len(o.Sources) == 2 && o.Sources[1].File == "y" }},
		{[]string{"--", "-k"}, func(o *Options) bool { return !o.KeepOrder && o.Command[0] == "-k" }},
		{[]string{"echo", "-k"}, func(o *Options) bool { return !o.KeepOrder }},
		{[]string{":::", "a"}, func(o *Options) bool { return len(o.Command) == 0 && o.Sources[0].Args[0] == "a" }},
		{[]string{"--arg-sep", ",,", "e", ",,", "a"}, func(o *Options) bool { return o.Sources[0].Args[0] == "a" }},
		{[]string{"-"}, func(o *Options) bool { return o.Command[0] == "-" }},
	} {
		o, err := Parse(tc.args)
		if err != nil || !tc.ok(o) {
			t.Errorf("Parse(%q) = %+v, %v", tc.args, o, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--frobnicate"}, {"-Z"}, {"--jo", "x"}, {"-j"}, {"--jobs"}, {"--tag=x"},
		{"-n", "x"}, {"--retries", "-1"}, {"echo", "::::"}, {"--"}, {"-d", `\q`},
	} {
		_, err := Parse(args)
		if args[0] == "--" {
			if err != nil {
				t.Errorf("Parse(%q): %v", args, err)
			}
			continue
		}
		if !errors.Is(err, ErrUsage) {
			t.Errorf("Parse(%q) error = %v, want a usage error", args, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("-kj4\x00--tag\x00echo\x00:::\x00a")
	f.Add("--halt=now,fail=1\x00-n2\x00::::+\x00f")
	f.Add("-I\x00{}\x00--colsep\x00,\x00-X")
	f.Fuzz(func(t *testing.T, s string) {
		args := splitNul(s)
		o, err := Parse(args)
		if err != nil {
			if !errors.Is(err, ErrUsage) {
				t.Fatalf("non-usage error %v", err)
			}
			return
		}
		for _, src := range o.Sources {
			if src.Args == nil && src.File == "" {
				t.Fatalf("empty source from %q", args)
			}
		}
	})
}

func splitNul(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
