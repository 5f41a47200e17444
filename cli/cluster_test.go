package cli

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/par-project/par/cluster"
	"github.com/par-project/par/partest"
)

// TestCluster runs commands on a cluster worker with --cluster: output,
// exit status, the joblog's Host column and --resume as locally.
func TestCluster(t *testing.T) {
	url := partest.StartServer(t)
	partest.StartWorkers(t, url, 1, cluster.AllowExec(), cluster.Name("w1"), cluster.Jobs(2))
	log := filepath.Join(t.TempDir(), "log")

	out, errOut, rc := runMain(t, "", "--cluster", url, "-k", "--joblog", log, "echo", "{}-$PARALLEL_SEQ", ":::", "a", "b", "c")
	if rc != 0 || out != "a-1\nb-2\nc-3\n" {
		t.Fatalf("par --cluster echo: rc %d, stdout %q, stderr %q", rc, out, errOut)
	}
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 4 {
		t.Fatalf("joblog:\n%s", data)
	}
	for _, l := range lines[1:] {
		if f := strings.Split(l, "\t"); f[1] != "w1" || f[6] != "0" {
			t.Errorf("joblog line %q: want Host w1 and Exitval 0", l)
		}
	}

	// --resume runs nothing that the joblog has.
	out, errOut, rc = runMain(t, "", "--cluster", url, "--resume", "--joblog", log, "echo", ":::", "a", "b", "c", "d")
	if rc != 0 || out != "d\n" {
		t.Fatalf("--resume: rc %d, stdout %q, stderr %q", rc, out, errOut)
	}

	// Exit status, standard error and signals come back.
	out, errOut, rc = runMain(t, "", "--cluster", url, "-k", "sh -c 'echo err {} >&2; exit {}'", ":::", "0", "3", "4")
	if rc != 2 || out != "" || errOut != "err 0\nerr 3\nerr 4\n" {
		t.Fatalf("failing commands: rc %d, stdout %q, stderr %q", rc, out, errOut)
	}
	_, errOut, rc = runMain(t, "", "--cluster", url, "--timeout", "0.2", "sleep", ":::", "10")
	if rc != 1 || !strings.Contains(errOut, "timed out") {
		t.Fatalf("--timeout: rc %d, stderr %q", rc, errOut)
	}
}

// TestClusterNeedsAllowExec: a worker started without --allow-exec fails
// the commands, saying why.
func TestClusterNeedsAllowExec(t *testing.T) {
	url := partest.StartServer(t)
	partest.StartWorkers(t, url, 1)
	out, errOut, rc := runMain(t, "", "--cluster", url, "echo", ":::", "a")
	if rc != 1 || out != "" || !strings.Contains(errOut, "--allow-exec") {
		t.Fatalf("rc %d, stdout %q, stderr %q; want 1 failed job naming --allow-exec", rc, out, errOut)
	}
}

// TestClusterDurableRun runs commands as a durable run with --run: run
// again with more inputs, par replays the output of the commands that ran
// and runs only the new ones (each command leaves a mark in a directory).
func TestClusterDurableRun(t *testing.T) {
	url := partest.StartServer(t)
	partest.StartWorkers(t, url, 1, cluster.AllowExec(), cluster.Jobs(2))
	dir := t.TempDir()
	cmd := "echo {}; echo {} >> " + filepath.Join(dir, "ran")
	out, errOut, rc := runMain(t, "", "--cluster", url, "--run", "cmds", "-k", cmd, ":::", "a", "b")
	if rc != 0 || out != "a\nb\n" {
		t.Fatalf("first run: rc %d, stdout %q, stderr %q", rc, out, errOut)
	}
	out, errOut, rc = runMain(t, "", "--cluster", url, "--run", "cmds", "-k", cmd, ":::", "a", "b", "c")
	if rc != 0 || out != "a\nb\nc\n" {
		t.Fatalf("second run: rc %d, stdout %q, stderr %q", rc, out, errOut)
	}
	data, err := os.ReadFile(filepath.Join(dir, "ran"))
	ran := strings.Fields(string(data))
	slices.Sort(ran)
	if err != nil || strings.Join(ran, " ") != "a b c" {
		t.Fatalf("commands that ran: %q, %v; want a and b once, then c", data, err)
	}
	_, errOut, rc = runMain(t, "", "--run", "cmds", "echo", ":::", "a")
	if rc != 255 || !strings.Contains(errOut, "--run needs --cluster") {
		t.Fatalf("--run without --cluster: rc %d, stderr %q", rc, errOut)
	}
}
