package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// parCmd runs the test binary as par (see TestMain).
func parCmd(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := exec.Command(exe, args...)
	c.Env = append(os.Environ(), "PAR_TEST_MAIN=1")
	return c
}

func runMain(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	rc := Main(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), rc
}

// waitFor polls cond until it holds; for conditions only /proc can tell.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestOutputNeverMixes(t *testing.T) {
	const jobs, size = 30, 3 << 20
	cmd := fmt.Sprintf("yes O{} | head -c %d; yes E{} | head -c %d >&2; yes O{} | head -c %d", size, size, size)
	out, errOut, rc := runMain(t, "", append([]string{"-j30", cmd, ":::"}, seqArgs(1, jobs)...)...)
	if rc != 0 {
		t.Fatalf("exit %d: %s", rc, errOut[:min(len(errOut), 300)])
	}
	check := func(name, s, prefix string, per int) {
		seen := map[string]bool{}
		for len(s) > 0 {
			line, _, _ := strings.Cut(s, "\n")
			if !strings.HasPrefix(line, prefix) {
				t.Fatalf("%s: line %q is not from %s", name, line[:min(len(line), 20)], prefix)
			}
			if seen[line] {
				t.Fatalf("%s: output of job %s comes back after another job's", name, line)
			}
			seen[line] = true
			block := s[:per]
			// the job's output is one block: each line the same, the last maybe cut
			for _, l := range strings.Split(strings.TrimSuffix(block, "\n"), "\n") {
				if !strings.HasPrefix(line, l) {
					t.Fatalf("%s: job %s's output is mixed with %q", name, line, l)
				}
			}
			s = s[per:]
		}
		if len(seen) != jobs {
			t.Fatalf("%s: %d jobs' output, want %d", name, len(seen), jobs)
		}
	}
	check("stdout", out, "O", 2*size)
	check("stderr", errOut, "E", size)
}

func TestSpoolKeepsMemorySmall(t *testing.T) {
	const per = 64 << 20
	c := parCmd(t, "-j4", fmt.Sprintf("head -c %d /dev/zero #", per), ":::", "1", "2", "3", "4")
	measureRSS(t, c)
	devnull, _ := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	defer devnull.Close()
	c.Stdout = devnull
	if err := c.Run(); err != nil {
		t.Fatal(err)
	}
	rssMB := peakRSS(t, c)
	t.Logf("par peak RSS %d MB for 4 jobs writing %d MB each at once", rssMB, per>>20)
	if rssMB > 64 && !raceEnabled {
		t.Errorf("par's peak RSS is %d MB; output should be spooled to disk", rssMB)
	}
}

func TestFullDiskIsReported(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full")
	}
	defer full.Close()
	var errb bytes.Buffer
	rc := Main(context.Background(), []string{"echo", ":::", "a"}, strings.NewReader(""), full, &errb)
	if rc != 255 || !strings.Contains(errb.String(), "no space left") {
		t.Errorf("writing to a full device: exit %d, stderr %q", rc, errb.String())
	}
	// A spool that cannot go to disk is an error too, never a cut output.
	_, errOut, rc := runMain(t, "", "--tmpdir", "/dev/null/nowhere", "head -c 200000 /dev/zero", ":::", "a")
	if rc != 255 || !strings.Contains(errOut, "output lost") {
		t.Errorf("unusable --tmpdir: exit %d, stderr %q", rc, errOut)
	}
}

func TestTempFilesGoneAfterSIGKILL(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "go")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "tmp")
	os.Mkdir(tmp, 0o700)
	c := parCmd(t, "--tmpdir", tmp, "head -c 300000 /dev/zero; cat "+fifo, ":::", "a")
	c.Stdout = io.Discard
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	fdDir := fmt.Sprintf("/proc/%d/fd", c.Process.Pid)
	waitFor(t, "par to spool to a temporary file", func() bool {
		fds, _ := os.ReadDir(fdDir)
		for _, fd := range fds {
			if l, _ := os.Readlink(filepath.Join(fdDir, fd.Name())); strings.HasPrefix(l, tmp) {
				return true
			}
		}
		return false
	})
	c.Process.Kill()
	c.Wait()
	os.WriteFile(fifo, nil, 0) // let the orphaned job end
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("temporary files left after SIGKILL: %v", left)
	}
}

