package dashboard_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"

	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/par-project/par/dashboard"
)

// fakeSource serves a fixed Snapshot, or err.
type fakeSource struct {
	s   *dashboard.Snapshot
	err error
}

func (f fakeSource) Snapshot(context.Context) (*dashboard.Snapshot, error) {
	if f.err != nil {
		return nil, f.err
	}
	s := *f.s
	s.Time = time.Now()
	return &s, nil
}

func fakeSnapshot() *dashboard.Snapshot {
	return &dashboard.Snapshot{
		Workers: []dashboard.Worker{{ID: "w1", Queue: "default", Slots: 4}, {ID: "w2", Queue: "default", Slots: 4, Stale: true}},
		Queues:  []dashboard.Queue{{Name: "default", Pending: 3, InFlight: 2}},
		Runs:    []dashboard.Run{{ID: "r", State: dashboard.RunRunning, Tasks: []string{"t"}}},
		Stats: []dashboard.Stat{{Queue: "default", Task: "t", Submitted: 10, Done: 6, Failed: 1, Retried: 1, Rerun: 2,
			Duration: dashboard.Histogram{Bounds: []float64{0.1, 1}, Counts: []uint64{5, 7}, Count: 7, Sum: 2.5}}},
		Failures: []dashboard.Failure{{Index: 3, Error: xssText}},
	}
}

func newDashboard(t *testing.T, src dashboard.Source, opts ...dashboard.Option) (*dashboard.Dashboard, *httptest.Server) {
	t.Helper()
	d, err := dashboard.New(src, opts...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d.Handler())
	t.Cleanup(func() {
		d.Close()
		srv.Close()
	})
	return d, srv
}

func get(t *testing.T, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if h := req.Header.Get("Host"); h != "" {
		req.Host = h
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestPageIsSelfContained(t *testing.T) {
	_, srv := newDashboard(t, fakeSource{s: fakeSnapshot()})
	resp, body := get(t, srv.URL+"/")
	if resp.StatusCode != 200 || !strings.Contains(body, `<script src="app.js"`) {
		t.Fatalf("GET /: %s\n%s", resp.Status, body)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(body, "http://") || strings.Contains(body, "https://") {
		t.Errorf("the page allows inline code or loads from elsewhere")
	}
	for _, path := range []string{"/app.js", "/style.css"} {
		resp, body := get(t, srv.URL+path)
		if resp.StatusCode != 200 || len(body) == 0 {
			t.Errorf("GET %s: %s", path, resp.Status)
		}
		if strings.Contains(body, "innerHTML") || strings.Contains(body, "https://") {
			t.Errorf("%s uses innerHTML or an outside resource", path)
		}
	}
	if resp, body := get(t, srv.URL+"/healthz"); resp.StatusCode != 200 || body != "ok\n" {
		t.Errorf("GET /healthz: %s %q", resp.Status, body)
	}
	if resp, _ := get(t, srv.URL+"/nothing"); resp.StatusCode != 404 {
		t.Errorf("GET /nothing: %s", resp.Status)
	}
}

func TestStateAndEvents(t *testing.T) {
	d, srv := newDashboard(t, fakeSource{s: fakeSnapshot()}, dashboard.Interval(50*time.Millisecond))
	_, body := get(t, srv.URL+"/api/state")
	var s dashboard.Snapshot
	if err := json.Unmarshal([]byte(body), &s); err != nil || len(s.Workers) != 2 || s.Failures[0].Error != xssText {
		t.Fatalf("state: %v %+v", err, s)
	}

	resp, err := http.Get(srv.URL + "/api/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	r := bufio.NewReader(resp.Body)
	var times []time.Time
	for len(times) < 3 {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			var s dashboard.Snapshot
			if err := json.Unmarshal([]byte(data), &s); err != nil {
				t.Fatal(err)
			}
			times = append(times, s.Time)
		}
	}
	if !times[2].After(times[0]) {
		t.Errorf("events not fresh: %v", times)
	}
	// Close ends the stream.
	d.Close()
	if _, err := io.Copy(io.Discard, r); err != nil {
		t.Fatal(err)
	}
}

func TestEventsAreBounded(t *testing.T) {
	_, srv := newDashboard(t, fakeSource{s: fakeSnapshot()}, dashboard.MaxClients(1))
	resp, err := http.Get(srv.URL + "/api/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if r, _ := get(t, srv.URL+"/api/events"); r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("second page: %s, want 503", r.Status)
	}
}

func TestSecret(t *testing.T) {
	_, srv := newDashboard(t, fakeSource{s: fakeSnapshot()}, dashboard.Secret("s3cret"))
	for _, path := range []string{"/", "/api/state", "/api/events", "/metrics"} {
		if r, _ := get(t, srv.URL+path); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s without the secret: %s", path, r.Status)
		}
		if r, _ := get(t, srv.URL+path, "Authorization", "Bearer wrong"); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s with a wrong secret: %s", path, r.Status)
		}
	}
	if r, _ := get(t, srv.URL+"/metrics", "Authorization", "Bearer s3cret"); r.StatusCode != 200 {
		t.Errorf("GET /metrics with the secret: %s", r.Status)
	}
	// The page's token becomes a cookie, and leaves the address.
	r, _ := get(t, srv.URL+"/?token=s3cret")
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/" {
		t.Fatalf("GET /?token=: %s to %q", r.Status, r.Header.Get("Location"))
	}
	var cookie string
	for _, c := range r.Cookies() {
		if c.HttpOnly && c.SameSite == http.SameSiteStrictMode {
			cookie = c.Name + "=" + c.Value
		}
	}
	if cookie == "" {
		t.Fatalf("no HttpOnly, SameSite=Strict cookie: %v", r.Cookies())
	}
	if r, _ := get(t, srv.URL+"/api/state", "Cookie", cookie); r.StatusCode != 200 {
		t.Errorf("GET /api/state with the cookie: %s", r.Status)
	}
	// Health and the static files need no secret: they tell nothing.
	for _, path := range []string{"/healthz", "/app.js"} {
		if r, _ := get(t, srv.URL+path); r.StatusCode != 200 {
			t.Errorf("GET %s: %s", path, r.Status)
		}
	}
	// With a secret, any host name is served.
	if r, _ := get(t, srv.URL+"/api/state", "Authorization", "Bearer s3cret", "Host", "par.example:8222"); r.StatusCode != 200 {
		t.Errorf("GET with the secret under another host name: %s", r.Status)
	}
}

