package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/par-project/par"
	"go.uber.org/goleak"
)

// Every server, handler, request and worker must be gone when the tests end.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// small is a fleet of 20 quick hosts: 2 flaky, 2 broken, 2 hanging.
var small = fleetSpec{Hosts: 20, Seed: 3, MinLatency: time.Millisecond, MaxLatency: 5 * time.Millisecond,
	Flaky: 0.1, Broken: 0.1, Hanging: 0.1}

func TestCollect(t *testing.T) {
	f, err := startFleet(small)
	if err != nil {
		t.Fatal(err)
	}
	opts := []par.Option{par.Jobs(8), par.Timeout(300 * time.Millisecond), par.Retries(2, time.Millisecond)}
	var groups [][2]int
	results, st, err := collect(context.Background(), f.addrs(), 8, opts, func(first, last int, _ error) {
		groups = append(groups, [2]int{first, last})
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := [][2]int{{0, 7}, {8, 15}, {16, 19}}; len(groups) != 3 || groups[0] != want[0] || groups[1] != want[1] || groups[2] != want[2] {
		t.Errorf("groups reported %v, want %v", groups, want)
	}
	if err := check(f, results, st, 2); err != nil {
		t.Error(err)
	}
	for i, h := range f.hosts {
		err := results[i].Err
		var je *par.JobError
		var se *StatusError
		switch h.kind {
		case hanging:
			if !errors.Is(err, par.ErrTimeout) || errors.As(err, &se) {
				t.Errorf("hanging %s: %v, want a timeout", h.stats.Host, err)
			}
		case broken:
			if !errors.As(err, &se) || se.Code != 500 || errors.Is(err, par.ErrTimeout) || !par.IsRetryable(err) {
				t.Errorf("broken %s: %v, want a retryable HTTP 500", h.stats.Host, err)
			}
			if n := h.hits.Load(); n != 3 {
				t.Errorf("broken %s asked %d times, want 3 (2 retries)", h.stats.Host, n)
			}
		default:
			if err != nil || results[i].Stats != h.stats {
				t.Errorf("%v %s: %+v, %v", h.kind, h.stats.Host, results[i].Stats, err)
			}
		}
		if err != nil && (!errors.As(err, &je) || je.Index != i) {
			t.Errorf("%s: %v is not job %d's *par.JobError", h.stats.Host, err, i)
		}
	}
	if st.Done != 20 || st.Failed != 4 || st.Retried != 2+2*2 {
		t.Errorf("pool stats: %d done, %d failed, %d retried; want 20, 4, 6", st.Done, st.Failed, st.Retried)
	}

	f.Close()
	for _, addr := range f.addrs() {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after Close", addr)
		}
	}
}

func TestRun(t *testing.T) {
	var out, errs bytes.Buffer
	args := []string{"-hosts", "20", "-seed", "3", "-min-latency", "1ms", "-max-latency", "5ms", "-timeout", "300ms",
		"-flaky", "0.1", "-broken", "0.1", "-hanging", "0.1", "-jobs", "8", "-batch", "10", "-backoff", "1ms"}
	if code := run(context.Background(), args, &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errs.String(), out.String())
	}
	for _, want := range []string{
		"hosts 1–10:", "hosts 11–20:",
		"20 hosts: 16 ok, 4 failed (2 timeout, 2 HTTP 500), 6 retries",
		"host001", "timeout", "HTTP 500", "speed-up",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("missing %q in:\n%s", want, out.String())
		}
	}
}

func TestFleetIsSeeded(t *testing.T) {
	a, err := startFleet(small)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := startFleet(small)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for i := range a.hosts {
		ha, hb := a.hosts[i], b.hosts[i]
		if ha.kind != hb.kind || ha.latency != hb.latency || ha.stats != hb.stats {
			t.Fatalf("host %d differs between two fleets of one seed", i+1)
		}
		if !strings.HasPrefix(ha.addr, "127.0.0.1:") {
			t.Fatalf("host %d listens on %s", i+1, ha.addr)
		}
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-hosts", "0"}, {"-batch", "0"}, {"-jobs", "0"}, {"-timeout", "100ms"},
		{"-min-latency", "2s"}, {"-flaky", "0.6", "-broken", "0.6"}, {"-retries", "-1"}, {"-hosts", "x"}} {
		var out, errs bytes.Buffer
		if code := run(context.Background(), args, &out, &errs); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
