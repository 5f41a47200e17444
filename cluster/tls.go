package cluster

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// TLS and credentials: par server serves TLS when given a certificate and
// its key (ServerConfig.TLSCert, par server --tls-cert/--tls-key); its
// clients then trust it through TLSCA. TLS encrypts, the secret
// authenticates: a server beyond loopback still needs the secret.

// Errors of TLS connections. Each works with errors.Is.
var (
	// ErrUntrusted is wrapped by the error of Connect, Serve and the
	// commands when the server's certificate is not signed by a CA the
	// client trusts, or names another host. A server with TLS is also
	// TLS-only: a nats:// URL does not get around it.
	ErrUntrusted = errors.New("cluster: the server requires TLS and its certificate is not trusted (give the CA that signed it: --tls-ca, PAR_TLS_CA or TLSCA)")
	// ErrNoTLS is wrapped by the error of a client that asks for TLS (a
	// tls:// URL, or TLSCA) from a server that does not offer it.
	ErrNoTLS = errors.New("cluster: the server does not offer TLS (start par server with --tls-cert and --tls-key, or connect with nats:// and no CA)")
	// ErrClientCert is wrapped by the error of a client whose certificate
	// a server started with a CA (mutual TLS) refused or did not get: such
	// a server closes the connection once TLS is set up.
	ErrClientCert = errors.New("cluster: the server refused the client's TLS certificate or its absence (it wants one signed by its CA: --tls-cert/--tls-key or TLSCert)")
)

// TLSCA makes the client trust servers whose certificate is signed by a
// CA in file (PEM), as a server started with --tls-cert of that CA needs;
// the connection then uses TLS whatever the URL's scheme (tls:// or
// nats://). Without it a client trusts the system's CAs. A file that
// cannot be read or holds no certificate is an error of Connect or Serve
// before they connect.
func TLSCA(file string) Option {
	return func(c *config) error {
		if _, err := loadCA(file); err != nil {
			return invalid("TLSCA: %v", err)
		}
		c.tlsCA = file
		return nil
	}
}

// TLSCert presents the certificate in certFile, with its key in keyFile
// (PEM), to a server that verifies its clients (mutual TLS: par server
// --tls-ca). Files that cannot be loaded are an error of Connect or Serve
// before they connect.
func TLSCert(certFile, keyFile string) Option {
	return func(c *config) error {
		if certFile == "" || keyFile == "" {
			return invalid("TLSCert needs both a certificate and a key file")
		}
		if _, err := tls.LoadX509KeyPair(certFile, keyFile); err != nil {
			return invalid("TLSCert: %v", err)
		}
		c.tlsCert, c.tlsKey = certFile, keyFile
		return nil
	}
}

// Credentials authenticates with a NATS credentials file (a user's JWT and
// nkey seed, as nsc writes them), for NATS deployments with accounts. A
// file that cannot be read is an error of Connect or Serve before they
// connect; one the server refuses fails with ErrAuth.
func Credentials(file string) Option {
	return func(c *config) error {
		b, err := os.ReadFile(file)
		if err != nil {
			return invalid("Credentials: %v", err)
		}
		if len(strings.TrimSpace(string(b))) == 0 {
			return invalid("Credentials: %s is empty", file)
		}
		c.creds = file
		return nil
	}
}

// tlsOptions are the nats options c's TLS and credentials settings ask for.
func tlsOptions(c *config) []nats.Option {
	var opts []nats.Option
	if c.tlsCA != "" {
		opts = append(opts, nats.RootCAs(c.tlsCA))
	}
	if c.tlsCert != "" {
		opts = append(opts, nats.ClientCert(c.tlsCert, c.tlsKey))
	}
	if c.creds != "" {
		opts = append(opts, nats.UserCredentials(c.creds))
	}
	return opts
}

// tlsErr maps a connection error to its TLS cause, or returns nil when it
// is not about TLS.
func tlsErr(url string, err error) error {
	var (
		unknown  x509.UnknownAuthorityError
		invalidC x509.CertificateInvalidError
		host     x509.HostnameError
		verify   *tls.CertificateVerificationError
	)
	msg := err.Error()
	switch {
	case errors.Is(err, nats.ErrSecureConnWanted):
		return fmt.Errorf("%w: connecting to %s: %v", ErrNoTLS, url, err)
	case errors.As(err, &unknown), errors.As(err, &invalidC), errors.As(err, &host), errors.As(err, &verify):
		return fmt.Errorf("%w: connecting to %s: %v", ErrUntrusted, url, err)
	case strings.Contains(msg, "certificate required"), strings.Contains(msg, "tls: bad certificate"),
		strings.Contains(msg, "tls: unknown certificate authority"),
		errors.Is(err, nats.ErrTLS) && strings.Contains(msg, "closed by remote after TLS handshake"):
		return fmt.Errorf("%w: connecting to %s: %v", ErrClientCert, url, err)
	}
	return nil
}

func loadCA(file string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}

// serverTLS sets up opts to serve TLS as cfg asks, on the client listener,
// NATS's monitoring (HTTPS) and the routes. It returns the certificate,
// for the server's other listeners (Server.TLSConfig).
func serverTLS(cfg *ServerConfig, opts *server.Options) (*tls.Config, error) {
	if cfg.TLSCert == "" && cfg.TLSKey == "" {
		if cfg.TLSCA != "" || cfg.TLSVerify {
			return nil, invalid("a TLS CA or client verification (--tls-ca, --tls-verify) needs a certificate and key (--tls-cert, --tls-key)")
		}
		return nil, nil
	}
	if cfg.TLSCert == "" || cfg.TLSKey == "" {
		return nil, invalid("TLS needs both a certificate and its key (--tls-cert and --tls-key)")
	}
	cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("%w: cluster: TLS certificate %s, key %s: %v", errInvalidOption, cfg.TLSCert, cfg.TLSKey, err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	var pool *x509.CertPool
	if cfg.TLSCA != "" {
		if pool, err = loadCA(cfg.TLSCA); err != nil {
			return nil, fmt.Errorf("%w: cluster: TLS CA: %v", errInvalidOption, err)
		}
	}
	if cfg.TLSVerify && pool == nil {
		return nil, invalid("verifying client certificates (--tls-verify) needs the CA that signs them (--tls-ca)")
	}
	client := tc.Clone()
	if cfg.TLSVerify {
		client.ClientCAs = pool
		client.ClientAuth = tls.RequireAndVerifyClientCert
		opts.TLSVerify = true
	}
	opts.TLS, opts.TLSConfig, opts.TLSTimeout = true, client, 5
	if opts.HTTPPort != 0 {
		opts.HTTPSPort, opts.HTTPPort = opts.HTTPPort, 0
	}
	if cfg.ClusterListen != "" {
		// Servers dial each other: each verifies the other's certificate
		// against the CA, or the system's roots without one.
		route := tc.Clone()
		route.RootCAs, route.ClientCAs = pool, pool
		route.ClientAuth = tls.RequireAndVerifyClientCert
		opts.Cluster.TLSConfig, opts.Cluster.TLSTimeout = route, 5
	}
	return tc, nil
}
