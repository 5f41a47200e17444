package cluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ServerConfig describes an embedded par server. The zero value, given a
// DataDir, listens on 127.0.0.1:4222 without HTTP monitoring, with no
// secret, and fsyncs every write.
type ServerConfig struct {
	// DataDir holds JetStream's files. A server started again on the same
	// directory finds its queued jobs and results. Required.
	DataDir string
	// Listen is the client address, "127.0.0.1:4222" by default. Port 0
	// or -1 picks a free port (see Server.URL). A host other than
	// loopback needs Secret.
	Listen string
	// HTTP is the address of NATS's monitoring endpoints ("" for none),
	// under the same loopback rule as Listen.
	HTTP string
	// Secret is the shared secret clients must present (NATS token
	// authentication); "" for none.
	Secret string
	// TLSCert and TLSKey are the files (PEM) of the certificate the
	// server presents and its key, both or neither. With them the client
	// listener is TLS-only (clients connect with tls:// URLs and trust
	// the certificate's CA, see TLSCA), NATS's monitoring is HTTPS, and
	// so are the routes of a cluster, whose servers verify each other's
	// certificates against TLSCA (or the system's roots): there each
	// certificate must name its host and allow client authentication
	// too. TLS encrypts; it does not authenticate clients, so an address
	// beyond loopback still needs Secret.
	TLSCert, TLSKey string
	// TLSCA is a file (PEM) of CAs against which servers of a cluster
	// verify each other's certificates (the system's roots when ""), and
	// with TLSVerify clients' certificates. It needs TLSCert and TLSKey.
	TLSCA string
	// TLSVerify makes clients present a certificate signed by a CA of
	// TLSCA (mutual TLS; see the TLSCert option).
	TLSVerify bool
	// NoSync relaxes durability: JetStream then flushes to disk every
	// two minutes instead of on every write, so an operating-system crash
	// or power loss can lose acknowledged jobs and results (a crash of the
	// server process alone cannot). Off by default.
	NoSync bool
	// Settings are the JetStream parameters of the streams and consumers
	// the server creates.
	Settings Settings
	// MaxPayload bounds one message, 1 MiB when 0. A batch larger than
	// this is split; a single job larger fails with ErrTooLarge.
	MaxPayload int32

	// ClusterListen is the address on which other servers of a NATS
	// cluster connect to this one (routes), "" for a standalone server.
	// It follows Listen's loopback rule. See "Clusters of servers" in
	// the package doc.
	ClusterListen string
	// Routes are the cluster addresses of the other servers
	// ("nats://host:port"); listing this server's own address too is
	// harmless, so every server may be given the same list.
	Routes []string
	// ClusterName names the cluster, the same on every server; "par" by
	// default.
	ClusterName string
	// Name is this server's name, unique within the cluster and the same
	// across restarts; by default it is derived from the host name and
	// DataDir.
	Name string
}

// A Server is a nats-server with JetStream running in this process, set up
// for par (see Setup). Drivers and workers connect to URL.
type Server struct {
	ns     *server.Server
	secret string
	tls    *tls.Config // the certificate, nil without TLS

	ready    chan struct{} // closed when set up, or given up
	setupErr error         // why setting up failed, once ready is closed
	stop     context.CancelFunc
	bg       sync.WaitGroup
}

// NewServer starts an embedded server and creates the streams, the default
// queue's consumer and the bucket par needs; a server of a cluster
// (ClusterListen) creates them once its cluster has formed (see Ready). It refuses, with ErrInsecure,
// to listen on an address other than loopback without a secret.
func NewServer(cfg ServerConfig) (*Server, error) {
	if cfg.DataDir == "" {
		return nil, invalid("ServerConfig.DataDir is required")
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:4222"
	}
	host, port, err := splitAddr(cfg.Listen, cfg.Secret)
	if err != nil {
		return nil, err
	}
	opts := &server.Options{
		ServerName:    "par",
		Host:          host,
		Port:          port,
		JetStream:     true,
		StoreDir:      cfg.DataDir,
		Authorization: cfg.Secret,
		NoSigs:        true,
		NoLog:         true,
		SyncAlways:    !cfg.NoSync,
		MaxPayload:    cfg.MaxPayload,
	}
	if cfg.HTTP != "" {
		if opts.HTTPHost, opts.HTTPPort, err = splitAddr(cfg.HTTP, cfg.Secret); err != nil {
			return nil, err
		}
	}
	want, err := clusterOptions(&cfg, opts)
	if err != nil {
		return nil, err
	}
	tc, err := serverTLS(&cfg, opts)
	if err != nil {
		return nil, err
	}
	if err := checkMode(cfg.DataDir, cfg.ClusterListen != "", opts.Cluster.Name); err != nil {
		return nil, err
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("cluster: server: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, fmt.Errorf("cluster: server on %s did not become ready", cfg.Listen)
	}
	s := &Server{ns: ns, secret: cfg.Secret, tls: tc, ready: make(chan struct{})}
	if want > 0 {
		// A server of a cluster cannot set up alone: JetStream needs its
		// peers. It does so once they have joined (see Ready).
		s.formAndSetup(cfg.Settings, want)
		return s, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s.setupErr = s.setup(ctx, cfg.Settings)
	close(s.ready)
	if s.setupErr != nil {
		s.Shutdown()
		return nil, s.setupErr
	}
	return s, nil
}

func (s *Server) setup(ctx context.Context, settings Settings) error {
	opts := []nats.Option{nats.InProcessServer(s.ns), nats.Name("par server")}
	if s.secret != "" {
		opts = append(opts, nats.Token(s.secret))
	}
	nc, err := nats.Connect("", opts...)
	if err != nil {
		return fmt.Errorf("cluster: server: connecting in process: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("cluster: server: %w", err)
	}
	return Setup(ctx, js, DefaultQueue, settings)
}

// URL returns the address clients connect to, e.g. "nats://127.0.0.1:4222",
// or "tls://127.0.0.1:4222" for a server with TLS.
func (s *Server) URL() string { return s.ns.ClientURL() }

// TLSConfig returns a TLS configuration with the server's certificate, for
// listeners beside it (par server's dashboard), or nil for a server
// without TLS. It asks for no client certificate.
func (s *Server) TLSConfig() *tls.Config {
	if s.tls == nil {
		return nil
	}
	return s.tls.Clone()
}

// Shutdown stops the server and waits until it has. Clients connected to
// it try to reconnect; a server started again on the same DataDir and
// address lets them go on.
func (s *Server) Shutdown() {
	if s.stop != nil {
		s.stop()
	}
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
	s.bg.Wait()
}

// splitAddr parses host:port, maps port 0 to a free port, and applies the
// loopback rule.
func splitAddr(addr, secret string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, invalid("address %q: %v", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < -1 || port > 65535 {
		return "", 0, invalid("address %q: bad port", addr)
	}
	if port == 0 {
		port = -1 // nats-server's "pick a free port"
	}
	if host == "" {
		host = "0.0.0.0"
	}
	if !isLoopback(host) && secret == "" {
		return "", 0, fmt.Errorf("%w: %s (give --secret or PAR_SECRET, or listen on 127.0.0.1)", ErrInsecure, addr)
	}
	return host, port, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