func TestSignalStopsProcessGroups(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			for _, n := range []string{"1", "2"} {
				if err := syscall.Mkfifo(filepath.Join(dir, n), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			// each job starts a grandchild in its process group, then waits
			c := parCmd(t, "-j2", "sleep 300 & echo $! > "+dir+"/{}; wait", ":::", "1", "2")
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			var pids []int
			for _, n := range []string{"1", "2"} {
				b, err := os.ReadFile(filepath.Join(dir, n)) // blocks until the job writes
				if err != nil {
					t.Fatal(err)
				}
				pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
				pids = append(pids, pid)
			}
			c.Process.Signal(sig)
			c.Wait()
			for _, pid := range pids {
				waitFor(t, fmt.Sprintf("grandchild %d to die", pid), func() bool {
					err := syscall.Kill(pid, 0)
					if errors.Is(err, syscall.ESRCH) {
						return true
					}
					st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
					return strings.Contains(string(st), ") Z ")
				})
			}
		})
	}
}

func TestInjectionStaysData(t *testing.T) {
	dir := t.TempDir()
	evil := []string{"$(touch " + dir + "/a)", "; touch " + dir + "/b", "`touch " + dir + "/c`", "' ; touch " + dir + "/d; '", "\"; touch " + dir + "/e; \"", "| touch " + dir + "/f", "&& touch " + dir + "/g"}
	out, _, rc := runMain(t, "", append([]string{"-k", "echo"}, append([]string{":::"}, evil...)...)...)
	if rc != 0 || out != strings.Join(evil, "\n")+"\n" {
		t.Errorf("exit %d, output %q", rc, out)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("input was executed: %v", left)
	}
}

func TestLongArgument(t *testing.T) {
	arg := strings.Repeat("x", 128<<10-100) // GNU parallel refuses commands over about 63 KB
	out, errOut, rc := runMain(t, arg+"\n", "printf %s {} | wc -c")
	if rc != 0 || strings.TrimSpace(out) != strconv.Itoa(len(arg)) {
		t.Errorf("exit %d, out %q, err %q", rc, out, errOut)
	}
}

// lineReader yields one line of n bytes without holding it in memory.
type lineReader struct{ n int }

func (l *lineReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		return 0, io.EOF
	}
	k := min(len(p), l.n)
	for i := range p[:k] {
		p[i] = 'x'
	}
	l.n -= k
	if k < len(p) {
		p[k] = '\n'
		k++
		l.n = -1
	}
	return k, nil
}

func TestHugeLinePipe(t *testing.T) {
	const n = 100 << 20
	var out, errb bytes.Buffer
	rc := Main(context.Background(), []string{"--pipe", "wc -c"}, &lineReader{n: n}, &out, &errb)
	if rc != 0 || strings.TrimSpace(out.String()) != strconv.Itoa(n+1) {
		t.Errorf("exit %d, out %q, err %q", rc, out.String(), errb.String())
	}
}

func TestBarOnlyOnStderr(t *testing.T) {
	out, errOut, rc := runMain(t, "", "-k", "--bar", "echo", ":::", "a", "b", "c")
	if rc != 0 || out != "a\nb\nc\n" {
		t.Errorf("exit %d, stdout %q", rc, out)
	}
	if errOut == "" {
		t.Error("no progress on stderr")
	}
	out, errOut, _ = runMain(t, "", "-k", "--eta", "echo", ":::", "a")
	if out != "a\n" || !strings.Contains(errOut, "ETA") {
		t.Errorf("--eta: stdout %q stderr %q", out, errOut)
	}
}

func TestBadInputRunsNothing(t *testing.T) {
	dir := t.TempDir()
	mark := "touch " + dir + "/ran"
	os.WriteFile(filepath.Join(dir, "badlog"), []byte("not a joblog\n"), 0o644)
	for _, args := range [][]string{
		{"--frobnicate", mark, ":::", "a"},
		{"--halt", "sometimes", mark, ":::", "a"},
		{"-j", "many", mark, ":::", "a"},
		{mark, "::::", dir + "/missing"},
		{"--joblog", dir + "/badlog", "--resume", mark, ":::", "a"},
		{"--joblog", dir, "--resume", mark, ":::", "a"},
		{mark + " {3}", ":::", "a", ":::", "b"},
		{"--timeout", "soon", mark, ":::", "a"},
	} {
		out, errOut, rc := runMain(t, "", args...)
		lines := strings.Count(errOut, "\n")
		if rc != 255 || out != "" || lines != 1 || !strings.HasPrefix(errOut, "par: ") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 255 and one line", args, rc, out, errOut)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Error("a job ran despite bad input")
	}
}

