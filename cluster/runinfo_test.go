package cluster_test

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/par-project/par"
	"github.com/par-project/par/cluster"
	"github.com/par-project/par/partest"
)

// TestWatchersSee checks what a run tells those who watch the cluster:
// its batches name it, its results give their delivery, and its end is
// announced.
func TestWatchersSee(t *testing.T) {
	url := partest.StartServer(t)
	partest.StartWorkers(t, url, 1)
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	msgs := make(chan *nats.Msg, 64)
	for _, subject := range []string{"par.jobs.>", "par.results.>", cluster.EndedPrefix + "*"} {
		if _, err := nc.ChanSubscribe(subject, msgs); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	c := connect(t, url)
	ctx := testCtx(t)
	host, _ := os.Hostname()

	for _, tc := range []struct {
		backend     par.Backend
		name, total string
	}{
		{c, squareTask.Name(), ""},              // unnamed: the task's name, total unknown
		{c.Named("squares", 3), "squares", "3"}, // named, with its total
	} {
		if _, err := par.Map(ctx, []int{1, 2, 3}, squareTask.Func(), par.On(tc.backend), par.BatchSize(3)); err != nil {
			t.Fatal(err)
		}
		// One batch, its results, the end: in that order on this
		// connection, since each follows the other.
		var batch, results, ended *nats.Msg
		for ended == nil {
			select {
			case m := <-msgs:
				switch {
				case strings.HasPrefix(m.Subject, "par.jobs."):
					batch = m
				case strings.HasPrefix(m.Subject, "par.results."):
					results = m
				default:
					ended = m
				}
			case <-ctx.Done():
				t.Fatal("no end of the run announced")
			}
		}
		if batch == nil {
			t.Fatal("no batch seen before the run's end")
		}
		h := batch.Header
		if h.Get(cluster.HeaderName) != tc.name || h.Get(cluster.HeaderHost) != host || h.Get(cluster.HeaderTotal) != tc.total {
			t.Errorf("batch headers %v, want name %q, host %q, total %q", h, tc.name, host, tc.total)
		}
		run := batch.Subject[strings.LastIndexByte(batch.Subject, '.')+1:]
		if ended.Subject != cluster.EndedPrefix+run {
			t.Errorf("end announced on %s, want %s", ended.Subject, cluster.EndedPrefix+run)
		}
		var e cluster.Ended
		if err := json.Unmarshal(ended.Data, &e); err != nil || e.Cancelled {
			t.Errorf("end %s: %v, want not cancelled", ended.Data, err)
		}
		// The stored results may come after the end: the driver takes the
		// copy the worker sends it directly.
		for results == nil {
			select {
			case m := <-msgs:
				if strings.HasPrefix(m.Subject, "par.results.") {
					results = m
				}
			case <-ctx.Done():
				t.Fatal("no results seen")
			}
		}
		if d := results.Header.Get(cluster.HeaderDelivery); d != "1" {
			t.Errorf("results say delivery %q, want 1", d)
		}
	}
}

// TestProgressFollowsResults checks that par.Progress and the bar advance
// as a cluster's results come back, up to the run's total.
func TestProgressFollowsResults(t *testing.T) {
	url := partest.StartServer(t)
	partest.StartWorkers(t, url, 2, cluster.Jobs(2))
	c := connect(t, url)
	const n = 40
	xs := make([]int, n)
	for i := range xs {
		xs[i] = i
	}
	var mu sync.Mutex
	var seen []par.Status
	var bar bytes.Buffer
	_, err := par.Map(testCtx(t), xs, squareTask.Func(), par.On(c), par.BatchSize(4), par.BarTo(&bar),
		par.Progress(func(s par.Status) {
			mu.Lock()
			seen = append(seen, s)
			mu.Unlock()
		}))
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) < 2 {
		t.Fatalf("progress called %d times for %d batches: %+v", len(seen), n/4, seen)
	}
	for i, s := range seen {
		if s.Total != n || s.Failed != 0 || i > 0 && s.Done <= seen[i-1].Done {
			t.Fatalf("progress %d: %+v after %+v: want done rising, total %d", i, s, seen[max(0, i-1)], n)
		}
	}
	if last := seen[len(seen)-1]; last.Done != n {
		t.Errorf("last progress %+v, want %d done", last, n)
	}
	if !strings.Contains(bar.String(), "100%") || !strings.Contains(bar.String(), "40/40") {
		t.Errorf("the bar ended as %q, want 100%% and 40/40", bar.String())
	}
}
