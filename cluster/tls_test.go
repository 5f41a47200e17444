package cluster_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/par-project/par"
	"github.com/par-project/par/cluster"
	"github.com/par-project/par/partest"
)

// TestTLSMap runs jobs on a server with TLS, from a driver and a worker
// that trust its CA.
func TestTLSMap(t *testing.T) {
	tf := partest.TLS(t)
	url := partest.StartServerWith(t, cluster.ServerConfig{TLSCert: tf.Cert, TLSKey: tf.Key, Secret: "s", HTTP: "127.0.0.1:0"})
	if !strings.HasPrefix(url, "tls://127.0.0.1:") {
		t.Fatalf("URL of a server with TLS: %s, want tls://127.0.0.1:…", url)
	}
	partest.StartWorkers(t, url, 1, cluster.TLSCA(tf.CA), cluster.Secret("s"))
	c := connect(t, url, cluster.TLSCA(tf.CA), cluster.Secret("s"))
	got, err := par.Map(testCtx(t), []int{1, 2, 3, 4}, squareTask.Func(), par.On(c))
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{1, 4, 9, 16}; !slices.Equal(got, want) {
		t.Fatalf("par.Map over TLS = %v, want %v", got, want)
	}
}

// TestTLSUntrusted checks that a client that does not trust the server's
// certificate, or does not ask for TLS, fails at once and says why.
func TestTLSUntrusted(t *testing.T) {
	tf := partest.TLS(t)
	url := partest.StartServerWith(t, cluster.ServerConfig{TLSCert: tf.Cert, TLSKey: tf.Key})
	plain := "nats://" + strings.TrimPrefix(url, "tls://")
	other := partest.TLS(t) // another CA
	for _, tc := range []struct {
		url  string
		opts []cluster.Option
	}{
		{url, nil},
		{plain, nil},
		{url, []cluster.Option{cluster.TLSCA(other.CA)}},
	} {
		_, err := cluster.Connect(tc.url, tc.opts...)
		if !errors.Is(err, cluster.ErrUntrusted) || !strings.Contains(err.Error(), "not trusted") ||
			!strings.Contains(err.Error(), "requires TLS") {
			t.Errorf("Connect(%s) with %d options: %v, want ErrUntrusted", tc.url, len(tc.opts), err)
		}
	}
	err := cluster.Serve(context.Background(), plain)
	if !errors.Is(err, cluster.ErrUntrusted) {
		t.Errorf("Serve(%s) without the CA: %v, want ErrUntrusted", plain, err)
	}
}

// TestTLSNotOffered checks that a client asking for TLS from a server
// without it fails and says why.
func TestTLSNotOffered(t *testing.T) {
	tf := partest.TLS(t)
	url := partest.StartServer(t)
	for _, tc := range []struct {
		url  string
		opts []cluster.Option
	}{
		{"tls://" + strings.TrimPrefix(url, "nats://"), nil},
		{url, []cluster.Option{cluster.TLSCA(tf.CA)}},
	} {
		if _, err := cluster.Connect(tc.url, tc.opts...); !errors.Is(err, cluster.ErrNoTLS) {
			t.Errorf("Connect(%s) with %d options to a server without TLS: %v, want ErrNoTLS", tc.url, len(tc.opts), err)
		}
	}
}

// TestTLSMutual checks a server that wants client certificates: a client
// with one signed by its CA connects, one without fails clearly.
func TestTLSMutual(t *testing.T) {
	tf := partest.TLS(t)
	url := partest.StartServerWith(t, cluster.ServerConfig{TLSCert: tf.Cert, TLSKey: tf.Key, TLSCA: tf.CA, TLSVerify: true})
	if _, err := cluster.Connect(url, cluster.TLSCA(tf.CA)); !errors.Is(err, cluster.ErrClientCert) {
		t.Errorf("Connect without a client certificate: %v, want ErrClientCert", err)
	}
	partest.StartWorkers(t, url, 1, cluster.TLSCA(tf.CA), cluster.TLSCert(tf.ClientCert, tf.ClientKey))
	c := connect(t, url, cluster.TLSCA(tf.CA), cluster.TLSCert(tf.ClientCert, tf.ClientKey))
	if got, err := par.Map(testCtx(t), []int{3}, squareTask.Func(), par.On(c)); err != nil || got[0] != 9 {
		t.Fatalf("par.Map with client certificates: %v, %v", got, err)
	}
}

