package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/par-project/par/internal/testio"

	"github.com/par-project/par/partest"
)

// TestServerTLSFlags checks that par server refuses half a TLS setup.
func TestServerTLSFlags(t *testing.T) {
	tf := partest.TLS(t)
	ctx := testCtx(t, 30*time.Second)
	for _, args := range [][]string{{"--tls-cert", tf.Cert}, {"--tls-key", tf.Key}, {"--tls-ca", tf.CA},
		{"--tls-cert", tf.Cert, "--tls-key", tf.Key, "--tls-verify"}} {
		var out, errOut bytes.Buffer
		code := run(ctx, append([]string{"server", "--data", t.TempDir(), "--listen", "127.0.0.1:0"}, args...), nil, &out, &errOut)
		if code != 2 || !strings.Contains(errOut.String(), "--tls-") || out.Len() != 0 {
			t.Errorf("par server %q: exit %d, stdout %q, stderr %q; want exit 2 naming --tls-cert and --tls-key",
				args, code, out.String(), errOut.String())
		}
	}
	var out, errOut bytes.Buffer
	code := run(ctx, []string{"server", "--data", t.TempDir(), "--listen", "127.0.0.1:0", "--tls-cert", tf.Key, "--tls-key", tf.Key},
		nil, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "TLS certificate") {
		t.Errorf("par server with a key for a certificate: exit %d, stderr %q", code, errOut.String())
	}
}

// TestServerTLS runs par server with TLS and its dashboard, a par worker
// and par --cluster that trust its CA, and par status with and without it.
func TestServerTLS(t *testing.T) {
	tf := partest.TLS(t)
	ctx := testCtx(t, 60*time.Second)
	srv := startServer(t, "--tls-cert", tf.Cert, "--tls-key", tf.Key, "--http", "127.0.0.1:0")
	if !strings.HasPrefix(srv.url, "tls://") || !strings.HasPrefix(srv.dashboard, "https://") {
		t.Fatalf("par server with TLS printed %s and dashboard %s, want tls:// and https://", srv.url, srv.dashboard)
	}

	// The dashboard serves HTTPS with the server's certificate.
	pem, err := os.ReadFile(tf.CA)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get(srv.dashboard + "/api/state")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /api/state over HTTPS: %s", resp.Status)
	}

	// Without the CA, clients fail at once and say why.
	var out, errOut bytes.Buffer
	if code := run(ctx, []string{"status", "--connect", srv.url}, nil, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), "not trusted") {
		t.Errorf("par status without the CA: exit %d, stderr %q", code, errOut.String())
	}
	errOut.Reset()
	if code := run(ctx, []string{"worker", "--connect", srv.url}, nil, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), "not trusted") {
		t.Errorf("par worker without the CA: exit %d, stderr %q", code, errOut.String())
	}
	errOut.Reset()
	if code := run(ctx, []string{"status", "--connect", srv.url, "--creds", tf.CA + ".missing"}, nil, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), "Credentials") {
		t.Errorf("par status with a missing credentials file: exit %d, stderr %q", code, errOut.String())
	}

	// A worker with --tls-ca; par --cluster with PAR_TLS_CA.
	wctx, stop := context.WithCancel(ctx)
	var werr testio.Buffer
	wcode := make(chan int, 1)
	go func() {
		wcode <- run(wctx, []string{"worker", "--connect", srv.url, "--tls-ca", tf.CA, "--allow-exec", "--jobs", "2"}, nil, &werr, &werr)
	}()
	defer func() {
		stop()
		if c := <-wcode; c != 0 {
			t.Errorf("par worker exited %d: %s", c, werr.String())
		}
	}()
	t.Setenv("PAR_TLS_CA", tf.CA)
	out.Reset()
	errOut.Reset()
	if code := run(ctx, []string{"--cluster", srv.url, "-k", "echo", ":::", "a", "b"}, strings.NewReader(""), &out, &errOut); code != 0 ||
		out.String() != "a\nb\n" {
		t.Errorf("par --cluster over TLS: exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
	out.Reset()
	errOut.Reset()
	if code := run(ctx, []string{"status", "--connect", srv.url, "--tls-ca", tf.CA}, nil, &out, &errOut); code != 0 ||
		!strings.Contains(out.String(), "WORKERS: 1 live") {
		t.Errorf("par status with the CA: exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
}
