package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/par-project/par"
	"github.com/par-project/par/cluster"
	"github.com/par-project/par/dashboard"
	"github.com/par-project/par/partest"
)

func TestServe(t *testing.T) {
	url := partest.StartServer(t)
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ln, err := dashboard.Listen("127.0.0.1:0", "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- dashboard.Serve(ctx, ln, nc) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %s", resp.Status)
	}
	// A page following events does not hold Serve up.
	events, err := http.Get("http://" + ln.Addr().String() + "/api/events")
	if err != nil {
		t.Fatal(err)
	}
	defer events.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

// The dashboard cannot import cluster (par server imports the dashboard),
// so it mirrors the names and the worker record; this keeps them in step.
func TestMirrorsCluster(t *testing.T) {
	if cluster.JobsStream != "PAR_JOBS" || cluster.WorkersBucket != "PAR_WORKERS" {
		t.Fatalf("cluster names %s and %s changed: update the dashboard's", cluster.JobsStream, cluster.WorkersBucket)
	}
	for _, p := range [][2]string{{cluster.HeaderName, dashboard.HeaderName}, {cluster.HeaderHost, dashboard.HeaderHost},
		{cluster.HeaderTotal, dashboard.HeaderTotal}, {cluster.HeaderDelivery, dashboard.HeaderDelivery},
		{cluster.EndedPrefix, dashboard.EndedPrefix}} {
		if p[0] != p[1] {
			t.Errorf("cluster says %q where the dashboard says %q", p[0], p[1])
		}
	}
	ended, err := json.Marshal(cluster.Ended{Cancelled: true})
	if err != nil || string(ended) != `{"cancelled":true}` {
		t.Errorf("cluster.Ended reads %s, the dashboard expects {\"cancelled\":true}", ended)
	}
	in := cluster.WorkerInfo{ID: "w", Host: "h", PID: 7, Queue: "q", Cores: 8, Slots: 4, Busy: 2, RunningJobs: 30, Jobs: 99,
		Failed: 3, LastError: "e", Exec: true, Started: time.Unix(5, 0).UTC()}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out dashboard.Worker
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	want := dashboard.Worker{ID: "w", Host: "h", PID: 7, Queue: "q", Cores: 8, Slots: 4, Busy: 2, RunningJobs: 30, Jobs: 99,
		Failed: 3, LastError: "e", Exec: true, Started: time.Unix(5, 0).UTC(), Seen: out.Seen}
	if out != want {
		t.Fatalf("a worker record reads as %+v, want %+v", out, want)
	}
}

// blockFirst blocks its first call until its context ends, after telling
// blocked; later calls return x at once.
var (
	blocked    = make(chan struct{})
	blockCalls atomic.Int32
	blockFirst = par.Register("dashboard-test.block-first", func(ctx context.Context, x int) (int, error) {
		if blockCalls.Add(1) == 1 {
			close(blocked)
			<-ctx.Done()
			return 0, ctx.Err()
		}
		return x, nil
	})
)

// TestCollectorSeesRedelivery stops the worker that holds a batch: the
// batch goes to another worker, whose results say it was the second
// delivery, and the driver announces the run's end.
func TestCollectorSeesRedelivery(t *testing.T) {
	url := partest.StartServer(t)
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	col, err := dashboard.Watch(nc)
	if err != nil {
		t.Fatal(err)
	}
	defer col.Close()
	ctx := testCtx(t, 60*time.Second)

	first, stopFirst := context.WithCancel(ctx)
	defer stopFirst()
	served := make(chan error, 1)
	go func() { served <- cluster.Serve(first, url, cluster.Jobs(1), cluster.StopTimeout(0)) }()
	c, err := cluster.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	mapped := make(chan error, 1)
	go func() {
		out, err := par.Map(ctx, []int{41}, blockFirst.Func(), par.On(c.Named("redelivery", 1)))
		if err == nil && out[0] != 41 {
			err = fmt.Errorf("Map = %v, want [41]", out)
		}
		mapped <- err
	}()
	select {
	case <-blocked:
	case <-ctx.Done():
		t.Fatal("the first worker never ran the job")
	}
	// The first worker's heartbeat says it runs the job.
	if err := eventually(ctx, func() error {
		s, _ := col.Snapshot(ctx)
		if len(s.Workers) != 1 || s.Workers[0].RunningJobs != 1 || s.Workers[0].Busy != 1 {
			return fmt.Errorf("workers = %+v, want one running 1 job", s.Workers)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	partest.StartWorkers(t, url, 1, cluster.Jobs(1))
	stopFirst() // its batch goes back to the queue, to the other worker
	if err := <-served; err != nil {
		t.Fatalf("first worker: %v", err)
	}
	if err := <-mapped; err != nil {
		t.Fatal(err)
	}
	if err := eventually(ctx, func() error {
		s, _ := col.Snapshot(ctx)
		if len(s.Runs) != 1 {
			return fmt.Errorf("%d runs", len(s.Runs))
		}
		r := s.Runs[0]
		if r.Name != "redelivery" || r.Total != 1 || r.Done != 1 || r.Redelivered != 1 || !r.Ended || r.State != dashboard.RunDone {
			return fmt.Errorf("run = %+v, want redelivery: 1 of 1 done, 1 redelivered, ended", r)
		}
		if s.Totals.Redelivered != 1 {
			return fmt.Errorf("totals = %+v, want 1 redelivered", s.Totals)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
