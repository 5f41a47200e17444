package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/par-project/par"
	"github.com/par-project/par/cluster"
	"github.com/par-project/par/dashboard"
	"github.com/par-project/par/partest"
)

const (
	jobs    = 20
	runName = "nightly"
)

// TestServerDashboard runs par server --http with two workers, runs a
// batch of jobs of which job 7 fails, and checks what the dashboard, its
// metrics, par status and a browser show of it.
func TestServerDashboard(t *testing.T) {
	srv := startServer(t, "--http", "127.0.0.1:0")
	partest.StartWorkers(t, srv.url, 2, cluster.Jobs(2))
	ctx := testCtx(t, 90*time.Second)

	state := func() (*dashboard.Snapshot, error) {
		resp, body := get(t, srv.dashboard+"/api/state")
		if resp.StatusCode != 200 {
			return nil, fmt.Errorf("GET /api/state: %s", resp.Status)
		}
		var s dashboard.Snapshot
		return &s, json.Unmarshal(body, &s)
	}
	// Both workers are listed before the run, so that both get work.
	if err := eventually(ctx, func() error {
		s, err := state()
		if err == nil && len(s.Workers) != 2 {
			err = fmt.Errorf("%d workers listed, want 2", len(s.Workers))
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}

	c, err := cluster.Connect(srv.url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	xs := make([]int, jobs)
	for i := range xs {
		xs[i] = i
	}
	_, err = par.Map(ctx, xs, checkTask.Func(), par.On(c.Named(runName, jobs)), par.CollectErrors(), par.BatchSize(3))
	var je *par.JobError
	if !errors.As(err, &je) || je.Index != 7 || !strings.Contains(err.Error(), xssText) {
		t.Fatalf("Map: %v, want job 7 to fail with %q", err, xssText)
	}

	var s *dashboard.Snapshot
	if err := eventually(ctx, func() error {
		var err error
		if s, err = state(); err != nil {
			return err
		}
		if s.Totals.Done != jobs-1 || s.Totals.Failed != 1 || len(s.Runs) != 1 || !s.Runs[0].Ended {
			return fmt.Errorf("dashboard counted %+v with %d runs, want %d done, 1 failed, the run ended", s.Totals, len(s.Runs), jobs-1)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	r := s.Runs[0]
	if r.Name != runName || r.Host != host || r.Total != jobs || r.Submitted != jobs || r.Done != jobs-1 || r.Failed != 1 ||
		r.Pending != 0 || r.State != dashboard.RunDone || len(r.Tasks) != 1 || r.Tasks[0] != checkTask.Name() || r.Partial {
		t.Errorf("run = %+v\nwant %s from %s: %d of %d jobs, %d done, 1 failed, done", r, runName, host, jobs, jobs, jobs-1)
	}
	if len(s.Failures) != 1 || s.Failures[0].Index != 7 || s.Failures[0].Error != xssText || s.Failures[0].Run != r.ID {
		t.Errorf("failures = %+v, want job 7 with %q", s.Failures, xssText)
	}
	if len(s.Queues) != 1 || s.Queues[0].Name != cluster.DefaultQueue || s.Queues[0].Workers != 2 || s.Queues[0].Pending != 0 {
		t.Errorf("queues = %+v, want the default queue with 2 workers, nothing pending", s.Queues)
	}

	t.Run("metrics", func(t *testing.T) { checkMetrics(t, srv) })
	t.Run("status", func(t *testing.T) { checkStatus(t, srv, r.ID) })
	t.Run("chromium", func(t *testing.T) { checkPage(t, srv.dashboard) })
}

func checkMetrics(t *testing.T, srv *parServer) {
	resp, body := get(t, srv.dashboard+"/metrics")
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parsing /metrics: %v\n%s", err, body)
	}
	labels := map[string]string{"queue": cluster.DefaultQueue, "task": checkTask.Name()}
	for name, want := range map[string]float64{
		"par_jobs_submitted_total":   jobs,
		"par_jobs_done_total":        jobs - 1,
		"par_jobs_failed_total":      1,
		"par_jobs_retried_total":     0,
		"par_jobs_rerun_total":       0,
		"par_jobs_redelivered_total": 0,
	} {
		if got := find(t, mfs, name, labels).GetCounter().GetValue(); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if h := find(t, mfs, "par_job_duration_seconds", labels).GetHistogram(); h.GetSampleCount() != jobs {
		t.Errorf("par_job_duration_seconds has %d samples, want %d", h.GetSampleCount(), jobs)
	}
	q := map[string]string{"queue": cluster.DefaultQueue}
	for name, want := range map[string]float64{
		"par_workers_alive":         2,
		"par_worker_slots":          4,
		"par_queue_pending_batches": 0,
	} {
		if got := find(t, mfs, name, q).GetGauge().GetValue(); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	for name, want := range map[string]float64{"par_runs_active": 0, "par_dashboard_source_up": 1} {
		if got := find(t, mfs, name, nil).GetGauge().GetValue(); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
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

func checkStatus(t *testing.T, srv *parServer, runID string) {
	ctx := testCtx(t, 30*time.Second)
	var out, errOut bytes.Buffer
	if code := run(ctx, []string{"status", "--connect", srv.url, "--json"}, nil, &out, &errOut); code != 0 {
		t.Fatalf("par status --json exited %d: %s", code, errOut.String())
	}
	var s dashboard.Snapshot
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatalf("par status --json: %v\n%s", err, out.String())
	}
	if len(s.Workers) != 2 || len(s.Runs) != 1 || s.Runs[0].ID != runID || s.Runs[0].Name != runName ||
		s.Runs[0].Done != jobs-1 || s.Runs[0].Failed != 1 || len(s.Failures) != 1 || s.Failures[0].Error != xssText ||
		len(s.Queues) != 1 || s.Totals.Done != jobs-1 {
		t.Errorf("par status --json = %s", out.String())
	}

	out.Reset()
	if code := run(ctx, []string{"status", "--connect", srv.url}, nil, &out, &errOut); code != 0 {
		t.Fatalf("par status exited %d: %s", code, errOut.String())
	}
	table := out.String()
	host, _ := os.Hostname()
	lines := strings.Split(table, "\n")
	row := func(prefix string) []string {
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) {
				return strings.Fields(l)
			}
		}
		t.Errorf("par status printed no line starting %q:\n%s", prefix, table)
		return nil
	}
	if f := row("WORKERS:"); len(f) < 2 || f[1] != "2" {
		t.Errorf("workers heading %v, want 2 live", f)
	}
	// RUN NAME HOST STATE DONE FAILED PENDING TOTAL RATE
	if f := row(runID); len(f) != 9 || f[1] != runName || f[2] != host || f[3] != dashboard.RunDone ||
		f[4] != fmt.Sprint(jobs-1) || f[5] != "1" || f[6] != "0" || f[7] != fmt.Sprint(jobs) {
		t.Errorf("run row %q", f)
	}
	// QUEUE PENDING IN FLIGHT REDELIVERED IDLE SLOTS WORKERS
	if f := row(cluster.DefaultQueue); len(f) != 6 || f[1] != "0" || f[5] != "2" {
		t.Errorf("queue row %q", f)
	}
	if !strings.Contains(table, xssText) || strings.Count(table, " "+checkTask.Name()+" ") != 1 {
		t.Errorf("par status shows no failure of job 7:\n%s", table)
	}
}

// TestStatusWithoutServer runs par status against a NATS server that is not
// par server: it shows the workers and queues, and says why no run.
func TestStatusWithoutServer(t *testing.T) {
	url := partest.StartServer(t)
	partest.StartWorkers(t, url, 1, cluster.Jobs(3))
	ctx := testCtx(t, 30*time.Second)
	var out, errOut bytes.Buffer
	var s dashboard.Snapshot
	// The worker registers itself soon after it starts.
	if err := eventually(ctx, func() error {
		out.Reset()
		if code := run(ctx, []string{"status", "--connect", url, "--json"}, nil, &out, &errOut); code != 0 {
			t.Fatalf("par status exited %d: %s", code, errOut.String())
		}
		if err := json.Unmarshal(out.Bytes(), &s); err != nil {
			t.Fatal(err)
		}
		if len(s.Workers) != 1 {
			return fmt.Errorf("%d workers", len(s.Workers))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(s.Workers) != 1 || s.Workers[0].Slots != 3 || len(s.Queues) != 1 || s.Queues[0].Workers != 1 ||
		len(s.Problems) != 1 || !strings.Contains(s.Problems[0], "no par server") {
		t.Errorf("par status --json = %s", out.String())
	}
	out.Reset()
	if code := run(ctx, []string{"status", "--connect", url}, nil, &out, &errOut); code != 0 ||
		!strings.Contains(out.String(), "WORKERS: 1 live") || !strings.Contains(out.String(), "note: no par server") {
		t.Errorf("par status exited %d:\n%s", code, out.String())
	}
}

func TestStatusBadInput(t *testing.T) {
	ctx := testCtx(t, 30*time.Second)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"status", "--connect", "nats://127.0.0.1:1"}, 1, "par status:"},
		{[]string{"status", "--no-such-flag"}, 2, "no-such-flag"},
		{[]string{"status", "extra"}, 2, "unexpected argument"},
		{[]string{"status", "--connect", "::bad::"}, 1, "par status:"},
	} {
		var out, errOut bytes.Buffer
		if code := run(ctx, tc.args, nil, &out, &errOut); code != tc.code || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("par %q: exit %d, %q; want %d and %q", tc.args, code, errOut.String(), tc.code, tc.want)
		}
	}
}

// TestServerHTTPRules checks that the dashboard follows par server's rule:
// loopback unless a secret is given, and then only for those who give it.
func TestServerHTTPRules(t *testing.T) {
	ctx := testCtx(t, 30*time.Second)
	for _, args := range [][]string{{"--http", "0.0.0.0:0"}, {"--http", ":0"}, {"--http", "nonsense"}} {
		var out, errOut bytes.Buffer
		code := run(ctx, append([]string{"server", "--data", t.TempDir(), "--listen", "127.0.0.1:0"}, args...), nil, &out, &errOut)
		if code != 1 || !strings.Contains(errOut.String(), "--http") || out.Len() != 0 {
			t.Errorf("par server %q: exit %d, stdout %q, stderr %q; want exit 1 naming --http", args, code, out.String(), errOut.String())
		}
	}

	srv := startServer(t, "--http", "0", "--secret", "s3")
	if !strings.HasPrefix(srv.dashboard, "http://127.0.0.1:") {
		t.Errorf("--http 0 serves on %s, want loopback", srv.dashboard)
	}
	if resp, _ := get(t, srv.dashboard+"/api/state"); resp.StatusCode != 401 {
		t.Errorf("GET /api/state without the secret: %s, want 401", resp.Status)
	}
	if resp, _ := get(t, srv.dashboard+"/metrics", "Authorization", "Bearer s3"); resp.StatusCode != 200 {
		t.Errorf("GET /metrics with the secret: %s", resp.Status)
	}
	// par status gives the secret too; a wrong one fails clearly.
	var out, errOut bytes.Buffer
	if code := run(ctx, []string{"status", "--connect", srv.url, "--secret", "s3"}, nil, &out, &errOut); code != 0 ||
		strings.Contains(out.String(), "note:") {
		t.Errorf("par status with the secret: exit %d: %s%s", code, out.String(), errOut.String())
	}
	out.Reset()
	errOut.Reset()
	if code := run(ctx, []string{"status", "--connect", srv.url, "--secret", "nope"}, nil, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), "secret") || out.Len() != 0 {
		t.Errorf("par status with a wrong secret: exit %d, %q", code, errOut.String())
	}
	// NATS's own monitoring moved to --nats-http.
	mon := startServer(t, "--nats-http", "127.0.0.1:0")
	if mon.dashboard != "" {
		t.Errorf("--nats-http started the dashboard")
	}
}

// TestStatusText checks that par status prints what the cluster says on
// one line, with nothing a terminal would obey.
func TestStatusText(t *testing.T) {
	for in, want := range map[string]string{
		"":                       "-",
		"plain":                  "plain",
		"a\tb\nc":                `a b\nc`,
		"\x1b[2Jcleared\x07":     `\x1b[2Jcleared\a`,
		"\u202eevil":             `\u202eevil`,
		"bad\xffbyte":            `bad\ufffdbyte`,
		strings.Repeat("é", 200): strings.Repeat("é", 100) + "…",
	} {
		if got := text(in, 100); got != want {
			t.Errorf("text(%q) = %q, want %q", in, got, want)
		}
	}
}
