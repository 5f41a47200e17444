package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// diffCase is one command line run through GNU parallel and par; their
// standard output and exit status must agree. $D in args, stdin and
// files stands for the case's temporary directory.
type diffCase struct {
	name   string
	args   []string
	stdin  string
	sorted bool              // the order of output lines is not defined
	files  map[string]string // created in $D before the run
	joblog bool              // also compare joblog columns (--joblog $D/log)
	usage  bool              // bad input: GNU parallel prints its usage on stdout, par one line on stderr
}

// gnuParallel returns the path of GNU parallel, skipping the test when it
// is missing locally and failing it in CI, where it must be installed.
func gnuParallel(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("parallel")
	if err == nil {
		if out, _ := exec.Command(p, "--version").Output(); bytes.Contains(out, []byte("GNU parallel")) {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("GNU parallel is required in CI for the differential tests (.ci/install-deps installs it)")
	}
	t.Skip("GNU parallel is not installed: skipping the differential tests (apt-get install parallel)")
	return ""
}

func expandD(s, d string) string { return strings.ReplaceAll(s, "$D", d) }

func runBoth(t *testing.T, gnu string, c diffCase) {
	dirs := [2]string{t.TempDir(), t.TempDir()}
	var outs [2]string
	var rcs [2]int
	var logs [2]string
	for i, d := range dirs {
		for name, body := range c.files {
			if err := os.WriteFile(filepath.Join(d, name), []byte(expandD(body, d)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		args := make([]string, 0, len(c.args)+2)
		if c.joblog {
			args = append(args, "--joblog", filepath.Join(d, "log"))
		}
		for _, a := range c.args {
			args = append(args, expandD(a, d))
		}
		stdin := expandD(c.stdin, d)
		var stdout, stderr bytes.Buffer
		if i == 0 {
			cmd := exec.Command(gnu, append([]string{"--will-cite"}, args...)...)
			cmd.Stdin = strings.NewReader(stdin)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			cmd.Dir = d
			err := cmd.Run()
			if ee, ok := err.(*exec.ExitError); ok {
				rcs[i] = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
		} else {
			rcs[i] = Main(context.Background(), args, strings.NewReader(stdin), &stdout, &stderr)
		}
		outs[i] = strings.ReplaceAll(stdout.String(), d, "$D")
		if c.sorted {
			lines := strings.SplitAfter(outs[i], "\n")
			slices.Sort(lines)
			outs[i] = strings.Join(lines, "")
		}
		if c.joblog {
			logs[i] = joblogColumns(t, filepath.Join(d, "log"), d)
		}
		if testing.Verbose() && stderr.Len() > 0 {
			t.Logf("stderr %d: %s", i, stderr.String())
		}
	}
	if c.usage {
		outs[0] = ""
		if rcs[1] != 255 || outs[1] != "" {
			t.Errorf("bad input: par exit %d, stdout %q; want 255 and nothing", rcs[1], outs[1])
		}
	}
	if outs[0] != outs[1] {
		t.Errorf("stdout differs\nGNU parallel: %q\npar:          %q", outs[0], outs[1])
	}
	if rcs[0] != rcs[1] {
		t.Errorf("exit status differs: GNU parallel %d, par %d", rcs[0], rcs[1])
	}
	if logs[0] != logs[1] {
		t.Errorf("joblog differs\nGNU parallel:\n%s\npar:\n%s", logs[0], logs[1])
	}
}

// joblogColumns keeps the columns of a joblog that do not depend on time:
// Seq, Host, Send, Receive, Exitval, Signal, Command, sorted by Seq.
func joblogColumns(t *testing.T, path, d string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	var rows []string
	for i, l := range lines {
		f := strings.Split(l, "\t")
		if len(f) < 9 {
			t.Fatalf("joblog line %d has %d columns: %q", i, len(f), l)
		}
		if i > 0 {
			if len(f[3]) != 10 {
				t.Errorf("JobRuntime is not 10 wide: %q", f[3])
			}
		}
		rows = append(rows, strings.Join([]string{f[0], f[1], f[4], f[5], f[6], f[7], strings.Join(f[8:], "\t")}, "\t"))
	}
	slices.Sort(rows[1:])
	return strings.ReplaceAll(strings.Join(rows, "\n"), d, "$D")
}

func TestDifferential(t *testing.T) {
	gnu := gnuParallel(t)
	for _, c := range diffCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			runBoth(t, gnu, c)
		})
	}
}