func TestSubcommands(t *testing.T) {
	for _, w := range []string{"server", "worker", "status"} {
		_, errOut, rc := runMain(t, "", w)
		if rc != 255 || !strings.Contains(errOut, w) {
			t.Errorf("%s: exit %d, %q", w, rc, errOut)
		}
	}
	out, _, rc := runMain(t, "", "echo", ":::", "server")
	if rc != 0 || out != "server\n" {
		t.Errorf("echo ::: server: %d %q", rc, out)
	}
}

func TestResults(t *testing.T) {
	dir := t.TempDir()
	out, _, rc := runMain(t, "", "-k", "--results", dir, "echo {}; echo err >&2", ":::", "a", "b/c")
	if rc != 0 || out != "a\nb/c\n" {
		t.Fatalf("exit %d, out %q", rc, out)
	}
	for path, want := range map[string]string{"1/a/stdout": "a\n", "1/a/stderr": "err\n", "1/a/seq": "1", `1/b\_c/stdout`: "b/c\n", `1/b\_c/seq`: "2"} {
		b, err := os.ReadFile(filepath.Join(dir, path))
		if err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", path, b, err, want)
		}
	}
}

func TestResumeFromGNUJobLog(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	b, _ := os.ReadFile("testdata/gnu-joblog.txt") // 12 jobs, 2, 3, 4 and 12 failed
	os.WriteFile(log, b, 0o644)
	args := append([]string{"-k", "--joblog", log, "--resume-failed", "echo {}"}, ":::")
	args = append(args, seqArgs(1, 13)...)
	out, _, rc := runMain(t, "", args...)
	if rc != 0 || out != "2\n3\n4\n12\n13\n" {
		t.Errorf("--resume-failed: exit %d, out %q", rc, out)
	}
	out, _, _ = runMain(t, "", append([]string{"-k", "--joblog", log, "--resume", "echo {}", ":::"}, seqArgs(1, 14)...)...)
	if out != "14\n" {
		t.Errorf("--resume: out %q", out)
	}
	got, _ := os.ReadFile(log)
	if !strings.HasPrefix(string(got), string(b)) || strings.Count(string(got), "\n") != 13+5+1 {
		t.Errorf("joblog not appended to:\n%s", got)
	}
}

// seqReader yields the lines 1..n without holding them.
type seqReader struct {
	i, n int
	buf  []byte
}

func (s *seqReader) Read(p []byte) (int, error) {
	for len(s.buf) < len(p) && s.i < s.n {
		s.i++
		s.buf = strconv.AppendInt(s.buf, int64(s.i), 10)
		s.buf = append(s.buf, '\n')
	}
	if len(s.buf) == 0 {
		return 0, io.EOF
	}
	k := copy(p, s.buf)
	s.buf = s.buf[k:]
	return k, nil
}

func TestStreamedInputKeepsMemoryBounded(t *testing.T) {
	const lines = 300000
	c := parCmd(t, "-k", "--dry-run", "echo")
	measureRSS(t, c)
	c.Stdin = &seqReader{n: lines}
	var out countWriter
	c.Stdout = &out
	if err := c.Run(); err != nil {
		t.Fatal(err)
	}
	if out.lines != lines {
		t.Fatalf("%d jobs, want %d", out.lines, lines)
	}
	rssMB := peakRSS(t, c)
	t.Logf("par peak RSS %d MB for %d input lines from stdin", rssMB, lines)
	if rssMB > 48 && !raceEnabled {
		t.Errorf("peak RSS %d MB: input is not streamed", rssMB)
	}
}

type countWriter struct{ lines int }

func (c *countWriter) Write(p []byte) (int, error) {
	c.lines += bytes.Count(p, []byte("\n"))
	return len(p), nil
}

// measureRSS makes the par process c report its peak RSS when it exits.
func measureRSS(t *testing.T, c *exec.Cmd) {
	c.Env = append(c.Env, "PAR_TEST_HWM="+filepath.Join(t.TempDir(), "status"))
}

// peakRSS is the VmHWM, in MB, that the finished par process c reported.
func peakRSS(t *testing.T, c *exec.Cmd) int64 {
	t.Helper()
	var path string
	for _, e := range c.Env {
		if v, ok := strings.CutPrefix(e, "PAR_TEST_HWM="); ok {
			path = v
		}
	}
	st, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(st), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb / 1024
		}
	}
	t.Fatal("no VmHWM")
	return 0
}
