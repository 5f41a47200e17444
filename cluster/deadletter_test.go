package cluster_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/par-project/par"
	"github.com/par-project/par/cluster"
	"github.com/par-project/par/partest"
)

// dieOnceTask appends its index to a file, like appendTask, except that
// job 3 kills its worker process the first time it runs.
var dieOnceTask = par.Register("cluster-test.die-once", func(ctx context.Context, in appendIn) (int, error) {
	if in.I == 3 {
		if f, err := os.OpenFile(in.File+".died", os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600); err == nil {
			f.Close()
			os.Exit(3)
		}
	}
	return appendTask.Func()(ctx, in)
})

// TestDeadLetters loses a batch's worker until the batch exhausts its
// deliveries: it is kept with its reason, listed, and par retry runs it;
// the durable run then finishes without running anything again.
func TestDeadLetters(t *testing.T) {
	url := partest.StartServerWith(t, cluster.ServerConfig{Settings: cluster.Settings{AckWait: time.Second, MaxDeliver: 2}})
	startWorkerProc(t, url, 1)
	startWorkerProc(t, url, 1)
	c := connect(t, url)
	ctx := testCtx(t)
	file := t.TempDir() + "/ran"
	ins := make([]appendIn, 6)
	for i := range ins {
		ins[i] = appendIn{I: i, File: file}
	}
	_, err := par.Map(ctx, ins, dieOnceTask.Func(), par.On(c.Run("dl")), par.BatchSize(1), par.CollectErrors())
	var lost *par.WorkerLostError
	if !errors.As(err, &lost) || !strings.Contains(err.Error(), "MaxDeliver") {
		t.Fatalf("Map: %v, want job 3's *par.WorkerLostError", err)
	}
	dead, err := c.DeadLetters(ctx, "dl")
	if err != nil || len(dead) != 1 || dead[0].Jobs != 1 || dead[0].Task != "cluster-test.die-once" ||
		!strings.Contains(dead[0].Reason, "handed out 2 times") {
		t.Fatalf("dead letters: %+v, %v; want job 3's batch with its reason", dead, err)
	}
	runs, err := c.Runs(ctx)
	if err != nil || len(runs) != 1 || runs[0].Dead != 1 || runs[0].Done != 5 || runs[0].Failed != 1 {
		t.Fatalf("runs: %+v, %v; want dl with 5 done, 1 failed, 1 dead", runs, err)
	}

	stored := storedResults(t, ctx, url, "dl")
	var out, errOut bytes.Buffer
	if code := cluster.RetryMain(ctx, []string{"--connect", url, "dl"}, &out, &errOut); code != 0 || out.String() != "re-queued 1 jobs of run dl\n" {
		t.Fatalf("par retry: %d, %q, %q", code, out.String(), errOut.String())
	}
	if dead, err := c.DeadLetters(ctx, "dl"); err != nil || len(dead) != 0 {
		t.Fatalf("dead letters after retry: %+v, %v", dead, err)
	}
	for storedResults(t, ctx, url, "dl") == stored {
		select {
		case <-ctx.Done():
			t.Fatal("the retried job's result never came")
		case <-time.After(10 * time.Millisecond):
		}
	}
	got, err := par.Map(ctx, ins, dieOnceTask.Func(), par.On(c.Run("dl")), par.BatchSize(1))
	if err != nil || got[3] != 3 {
		t.Fatalf("the run again: %v, %v", got, err)
	}
	if counts := lineCounts(t, file); len(counts) != 6 || counts[3] != 1 {
		t.Fatalf("jobs that ran: %v; want each once", counts)
	}
	if code := cluster.RetryMain(ctx, []string{"--connect", url, "a.b"}, &out, &errOut); code != 2 {
		t.Fatalf("par retry with a bad name exited %d", code)
	}
}
