package dashboard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/nats-io/nats.go"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/par-project/par"
	"github.com/par-project/par/cluster"
	"github.com/par-project/par/dashboard"
	"github.com/par-project/par/partest"
)

const jobs = 20

// startCluster starts a par server, two workers and a dashboard of the
// server on a free loopback port, runs a batch of jobs (job 7 fails), and
// returns the dashboard's base URL once the dashboard has counted them.
func startCluster(t *testing.T) string {
	t.Helper()
	url := partest.StartServer(t)
	partest.StartWorkers(t, url, 2, cluster.Jobs(2))

	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	col, err := dashboard.Watch(nc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { col.Close() })
	d, err := dashboard.New(col, dashboard.Interval(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := dashboard.Listen("127.0.0.1:0", "")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: d.Handler(), ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		d.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutting the dashboard down: %v", err)
		}
		<-served
	})

	ctx := testCtx(t, 60*time.Second)
	// Both workers are registered before the run, so both get work.
	if err := eventually(ctx, func() error {
		s, _ := col.Snapshot(ctx)
		if len(s.Workers) != 2 {
			return fmt.Errorf("%d workers listed, want 2", len(s.Workers))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	c, err := cluster.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	xs := make([]int, jobs)
	for i := range xs {
		xs[i] = i
	}
	_, err = par.Map(ctx, xs, checkTask.Func(), par.On(c), par.CollectErrors(), par.BatchSize(3))
	var je *par.JobError
	if !errors.As(err, &je) || je.Index != 7 || !strings.Contains(err.Error(), xssText) {
		t.Fatalf("Map: %v, want job 7 to fail with %q", err, xssText)
	}
	if err := eventually(ctx, func() error {
		s, _ := col.Snapshot(ctx)
		if s.Totals.Done != jobs-1 || s.Totals.Failed != 1 {
			return fmt.Errorf("dashboard counted %+v, want %d done and 1 failed", s.Totals, jobs-1)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return "http://" + ln.Addr().String()
}

func TestPageInChromium(t *testing.T) {
	browser := chromium(t)
	base := startCluster(t)

	dir, err := os.MkdirTemp("", "par-dashboard-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	defer removeAll(t, dir)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(1280, 1000),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer func() {
		if err := chromedp.Cancel(ctx); err != nil {
			t.Logf("closing chromium: %v", err)
		}
		cancel()
	}()
	// Start the browser without a timeout: a timeout on the first Run
	// would stop it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	var dialogs atomic.Int32
	if err := chromedp.Listen(ctx, func(ev any) {
		if _, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			dialogs.Add(1)
		}
	}); err != nil {
		t.Fatal(err)
	}
	tctx, tcancel := context.WithTimeout(ctx, 60*time.Second)
	defer tcancel()
	wait := func(what, js string) {
		t.Helper()
		if _, err := chromedp.Run(tctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
	}
	if err := chromedp.Do(tctx, chromedp.Navigate(base+"/")); err != nil {
		t.Fatal(err)
	}
	wait("2 live workers", `document.querySelectorAll("#workers tbody tr.worker:not(.stale)").length === 2`)
	wait("the run at 100%", `[...document.querySelectorAll("#runs tbody tr.run.done .pct")].some(e => e.textContent === "100%")`)
	wait("a failure row", `document.querySelectorAll("#failures tbody tr.failure").length === 1`)

	got, err := chromedp.Run(tctx, chromedp.Evaluate[map[string]any](`({
		error: document.querySelector("#failures tr.failure td.error").textContent,
		job: document.querySelector("#failures tr.failure td:nth-child(4)").textContent,
		scripts: document.scripts.length,
		injected: document.querySelectorAll("main script, main img, main iframe").length,
		done: document.querySelector("#runs tbody tr.run td:nth-child(5)").textContent,
		failed: document.querySelector("#runs tbody tr.run td:nth-child(6)").textContent,
	})`))
	if err != nil {
		t.Fatal(err)
	}
	if got["error"] != xssText {
		t.Errorf("failure row's error reads %q, want %q as text", got["error"], xssText)
	}
	if got["job"] != "7" {
		t.Errorf("failure row's job is %q, want 7", got["job"])
	}
	if got["scripts"] != float64(1) || got["injected"] != float64(0) {
		t.Errorf("page has %v scripts and %v injected elements, want 1 (app.js) and 0", got["scripts"], got["injected"])
	}
	if got["done"] != fmt.Sprint(jobs-1) || got["failed"] != "1" {
		t.Errorf("run row shows %v done and %v failed, want %d and 1", got["done"], got["failed"], jobs-1)
	}
	if n := dialogs.Load(); n != 0 {
		t.Errorf("%d dialogs opened: the error text ran as a script", n)
	}

	shot, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "dashboard.png")
	if err := os.WriteFile(file, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 100 || b.Dy() < 100 {
		t.Fatalf("screenshot is %v", b)
	}
	t.Logf("screenshot: %s (%d bytes, %v)", file, len(shot), img.Bounds())
	// To look at it after the test, name a directory to keep it in.
	if keep := os.Getenv("PAR_SCREENSHOT_DIR"); keep != "" {
		if err := os.WriteFile(filepath.Join(keep, "dashboard.png"), shot, 0o644); err != nil {
			t.Error(err)
		}
	}
}

// chromium returns the browser to drive, or skips the test when there is
// none, except in CI (CI=true), where it fails.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is missing: .ci/install-deps installs it (apt-get install chromium)")
	}
	t.Skip("chromium is missing: install it (apt-get install chromium) to run the browser test")
	return ""
}

// removeAll removes dir, trying again while chromium's child processes
// finish writing in it.
func removeAll(t *testing.T, dir string) {
	var err error
	for range 50 {
		if err = os.RemoveAll(dir); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("removing %s: %v", dir, err)
}

func TestMetricsCountTheBatch(t *testing.T) {
	base := startCluster(t)
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %v %v", resp.Status, err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parsing /metrics: %v\n%s", err, body)
	}
	labels := map[string]string{"queue": cluster.DefaultQueue, "task": checkTask.Name()}
	for name, want := range map[string]float64{
		"par_jobs_submitted_total": jobs,
		"par_jobs_done_total":      jobs - 1,
		"par_jobs_failed_total":    1,
		"par_jobs_retried_total":   0,
		"par_jobs_rerun_total":     0,
	} {
		m := find(t, mfs, name, labels)
		if got := m.GetCounter().GetValue(); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	h := find(t, mfs, "par_job_duration_seconds", labels).GetHistogram()
	if h.GetSampleCount() != jobs {
		t.Errorf("par_job_duration_seconds has %d samples, want %d", h.GetSampleCount(), jobs)
	}
	q := map[string]string{"queue": cluster.DefaultQueue}
	if got := find(t, mfs, "par_workers_alive", q).GetGauge().GetValue(); got != 2 {
		t.Errorf("par_workers_alive = %v, want 2", got)
	}
	if got := find(t, mfs, "par_queue_pending_batches", q).GetGauge().GetValue(); got != 0 {
		t.Errorf("par_queue_pending_batches = %v, want 0", got)
	}
	if got := find(t, mfs, "par_runs_active", nil).GetGauge().GetValue(); got != 0 {
		t.Errorf("par_runs_active = %v, want 0", got)
	}
}

// find returns the metric of family name whose labels include want.
func find(t *testing.T, mfs map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	t.Helper()
	mf := mfs[name]
	if mf == nil {
		t.Fatalf("no metric %s", name)
	}
next:
	for _, m := range mf.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		return m
	}
	t.Fatalf("no metric %s with labels %v", name, want)
	return nil
}

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
	in := cluster.WorkerInfo{ID: "w", Host: "h", PID: 7, Queue: "q", Cores: 8, Slots: 4, Busy: 2, Jobs: 99,
		Failed: 3, LastError: "e", Exec: true, Started: time.Unix(5, 0).UTC()}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out dashboard.Worker
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	want := dashboard.Worker{ID: "w", Host: "h", PID: 7, Queue: "q", Cores: 8, Slots: 4, Busy: 2, Jobs: 99,
		Failed: 3, LastError: "e", Exec: true, Started: time.Unix(5, 0).UTC(), Seen: out.Seen}
	if out != want {
		t.Fatalf("a worker record reads as %+v, want %+v", out, want)
	}
}
