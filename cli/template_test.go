package cli

import (
	"os/exec"
	"strings"
	"testing"
)

func expand(cmd string, args []string, mode expandMode) string {
	return ParseTemplate(cmd, DefaultReplacements()).Expand(jobVars{args: args, seq: 7, slot: 2, quote: true}, mode)
}

func TestExpand(t *testing.T) {
	for _, tc := range []struct {
		cmd  string
		args []string
		mode expandMode
		want string
	}{
		{"echo {}", []string{"a b"}, modeNormal, "echo 'a b'"},
		{"echo {.} {/} {//} {/.}", []string{"/x/y.z"}, modeNormal, "echo /x/y y.z /x y"},
		{"echo {#} {%}", nil, modeNormal, "echo 7 2"},
		{"echo {2} {1}", []string{"a", "b"}, modeNormal, "echo b a"},
		{"echo {3}", []string{"a", "b"}, modeNormal, "echo "},
		{"echo {1.}{2/}", []string{"a.b", "c/d"}, modeNormal, "echo ad"},
		{"echo {}", []string{"a", "b"}, modeNormal, "echo a b"},
		{"echo pre{}post", []string{"a", "b"}, modeContext, "echo preapost prebpost"},
		{"echo pre{}post", []string{"a", "b"}, modeNormal, "echo prea bpost"},
		{"echo {foo} {1..} {}", []string{"x"}, modeNormal, "echo {foo} {1..} x"},
		{"echo  {}", []string{""}, modeNormal, "echo  ''"},
		{"{}", []string{"$(x)"}, modeNormal, "'$(x)'"},
	} {
		if got := expand(tc.cmd, tc.args, tc.mode); got != tc.want {
			t.Errorf("%q with %q = %q, want %q", tc.cmd, tc.args, got, tc.want)
		}
	}
}

func TestReplacementRules(t *testing.T) {
	for _, tc := range []struct{ in, noext, base, dir, basenoext string }{
		{"/x/y.z", "/x/y", "y.z", "/x", "y"},
		{".bashrc", "", ".bashrc", ".", ""},
		{"x.", "x", "x.", ".", "x"},
		{"a.b/c", "a.b/c", "c", "a.b", "c"},
		{"a/", "a/", "", ".", ""},
		{"/", "/", "", "/", ""},
		{"", "", "", ".", ""},
		{"a//b", "a//b", "b", "a", "b"},
		{"dir/sub/", "dir/sub/", "", "dir", ""},
		{"a.b.c", "a.b", "a.b.c", ".", "a.b"},
	} {
		got := []string{transform(kNoExt, tc.in), transform(kBase, tc.in), transform(kDir, tc.in), transform(kBaseNoExt, tc.in)}
		want := []string{tc.noext, tc.base, tc.dir, tc.basenoext}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%q: got %q, want %q", tc.in, got, want)
		}
	}
}

func TestCustomReplacements(t *testing.T) {
	rs := DefaultReplacements()
	delete(rs, "{}")
	rs[",,"] = kArg
	got := ParseTemplate("echo ,, {} {.}", rs).Expand(jobVars{args: []string{"a.b"}, quote: true}, modeNormal)
	if got != "echo a.b {} a" {
		t.Errorf("got %q", got)
	}
}

func TestCheckPositions(t *testing.T) {
	if err := ParseTemplate("echo {3}", DefaultReplacements()).checkPositions(2); err == nil {
		t.Error("{3} with two sources accepted")
	}
	if err := ParseTemplate("echo {2}", DefaultReplacements()).checkPositions(2); err != nil {
		t.Error(err)
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"":            "''",
		"abc-_.+/9":   "abc-_.+/9",
		"a b":         "'a b'",
		"it's":        `'it'"'"'s'`,
		"'":           `"'"`,
		"'a'":         `"'"'a'"'"`,
		"$(rm -rf ~)": "'$(rm -rf ~)'",
		"ü":           "'ü'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestShellQuoteRoundTrip checks with a real shell that quoted data comes
// back unchanged and nothing in it runs.
func TestShellQuoteRoundTrip(t *testing.T) {
	nasty := []string{"$(touch /tmp/par-pwned)", "; reboot", "`id`", "a'b\"c", "*", "~", "a\nb", "\\", "!!", "${HOME}", "'", "''", "\t", "#x", "&", "|", "<>", "日本"}
	var cmd strings.Builder
	for _, s := range nasty {
		cmd.WriteString("printf '%s\\0' " + shellQuote(s) + "; ")
	}
	out, err := exec.Command("/bin/sh", "-c", cmd.String()).Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if strings.Join(got, "|") != strings.Join(nasty, "|") {
		t.Errorf("round trip:\n got %q\nwant %q", got, nasty)
	}
}

func FuzzTemplate(f *testing.F) {
	f.Add("echo {} {.} {//} {/.} {#} {%}", "a/b.c")
	f.Add("x{1}y{2.}z{10//}", "'$(x)'")
	f.Add("{{}}{}{", "")
	f.Fuzz(func(t *testing.T, cmd, arg string) {
		tm := ParseTemplate(cmd, DefaultReplacements())
		for _, m := range []expandMode{modeNormal, modeContext} {
			out := tm.Expand(jobVars{args: []string{arg, arg}, seq: 1, slot: 1, quote: true}, m)
			if !tm.HasReplacement() && out != cmd {
				t.Fatalf("no replacement string but %q became %q", cmd, out)
			}
		}
		q := shellQuote(arg)
		if unquoteSingle(q) != arg {
			t.Fatalf("shellQuote(%q) = %q does not read back", arg, q)
		}
	})
}

// unquoteSingle reads back shellQuote's output the way sh would: bare
// characters, '...' strings and "'" strings.
func unquoteSingle(q string) string {
	if q == "''" {
		return ""
	}
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		switch q[i] {
		case '\'':
			j := strings.IndexByte(q[i+1:], '\'')
			b.WriteString(q[i+1 : i+1+j])
			i += j + 1
		case '"':
			j := strings.IndexByte(q[i+1:], '"')
			b.WriteString(q[i+1 : i+1+j])
			i += j + 1
		default:
			b.WriteByte(q[i])
		}
	}
	return b.String()
}
