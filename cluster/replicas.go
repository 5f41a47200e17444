package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// JetStream error codes par reacts to.
const (
	codeClusterNotAvailable   = 10008 // JetStream system temporarily unavailable
	codeInsufficientResources = 10023 // no room for the replicas asked for
	codeReplicasNotSupported  = 10074 // replicas > 1 on a server without a cluster
	codeNoSuitablePeers       = 10005 // no suitable peers for placement: a forming cluster's peers not yet current
	codeStreamCreate          = 10049 // stream create failed; "error creating store for stream" when its store could not be made
)

// warmupTries bounds the attempts Setup gives errors that mean an account
// is still having JetStream enabled (see warming).
const warmupTries = 6

// autoReplicas is the replica count Setup uses when Settings.Replicas is
// 0: 3 when nc is connected to a NATS cluster of which it knows 3 or more
// servers (those it was given and those the cluster told it of), else 1.
func autoReplicas(nc *nats.Conn) int {
	if nc == nil || nc.ConnectedClusterName() == "" {
		return 1
	}
	if clusterSize(nc) >= 3 {
		return 3
	}
	return 1
}

// clusterSize counts the distinct servers nc knows of.
func clusterSize(nc *nats.Conn) int {
	seen := map[string]bool{}
	for _, s := range nc.Servers() {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			continue
		}
		seen[u.Host] = true
	}
	return max(len(seen), 1)
}

// tooFewServers reports whether err says the cluster cannot keep the
// replicas asked for.
func tooFewServers(err error) bool {
	var api *jetstream.APIError
	return errors.As(err, &api) &&
		(api.ErrorCode == codeInsufficientResources || api.ErrorCode == codeReplicasNotSupported)
}

// createKV creates a bucket, with one replica when the cluster has too few
// servers for the replicas asked for.
func createKV(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	kv, err := js.CreateKeyValue(ctx, cfg)
	if err != nil && cfg.Replicas > 1 && tooFewServers(err) {
		cfg.Replicas = 1
		kv, err = js.CreateKeyValue(ctx, cfg)
	}
	return kv, err
}

// retrySetup runs step until it succeeds, fails for good, or ctx ends.
// A NATS cluster that is forming, or electing a new JetStream leader after
// losing a server, answers with errors that pass; each attempt gets a few
// seconds so that one lost request does not use up ctx. A server without
// JetStream fails at once, unless it is part of a cluster (which says so
// until it has elected its JetStream leader). Errors of an account that
// is still having JetStream enabled get warmupTries attempts (about 1.5 s).
func retrySetup(ctx context.Context, clustered bool, step func(context.Context) error) error {
	tries := 0
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := step(actx)
		cancel()
		tries++
		if err == nil || !(transient(err, clustered) || warming(err) && tries < warmupTries) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (gave up: %v)", err, context.Cause(ctx))
		case <-time.After(wait):
		}
	}
}

// warming reports whether err is one a server gives while it enables
// JetStream for an account that a client's connection has just loaded
// (operator mode, nats-io/nats-server#2874): the account's JetStream API
// has no responders yet, or a stream's store cannot be made because the
// server is removing the directory it created to check it can write
// there. Either passes within milliseconds, but is also what a server
// without JetStream or with a failing disk says, so it is retried only a
// few times.
func warming(err error) bool {
	var api *jetstream.APIError
	if errors.As(err, &api) {
		return api.ErrorCode == codeStreamCreate && api.Code == 500
	}
	return noJetStream(err)
}

// noJetStream reports whether err says nobody answered a JetStream
// request: JetStream is not enabled, or not yet, for the account.
func noJetStream(err error) bool {
	return errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, nats.ErrNoResponders)
}

// transient reports whether err is one a JetStream cluster gives while it
// has no leader yet, or a request that got no answer.
func transient(err error, clustered bool) bool {
	notEnabled := noJetStream(err)
	var api *jetstream.APIError
	switch {
	case notEnabled:
		return clustered
	case errors.As(err, &api):
		return api.ErrorCode == codeClusterNotAvailable || (api.Code == 503 && clustered) ||
			(api.ErrorCode == codeNoSuitablePeers && clustered)
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrConnectionReconnecting) || strings.Contains(err.Error(), "temporarily unavailable")
}
