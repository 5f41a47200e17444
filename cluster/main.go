package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The par command's cluster subcommands are library calls that return an
// exit code, so they can be tested in process: cmd/par passes them its
// arguments after the subcommand name, and exits with what they return.

// ServerMain runs par server: an embedded NATS server with JetStream, set
// up for par, until ctx ends. It prints the URL to connect to on stdout
// once the server is ready.
//
//	par server [--data DIR] [--listen 127.0.0.1:4222] [--http ADDR] [--secret S] [--no-sync]
func ServerMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("par server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := ServerConfig{}
	fs.StringVar(&cfg.DataDir, "data", defaultDataDir(), "directory for JetStream's files")
	fs.StringVar(&cfg.Listen, "listen", "127.0.0.1:4222", "client address; port 0 picks a free one")
	fs.StringVar(&cfg.HTTP, "http", "", "monitoring address, e.g. 127.0.0.1:8222 (none by default)")
	secret := fs.String("secret", "", "shared secret clients must give (default $PAR_SECRET)")
	fs.BoolVar(&cfg.NoSync, "no-sync", false, "do not fsync every write (faster; an OS crash may lose acknowledged jobs)")
	fs.DurationVar(&cfg.Settings.AckWait, "ack-wait", 30*time.Second, "how long a lost worker keeps its batch before another gets it")
	fs.IntVar(&cfg.Settings.MaxDeliver, "max-deliver", 5, "how often a batch is handed out before its jobs fail")
	if fs.Parse(args) != nil {
		return 2
	}
	cfg.Secret = secretOr(*secret)
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
	fmt.Fprintln(stdout, s.URL())
	<-ctx.Done()
	return 0
}

// WorkerMain runs par worker: a worker of the cluster at --connect until
// ctx ends (the command ends ctx on SIGTERM or SIGINT: running batches get
// --stop-timeout to finish, the others go back to the queue).
//
//	par worker --connect URL [--jobs N] [--queue NAME] [--secret S] [--allow-exec]
func WorkerMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("par worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("connect", "nats://127.0.0.1:4222", "NATS URL of the cluster")
	jobs := fs.Int("jobs", -1, "batches to run at once; -1 is one per CPU")
	queue := fs.String("queue", DefaultQueue, "queue to serve")
	secret := fs.String("secret", "", "shared secret (default $PAR_SECRET)")
	allowExec := fs.Bool("allow-exec", false, "run shell commands sent by drivers (remote execution: trust every driver)")
	stop := fs.Duration("stop-timeout", 10*time.Second, "on stop, how long running batches may take to finish")
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
	if err := Serve(ctx, *url, opts...); err != nil {
		fmt.Fprintln(stderr, "par worker:", err)
		return 1
	}
	return 0
}

// StatusMain runs par status: the live workers (host, cores, jobs done,
// load, last failure) and each queue's pending and in-flight batches, as
// a table or, with --json, as one JSON object (a Status).
//
//	par status --connect URL [--secret S] [--json]
func StatusMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("par status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("connect", "nats://127.0.0.1:4222", "NATS URL of the cluster")
	secret := fs.String("secret", "", "shared secret (default $PAR_SECRET)")
	asJSON := fs.Bool("json", false, "print JSON")
	if fs.Parse(args) != nil {
		return 2
	}
	c, err := Connect(*url, Secret(secretOr(*secret)))
	if err != nil {
		fmt.Fprintln(stderr, "par status:", err)
		return 1
	}
	defer c.Close()
	st, err := c.Status(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "par status:", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(st); err != nil {
			return 1
		}
		return 0
	}
	st.print(stdout)
	return 0
}

// Status is a snapshot of a cluster, as par status shows it.
type Status struct {
	Workers []WorkerInfo  `json:"workers"`
	Queues  []QueueStatus `json:"queues"`
}

// QueueStatus counts a queue's batches.
type QueueStatus struct {
	Name        string `json:"name"`
	Pending     uint64 `json:"pending"`     // waiting for a worker
	InFlight    int    `json:"in_flight"`   // handed out, not yet finished
	Redelivered int    `json:"redelivered"` // handed out again after a lost worker
	Waiting     int    `json:"waiting"`     // idle worker slots asking for work
}

// Status reports the live workers and the queues.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	ws, err := c.Workers(ctx)
	if err != nil {
		return nil, err
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i].ID < ws[j].ID })
	st := &Status{Workers: ws}
	infos := c.jobs.ListConsumers(ctx)
	for ci := range infos.Info() {
		st.Queues = append(st.Queues, QueueStatus{
			Name:        strings.TrimPrefix(ci.Name, "par-"),
			Pending:     ci.NumPending,
			InFlight:    ci.NumAckPending,
			Redelivered: ci.NumRedelivered,
			Waiting:     ci.NumWaiting,
		})
	}
	if err := infos.Err(); err != nil && !errors.Is(err, jetstream.ErrEndOfData) {
		return nil, fmt.Errorf("cluster: listing queues: %w", err)
	}
	return st, nil
}

func (st *Status) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "WORKER\tHOST\tQUEUE\tCORES\tSLOTS\tBUSY\tJOBS\tFAILED\tUP\tLAST FAILURE\n")
	for _, x := range st.Workers {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", x.ID, x.Host, x.Queue, x.Cores, x.Slots, x.Busy,
			x.Jobs, x.Failed, time.Since(x.Started).Round(time.Second), x.LastError)
	}
	fmt.Fprintf(tw, "\nQUEUE\tPENDING\tIN FLIGHT\tREDELIVERED\tIDLE SLOTS\n")
	for _, q := range st.Queues {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\n", q.Name, q.Pending, q.InFlight, q.Redelivered, q.Waiting)
	}
	tw.Flush()
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
