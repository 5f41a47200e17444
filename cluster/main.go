package cluster

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The par command's cluster subcommands are library calls that return an
// exit code, so they can be tested in process: cmd/par passes them its
// arguments after the subcommand name, and exits with what they return.

// ServerMain runs par server: an embedded NATS server with JetStream, set
// up for par, until ctx ends. It prints the URL to connect to on stdout
// once the server is ready.
//
//	par server [--data DIR] [--listen 127.0.0.1:4222] [--nats-http ADDR] [--secret S] [--no-sync]
//	           [--tls-cert FILE --tls-key FILE [--tls-ca FILE [--tls-verify]]]
//	           [--cluster-listen ADDR --routes URL,URL,… [--cluster-name NAME] [--name NAME]] [--replicas N]
//	           [--max-object-store-bytes N] [--objects-max-age D]
//
// With --cluster-listen the server joins the others given by --routes in
// a NATS cluster, and prints its URL once the cluster has formed.
//
// extras add parts to the command (the par command adds its dashboard):
// their flags, and what they start beside the server once it is ready.
func ServerMain(ctx context.Context, args []string, stdout, stderr io.Writer, extras ...ServerExtra) int {
	fs := flag.NewFlagSet("par server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := ServerConfig{}
	fs.StringVar(&cfg.DataDir, "data", defaultDataDir(), "directory for JetStream's files")
	fs.StringVar(&cfg.Listen, "listen", "127.0.0.1:4222", "client address; port 0 picks a free one")
	fs.StringVar(&cfg.HTTP, "nats-http", "", "NATS's own monitoring address, e.g. 127.0.0.1:8222 (none by default)")
	secret := fs.String("secret", "", "shared secret clients must give (default $PAR_SECRET)")
	fs.StringVar(&cfg.TLSCert, "tls-cert", "", "serve TLS with this certificate (PEM; with --tls-key): clients then connect with tls:// URLs")
	fs.StringVar(&cfg.TLSKey, "tls-key", "", "the key of --tls-cert (PEM)")
	fs.StringVar(&cfg.TLSCA, "tls-ca", "", "CAs (PEM) that sign the other servers' certificates (routes), and with --tls-verify clients'")
	fs.BoolVar(&cfg.TLSVerify, "tls-verify", false, "require client certificates signed by a CA of --tls-ca (mutual TLS)")
	fs.BoolVar(&cfg.NoSync, "no-sync", false, "do not fsync every write (faster; an OS crash may lose acknowledged jobs)")
	fs.DurationVar(&cfg.Settings.AckWait, "ack-wait", 30*time.Second, "how long a lost worker keeps its batch before another gets it")
	fs.IntVar(&cfg.Settings.MaxDeliver, "max-deliver", 5, "how often a batch is handed out before its jobs fail")
	fs.StringVar(&cfg.ClusterListen, "cluster-listen", "", "address other servers' routes connect to, e.g. 127.0.0.1:6222 (none: standalone)")
	routes := fs.String("routes", "", "the other servers' cluster addresses, comma-separated: nats://host:6222,…")
	fs.StringVar(&cfg.ClusterName, "cluster-name", "", "the cluster's name, the same on every server (default par)")
	fs.StringVar(&cfg.Name, "name", "", "this server's name, unique in the cluster (default from the host and --data)")
	fs.IntVar(&cfg.Settings.Replicas, "replicas", 0, "copies of each stream in a cluster (default 3 with 3 or more servers, else 1)")
	fs.Int64Var(&cfg.Settings.MaxObjectStoreBytes, "max-object-store-bytes", 4<<30, "bound of the object store of large values (cluster.Put, inputs and results over the max payload)")
	fs.DurationVar(&cfg.Settings.ObjectsMaxAge, "objects-max-age", 24*time.Hour, "how long the object store keeps a value after it was stored")
	for _, x := range extras {
		x.Flags(fs)
	}
	if fs.Parse(args) != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "par server: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *routes != "" {
		cfg.Routes = strings.Split(*routes, ",")
	}
	if cfg.Settings.MaxObjectStoreBytes <= 0 || cfg.Settings.ObjectsMaxAge <= 0 {
		fmt.Fprintf(stderr, "par server: --max-object-store-bytes and --objects-max-age must be positive, got %d and %v\n",
			cfg.Settings.MaxObjectStoreBytes, cfg.Settings.ObjectsMaxAge)
		return 2
	}
	if cfg.Settings.Replicas < 0 || cfg.Settings.Replicas > 5 {
		fmt.Fprintf(stderr, "par server: --replicas must be 0 (automatic) to 5, got %d\n", cfg.Settings.Replicas)
		return 2
	}
	cfg.Secret = secretOr(*secret)
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") || ((cfg.TLSCA != "" || cfg.TLSVerify) && cfg.TLSCert == "") {
		fmt.Fprintln(stderr, "par server: TLS needs both --tls-cert and --tls-key (and --tls-ca, --tls-verify need them too)")
		return 2
	}
	if cfg.TLSVerify && cfg.TLSCA == "" {
		fmt.Fprintln(stderr, "par server: --tls-verify needs --tls-ca, the CA that signs the clients' certificates")
		return 2
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		fmt.Fprintln(stderr, "par server:", err)
		return 1
	}
	s, err := NewServer(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "par server:", err)
		return 1
	}
	defer s.Shutdown()
	if cfg.ClusterListen != "" {
		fmt.Fprintf(stderr, "par server: %s waiting for its cluster to form (routes %s)\n", s.Name(), *routes)
	}
	if err := s.Ready(ctx); err != nil {
		if ctx.Err() != nil {
			return 0
		}
		fmt.Fprintln(stderr, "par server:", err)
		return 1
	}
	var banners []string
	for _, x := range extras {
		banner, stop, err := x.Start(s, cfg.Secret)
		if err != nil {
			fmt.Fprintln(stderr, "par server:", err)
			return 1
		}
		defer stop()
		if banner != "" {
			banners = append(banners, banner)
		}
	}
	fmt.Fprintln(stdout, s.URL())
	for _, b := range banners {
		fmt.Fprintln(stdout, b)
	}
	<-ctx.Done()
	return 0
}

