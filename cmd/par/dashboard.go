package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"net"
	"strconv"

	"github.com/par-project/par/cluster"
	"github.com/par-project/par/dashboard"
)

// serverDashboard adds to par server what watches the cluster from inside
// the server's process: a dashboard Collector, which answers par status,
// and, with --http, the dashboard's page and metrics. It lives here rather
// than in cluster so that programs using the cluster need not carry the
// dashboard.
type serverDashboard struct {
	http string
}

func (x *serverDashboard) Flags(fs *flag.FlagSet) {
	fs.StringVar(&x.http, "http", "", "serve the dashboard, /metrics and /api/state on this address, e.g. 127.0.0.1:8080 or a port alone (loopback); any other host needs the secret")
}

// Start connects a Collector to s in process, answers par status with it,
// and serves the dashboard when --http is given.
func (x *serverDashboard) Start(s *cluster.Server, secret string) (string, func(), error) {
	var ln net.Listener
	if x.http != "" {
		addr := x.http
		if _, err := strconv.ParseUint(addr, 10, 16); err == nil {
			addr = "127.0.0.1:" + addr // a port alone: loopback
		}
		var err error
		if ln, err = dashboard.Listen(addr, secret); err != nil {
			return "", nil, fmt.Errorf("--http: %w", err)
		}
		if tc := s.TLSConfig(); tc != nil {
			// The server's certificate serves the dashboard too: HTTPS.
			ln = tls.NewListener(ln, tc)
		}
	}
	var stops []func()
	stop := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	fail := func(err error) (string, func(), error) {
		stop()
		if ln != nil {
			ln.Close()
		}
		return "", nil, err
	}
	nc, err := s.Conn("par server dashboard")
	if err != nil {
		return fail(err)
	}
	stops = append(stops, nc.Close)
	col, err := dashboard.Watch(nc)
	if err != nil {
		return fail(err)
	}
	stops = append(stops, func() { col.Close() })
	sub, err := dashboard.Answer(nc, col)
	if err != nil {
		return fail(err)
	}
	stops = append(stops, func() { _ = sub.Unsubscribe() })
	if ln == nil {
		return "", stop, nil
	}
	d, err := dashboard.New(col, dashboard.Secret(secret))
	if err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = d.Serve(ctx, ln)
	}()
	stops = append(stops, func() {
		cancel()
		<-served
	})
	scheme := "http"
	if s.TLSConfig() != nil {
		scheme = "https"
	}
	return "dashboard: " + scheme + "://" + ln.Addr().String() + "/", stop, nil
}
