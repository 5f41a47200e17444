package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// How a simulated host behaves.
type kind int

const (
	healthy kind = iota
	flaky        // answers 500 to its first request, then its stats
	broken       // always answers 500
	hanging      // never answers: holds the request until the client gives up
)

func (k kind) String() string { return [...]string{"healthy", "flaky", "broken", "hanging"}[k] }

// HostStats is what a host reports at GET /stats.
type HostStats struct {
	Host       string `json:"host"`
	CPUPercent int    `json:"cpu_percent"`
	MemMB      int    `json:"mem_mb"`
	Requests   int64  `json:"requests"`
}

// A host is one simulated machine: an HTTP server on 127.0.0.1.
type host struct {
	addr    string
	kind    kind
	latency time.Duration
	stats   HostStats
	hits    atomic.Int64
}

// fleetSpec says how many hosts to start and how they behave.
type fleetSpec struct {
	Hosts                  int
	Seed                   uint64
	MinLatency, MaxLatency time.Duration
	Flaky, Broken, Hanging float64 // shares of the hosts
}

// A fleet is the running simulated hosts. Close stops them all.
type fleet struct {
	hosts   []*host
	servers []*http.Server
	ctx     context.Context // every request's; cancelled by Close
	cancel  context.CancelFunc
}

// startFleet starts spec.Hosts HTTP servers on 127.0.0.1, each on a port
// the system picks, with latencies, stats and failures drawn from a PCG
// seeded by spec.Seed: the same seed gives the same fleet.
func startFleet(spec fleetSpec) (*fleet, error) {
	r := rand.New(rand.NewPCG(spec.Seed, 1))
	kinds := make([]kind, spec.Hosts)
	i := 0
	for _, k := range []struct {
		kind  kind
		share float64
	}{{flaky, spec.Flaky}, {broken, spec.Broken}, {hanging, spec.Hanging}} {
		for range int(float64(spec.Hosts)*k.share + 0.5) {
			if i < len(kinds) {
				kinds[i] = k.kind
				i++
			}
		}
	}
	r.Shuffle(len(kinds), func(a, b int) { kinds[a], kinds[b] = kinds[b], kinds[a] })

	f := &fleet{}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	for i, k := range kinds {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("starting host %d: %w", i+1, err)
		}
		h := &host{addr: ln.Addr().String(), kind: k,
			latency: spec.MinLatency + time.Duration(r.Int64N(int64(spec.MaxLatency-spec.MinLatency)+1)),
			stats: HostStats{Host: fmt.Sprintf("host%03d", i+1), CPUPercent: r.IntN(101),
				MemMB: 512 + r.IntN(64*1024-512), Requests: r.Int64N(1_000_000)}}
		srv := &http.Server{Handler: f.handler(h), ReadHeaderTimeout: 10 * time.Second,
			BaseContext: func(net.Listener) context.Context { return f.ctx }}
		f.hosts, f.servers = append(f.hosts, h), append(f.servers, srv)
		go srv.Serve(ln) // returns http.ErrServerClosed on Close
	}
	return f, nil
}

func (f *fleet) handler(h *host) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := h.hits.Add(1)
		if h.kind == hanging {
			<-r.Context().Done()
			return
		}
		t := time.NewTimer(h.latency)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		}
		if h.kind == broken || (h.kind == flaky && n == 1) {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(h.stats)
	})
}

// Close stops every server: it ends the requests in flight, hanging ones
// included, and waits until their connections are closed.
func (f *fleet) Close() {
	f.cancel()
	for _, s := range f.servers {
		s.Shutdown(context.Background())
	}
}

// addrs returns the hosts' addresses, in host order.
func (f *fleet) addrs() []string {
	out := make([]string, len(f.hosts))
	for i, h := range f.hosts {
		out[i] = h.addr
	}
	return out
}