// A ServerExtra adds a part to par server (see ServerMain), so that what
// the command serves beside the cluster need not be a dependency of this
// package: the par command adds its dashboard this way.
type ServerExtra interface {
	// Flags registers the part's flags on the command's flag set.
	Flags(fs *flag.FlagSet)
	// Start starts the part beside the ready server s, whose clients
	// present secret. It returns a line to print after the server's URL
	// ("" for none) and a func that stops the part; ServerMain calls it
	// before it shuts the server down. An error stops par server.
	Start(s *Server, secret string) (banner string, stop func(), err error)
}

// WorkerMain runs par worker: a worker of the cluster at --connect until
// ctx ends (the command ends ctx on SIGTERM or SIGINT: running batches get
// --stop-timeout to finish, the others go back to the queue).
//
//	par worker --connect URL [--jobs N] [--queue NAME] [--secret S] [--allow-exec] [--object-cache BYTES]
//	           [--tls-ca FILE] [--tls-cert FILE --tls-key FILE] [--creds FILE]
func WorkerMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("par worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("connect", "nats://127.0.0.1:4222", "NATS URL of the cluster; several comma-separated to fail over")
	jobs := fs.Int("jobs", -1, "batches to run at once; -1 is one per CPU")
	queue := fs.String("queue", DefaultQueue, "queue to serve")
	secret := fs.String("secret", "", "shared secret (default $PAR_SECRET)")
	var cf ClientFlags
	cf.Register(fs)
	allowExec := fs.Bool("allow-exec", false, "run shell commands sent by drivers (remote execution: trust every driver)")
	stop := fs.Duration("stop-timeout", 10*time.Second, "on stop, how long running batches may take to finish")
	cache := fs.Int64("object-cache", DefaultObjectCache, "bytes of values fetched from the object store kept in memory")
	verbose := fs.Bool("v", false, "log what the worker does")
	if fs.Parse(args) != nil {
		return 2
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	opts := []Option{
		Jobs(*jobs), Queue(*queue), Secret(secretOr(*secret)), StopTimeout(*stop),
		Logger(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))),
	}
	if *allowExec {
		opts = append(opts, AllowExec())
	}
	opts = append(opts, ObjectCache(*cache))
	opts = append(opts, cf.Options()...)
	if err := Serve(ctx, *url, opts...); err != nil {
		fmt.Fprintln(stderr, "par worker:", err)
		return 1
	}
	return 0
}

// ClientFlags are the flags of a command that connects to a cluster (par
// worker, par status) for TLS and credentials; each defaults to its
// environment variable (PAR_TLS_CA, PAR_TLS_CERT, PAR_TLS_KEY, PAR_CREDS),
// as --secret does to PAR_SECRET.
type ClientFlags struct {
	CA, Cert, Key, Creds string
}

// Register adds the flags to fs.
func (f *ClientFlags) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.CA, "tls-ca", "", "trust servers whose certificate a CA in this file (PEM) signed (default $PAR_TLS_CA)")
	fs.StringVar(&f.Cert, "tls-cert", "", "client certificate (PEM) for a server that wants one (default $PAR_TLS_CERT)")
	fs.StringVar(&f.Key, "tls-key", "", "the key of --tls-cert (default $PAR_TLS_KEY)")
	fs.StringVar(&f.Creds, "creds", "", "NATS credentials file, for NATS deployments with accounts (default $PAR_CREDS)")
}

// Options returns the options the flags, or their environment variables,
// ask for. Their files are checked when Connect or Serve applies them.
func (f *ClientFlags) Options() []Option {
	or := func(v, env string) string {
		if v != "" {
			return v
		}
		return os.Getenv(env)
	}
	var opts []Option
	if ca := or(f.CA, "PAR_TLS_CA"); ca != "" {
		opts = append(opts, TLSCA(ca))
	}
	cert, key := or(f.Cert, "PAR_TLS_CERT"), or(f.Key, "PAR_TLS_KEY")
	if cert != "" || key != "" {
		opts = append(opts, TLSCert(cert, key))
	}
	if creds := or(f.Creds, "PAR_CREDS"); creds != "" {
		opts = append(opts, Credentials(creds))
	}
	return opts
}

func secretOr(s string) string {
	if s != "" {
		return s
	}
	return os.Getenv("PAR_SECRET")
}

func defaultDataDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "par", "server")
	}
	return "par-server"
}
