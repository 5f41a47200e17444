package cluster_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/par-project/par"
	"github.com/par-project/par/cluster"
)

// TestCommands runs par server and par worker in process.
func TestCommands(t *testing.T) {
	ctx, stop := context.WithCancel(testCtx(t))
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop()

	pr, pw := io.Pipe()
	var serverErr bytes.Buffer
	wg.Go(func() {
		defer pw.Close()
		if code := cluster.ServerMain(ctx, []string{"--data", t.TempDir(), "--listen", "127.0.0.1:0", "--secret", "s3"}, pw, &serverErr); code != 0 {
			t.Errorf("par server exited %d: %s", code, serverErr.String())
		}
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("par server printed no URL: %v; stderr: %s", err, serverErr.String())
	}
	go io.Copy(io.Discard, pr)
	url := strings.TrimSpace(line)

	var workerErr bytes.Buffer
	wg.Go(func() {
		if code := cluster.WorkerMain(ctx, []string{"--connect", url, "--jobs", "2", "--secret", "s3"}, io.Discard, &workerErr); code != 0 {
			t.Errorf("par worker exited %d: %s", code, workerErr.String())
		}
	})

	c := connect(t, url, cluster.Secret("s3"))
	if out, err := par.Map(ctx, []int{1, 2, 3}, squareTask.Func(), par.On(c)); err != nil || out[2] != 9 {
		t.Fatalf("Map through par worker: %v, %v", out, err)
	}

	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Workers) != 1 || st.Workers[0].Slots != 2 || len(st.Queues) != 1 || st.Queues[0].Name != cluster.DefaultQueue {
		t.Errorf("Status = %+v, want the one worker with 2 slots and the default queue", st)
	}
}
