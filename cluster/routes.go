package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// ErrModeChanged is wrapped by NewServer's error when its DataDir holds a
// standalone server's streams and it is asked to join a cluster, or the
// other way round: JetStream does not carry streams over between the two.
var ErrModeChanged = errors.New("cluster: the data directory belongs to a server of another mode")

// routeUser is the user name servers of a cluster with a secret present
// to each other; the secret is the password.
const routeUser = "par"

// clusterOptions sets opts up for the cluster cfg describes, and returns
// how many JetStream servers to wait for before setting up (0 for a
// standalone server).
func clusterOptions(cfg *ServerConfig, opts *server.Options) (want int, err error) {
	if cfg.ClusterListen == "" {
		if len(cfg.Routes) > 0 || cfg.ClusterName != "" {
			return 0, invalid("routes and a cluster name need a cluster listen address (--cluster-listen)")
		}
		if cfg.Name != "" {
			opts.ServerName = cfg.Name
		}
		return 0, nil
	}
	host, port, err := splitAddr(cfg.ClusterListen, cfg.Secret)
	if err != nil {
		return 0, err
	}
	name := cfg.ClusterName
	if name == "" {
		name = "par"
	}
	if err := checkName("cluster", name); err != nil {
		return 0, err
	}
	opts.Cluster = server.ClusterOpts{Name: name, Host: host, Port: port}
	if cfg.Secret != "" {
		opts.Cluster.Username, opts.Cluster.Password = routeUser, cfg.Secret
	}
	others := 0
	for _, r := range cfg.Routes {
		for _, r := range strings.Split(r, ",") {
			r = strings.TrimSpace(r)
			if r == "" {
				continue
			}
			u, err := url.Parse(r)
			if err != nil || u.Host == "" || (u.Scheme != "nats" && u.Scheme != "nats-route") {
				return 0, invalid("route %q: want nats://host:port", r)
			}
			if cfg.Secret != "" && u.User == nil {
				u.User = url.UserPassword(routeUser, cfg.Secret)
			}
			if !sameAddr(u.Host, cfg.ClusterListen) {
				others++
			}
			opts.Routes = append(opts.Routes, u)
		}
	}
	opts.ServerName = cfg.Name
	if opts.ServerName == "" {
		opts.ServerName = defaultServerName(cfg.DataDir)
	}
	return min(others+1, 3), nil
}

// sameAddr reports whether two host:port addresses are the same, taking
// localhost as 127.0.0.1.
func sameAddr(a, b string) bool {
	norm := func(s string) string {
		h, p, err := net.SplitHostPort(s)
		if err != nil {
			return s
		}
		if h == "localhost" {
			h = "127.0.0.1"
		}
		return net.JoinHostPort(h, p)
	}
	return norm(a) == norm(b)
}

// defaultServerName derives a server's name from its host and data
// directory: unique in a cluster, the same across restarts.
func defaultServerName(dataDir string) string {
	host, _ := os.Hostname()
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		abs = dataDir
	}
	sum := sha256.Sum256([]byte(host + "\x00" + abs))
	host = strings.Map(func(r rune) rune {
		if r == '.' || r == ' ' || r == '*' || r == '>' {
			return '_'
		}
		return r
	}, host)
	return "par-" + host + "-" + hex.EncodeToString(sum[:4])
}

// modeFile records in a data directory which kind of server it belongs to.
const modeFile = "par-mode.json"

type serverMode struct {
	Mode    string `json:"mode"`              // "standalone" or "cluster"
	Cluster string `json:"cluster,omitempty"` // the cluster's name
}

// checkMode refuses a data directory written by a server of the other
// mode, and records the mode in a new one.
func checkMode(dataDir string, clustered bool, clusterName string) error {
	want := serverMode{Mode: "standalone"}
	if clustered {
		want = serverMode{Mode: "cluster", Cluster: clusterName}
	}
	path := filepath.Join(dataDir, modeFile)
	var had serverMode
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if json.Unmarshal(data, &had) != nil {
			return fmt.Errorf("cluster: %s does not decode; remove it if %s is this server's", path, dataDir)
		}
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("cluster: %w", err)
	default:
		// Written before par recorded modes: standalone, if anything.
		if _, err := os.Stat(filepath.Join(dataDir, "jetstream")); err == nil {
			had = serverMode{Mode: "standalone"}
		}
	}
	if had.Mode != "" && had != want {
		what := "a standalone server's"
		if had.Mode == "cluster" {
			what = "the data of a server of cluster " + had.Cluster
		}
		return fmt.Errorf("%w: %s holds %s streams, which do not carry over: let its runs finish (par status shows "+
			"nothing pending), start this server on a new --data directory, and submit again what had not finished",
			ErrModeChanged, dataDir, what)
	}
	if had.Mode == "" {
		data, _ := json.Marshal(want)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return fmt.Errorf("cluster: %w", err)
		}
	}
	return nil
}

// formAndSetup waits, in the background, until the cluster has a
// JetStream leader and want servers, then sets up par's streams with 3
// replicas when it has 3 servers or more. Ready reports when it is done.
func (s *Server) formAndSetup(settings Settings, want int) {
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	s.bg.Go(func() {
		defer close(s.ready)
		size := 0
		for wait := 20 * time.Millisecond; ; wait = min(2*wait, 500*time.Millisecond) {
			if info, err := s.ns.Jsz(&server.JSzOptions{}); err == nil && info.Meta != nil && info.Meta.Leader != "" {
				if size = info.Meta.Size; size >= want {
					break
				}
			}
			select {
			case <-ctx.Done():
				s.setupErr = fmt.Errorf("cluster: server stopped before its cluster formed")
				return
			case <-time.After(wait):
			}
		}
		if settings.Replicas == 0 {
			settings.Replicas = 1
			if size >= 3 {
				settings.Replicas = 3
			}
		}
		s.setupErr = s.setup(ctx, settings)
	})
}

// Ready waits until the server has set up par's streams, and returns why
// it could not. A standalone server is ready when NewServer returns; a
// server of a cluster once enough of its peers have joined for JetStream
// to elect a leader and keep par's replicas.
func (s *Server) Ready(ctx context.Context) error {
	select {
	case <-s.ready:
		return s.setupErr
	case <-ctx.Done():
		return fmt.Errorf("cluster: waiting for the cluster to form: %w", context.Cause(ctx))
	}
}

// Name returns the server's name in its cluster.
func (s *Server) Name() string { return s.ns.Name() }