// TestTLSBadFiles checks that files that cannot serve are errors before
// anything connects.
func TestTLSBadFiles(t *testing.T) {
	tf := partest.TLS(t)
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pem")
	junk := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.creds")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// Nothing listens at this URL: the options fail first.
	const nowhere = "nats://127.0.0.1:1"
	for name, opt := range map[string]cluster.Option{
		"TLSCA missing":       cluster.TLSCA(missing),
		"TLSCA junk":          cluster.TLSCA(junk),
		"TLSCert missing":     cluster.TLSCert(missing, tf.ClientKey),
		"TLSCert no key":      cluster.TLSCert(tf.ClientCert, ""),
		"Credentials missing": cluster.Credentials(missing),
		"Credentials empty":   cluster.Credentials(empty),
	} {
		_, err := cluster.Connect(nowhere, opt)
		if !errors.Is(err, par.ErrInvalidOption) || strings.Contains(err.Error(), "connecting") {
			t.Errorf("Connect with %s: %v, want ErrInvalidOption before connecting", name, err)
		}
		err = cluster.Serve(context.Background(), nowhere, opt)
		if !errors.Is(err, par.ErrInvalidOption) {
			t.Errorf("Serve with %s: %v, want ErrInvalidOption", name, err)
		}
	}
	for name, cfg := range map[string]cluster.ServerConfig{
		"cert without key":  {TLSCert: tf.Cert},
		"key without cert":  {TLSKey: tf.Key},
		"CA without cert":   {TLSCA: tf.CA},
		"verify without CA": {TLSCert: tf.Cert, TLSKey: tf.Key, TLSVerify: true},
		"missing cert":      {TLSCert: missing, TLSKey: tf.Key},
		"junk CA":           {TLSCert: tf.Cert, TLSKey: tf.Key, TLSCA: junk},
	} {
		cfg.DataDir, cfg.Listen = t.TempDir(), "127.0.0.1:0"
		if _, err := cluster.NewServer(cfg); !errors.Is(err, par.ErrInvalidOption) {
			t.Errorf("NewServer with %s: %v, want ErrInvalidOption", name, err)
		}
	}
	// TLS encrypts; the secret still guards addresses beyond loopback.
	_, err := cluster.NewServer(cluster.ServerConfig{DataDir: t.TempDir(), Listen: "0.0.0.0:0", TLSCert: tf.Cert, TLSKey: tf.Key})
	if !errors.Is(err, cluster.ErrInsecure) {
		t.Errorf("NewServer with TLS on 0.0.0.0 without a secret: %v, want ErrInsecure", err)
	}
}

// TestCredsReachConnect checks that a credentials file is what the client
// authenticates with: one the server cannot accept fails with ErrAuth
// naming the file.
func TestCredsReachConnect(t *testing.T) {
	url := partest.StartServerWith(t, cluster.ServerConfig{Secret: "s"})
	creds := filepath.Join(t.TempDir(), "user.creds")
	if err := os.WriteFile(creds, []byte("not a credentials file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := cluster.Connect(url, cluster.Credentials(creds))
	if err == nil || !strings.Contains(err.Error(), creds) {
		t.Fatalf("Connect with a malformed credentials file: %v, want an error naming it", err)
	}
}

// TestTLSClusterRoutes forms a cluster of three par servers whose routes
// use TLS, each verifying the others against the CA, and runs jobs across
// it from clients on different servers.
func TestTLSClusterRoutes(t *testing.T) {
	tf := partest.TLS(t)
	ctx := testCtx(t)
	clients, routes := clusterPorts(t)
	var servers []*cluster.Server
	for i := range 3 {
		s, err := cluster.NewServer(cluster.ServerConfig{
			DataDir: t.TempDir(), Listen: clients[i], NoSync: true, Settings: cluster.Settings{AckWait: 2 * time.Second},
			ClusterListen: strings.TrimPrefix(routes[i], "nats://"), Routes: routes, ClusterName: "partest",
			TLSCert: tf.Cert, TLSKey: tf.Key, TLSCA: tf.CA,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Shutdown)
		servers = append(servers, s)
	}
	for _, s := range servers {
		if err := s.Ready(ctx); err != nil {
			t.Fatal(err)
		}
	}
	partest.StartWorkers(t, servers[2].URL(), 1, cluster.TLSCA(tf.CA))
	c := connect(t, servers[0].URL(), cluster.TLSCA(tf.CA))
	if cs, err := c.ClusterStatus(ctx); err != nil || cs.Mode != "cluster" || cs.Replicas != 3 {
		t.Fatalf("cluster status: %+v, %v; want a cluster with 3 replicas", cs, err)
	}
	got, err := par.Map(ctx, []int{7, 8}, squareTask.Func(), par.On(c))
	if err != nil || !slices.Equal(got, []int{49, 64}) {
		t.Fatalf("par.Map across a TLS cluster = %v, %v; want [49 64]", got, err)
	}
}
