package cluster_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"

	"github.com/par-project/par/cluster"
)

// TestSetupConcurrently has several clients set up a fresh account's
// JetStream at once, as workers and drivers started together against a
// user's own NATS in operator mode do. The server answers the first
// requests on an account it is still enabling JetStream for with no
// responders or "error creating store for stream"
// (nats-io/nats-server#2874); Setup must ride that out.
func TestSetupConcurrently(t *testing.T) {
	for round := range 10 {
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			url, creds := startAccountServer(t)
			var g errgroup.Group
			for range 4 {
				g.Go(func() error {
					nc, err := nats.Connect(url, nats.UserCredentials(creds))
					if err != nil {
						return err
					}
					defer nc.Close()
					js, err := jetstream.New(nc)
					if err != nil {
						return err
					}
					return cluster.Setup(testCtx(t), js, "default", cluster.Settings{})
				})
			}
			if err := g.Wait(); err != nil {
				t.Fatalf("Setup from 4 clients at once: %v", err)
			}
		})
	}
}

// TestServerWithoutJetStream connects to a NATS server that has no
// JetStream: a clear error, after a few retries, not a hang.
func TestServerWithoutJetStream(t *testing.T) {
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	c, err := cluster.Connect(ns.ClientURL())
	if err == nil {
		c.Close()
		t.Fatal("Connect to a server without JetStream succeeded")
	}
	if !strings.Contains(err.Error(), "JetStream") {
		t.Errorf("Connect to a server without JetStream: %v, want an error naming JetStream", err)
	}
}