func TestNoSecretServesLoopbackNamesOnly(t *testing.T) {
	_, srv := newDashboard(t, fakeSource{s: fakeSnapshot()})
	for host, want := range map[string]int{
		"127.0.0.1:8222": 200, "localhost:8222": 200, "[::1]:8222": 200, "localhost": 200,
		"attacker.example": http.StatusForbidden, "10.0.0.1:8222": http.StatusForbidden,
	} {
		if r, _ := get(t, srv.URL+"/api/state", "Host", host); r.StatusCode != want {
			t.Errorf("Host %s: %s, want %d", host, r.Status, want)
		}
	}
}

func TestListen(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:0"} {
		if _, err := dashboard.Listen(addr, ""); !errors.Is(err, dashboard.ErrInsecure) {
			t.Errorf("Listen(%q) without a secret: %v, want ErrInsecure", addr, err)
		}
	}
	ln, err := dashboard.Listen("127.0.0.1:0", "")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	ln, err = dashboard.Listen("0.0.0.0:0", "s3cret")
	if err != nil {
		t.Fatalf("Listen on every address with a secret: %v", err)
	}
	ln.Close()
	if _, err := dashboard.Listen("nonsense", ""); !errors.Is(err, dashboard.ErrInvalidOption) {
		t.Errorf("Listen(nonsense): %v", err)
	}
}

func TestOptions(t *testing.T) {
	for _, opt := range []dashboard.Option{dashboard.Interval(0), dashboard.Interval(2 * time.Second), dashboard.MaxClients(0)} {
		if _, err := dashboard.New(fakeSource{s: fakeSnapshot()}, opt); !errors.Is(err, dashboard.ErrInvalidOption) {
			t.Errorf("New: %v, want ErrInvalidOption", err)
		}
	}
	if _, err := dashboard.New(nil); !errors.Is(err, dashboard.ErrInvalidOption) {
		t.Errorf("New(nil): %v", err)
	}
}

func TestMetricsOfASource(t *testing.T) {
	_, srv := newDashboard(t, fakeSource{s: fakeSnapshot()})
	_, body := get(t, srv.URL+"/metrics")
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	qt := map[string]string{"queue": "default", "task": "t"}
	q := map[string]string{"queue": "default"}
	for name, want := range map[string]float64{
		"par_jobs_submitted_total": 10, "par_jobs_done_total": 6, "par_jobs_failed_total": 1,
		"par_jobs_retried_total": 1, "par_jobs_rerun_total": 2,
	} {
		if got := find(t, mfs, name, qt).GetCounter().GetValue(); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	h := find(t, mfs, "par_job_duration_seconds", qt).GetHistogram()
	if h.GetSampleCount() != 7 || h.GetSampleSum() != 2.5 || h.GetBucket()[0].GetCumulativeCount() != 5 {
		t.Errorf("histogram = %v", h)
	}
	for name, want := range map[string]float64{
		"par_workers_alive": 1, "par_worker_slots": 4, "par_queue_pending_batches": 3, "par_queue_inflight_batches": 2,
	} {
		if got := find(t, mfs, name, q).GetGauge().GetValue(); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if got := find(t, mfs, "par_runs_active", nil).GetGauge().GetValue(); got != 1 {
		t.Errorf("par_runs_active = %v", got)
	}
	if got := find(t, mfs, "par_dashboard_source_up", nil).GetGauge().GetValue(); got != 1 {
		t.Errorf("par_dashboard_source_up = %v", got)
	}
}

func TestSourceDown(t *testing.T) {
	_, srv := newDashboard(t, fakeSource{err: errors.New("no cluster")})
	if r, _ := get(t, srv.URL+"/healthz"); r.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/healthz: %s", r.Status)
	}
	if r, _ := get(t, srv.URL+"/api/state"); r.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/api/state: %s", r.Status)
	}
	_, body := get(t, srv.URL+"/metrics")
	if !strings.Contains(body, "par_dashboard_source_up 0") {
		t.Errorf("/metrics:\n%s", body)
	}
}
