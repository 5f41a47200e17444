package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/par-project/par/cluster"
	"github.com/par-project/par/dashboard"
)

// statusMain runs par status: what the dashboard shows, as tables or, with
// --json, as the dashboard's /api/state. The runs and failures come from
// par server, which watches every batch and result; against a NATS
// deployment without one, only the workers and queues are known.
//
//	par status [--connect URL] [--secret S] [--tls-ca FILE] [--tls-cert FILE --tls-key FILE] [--creds FILE] [--json]
func statusMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("par status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("connect", "nats://127.0.0.1:4222", "NATS URL of the cluster")
	secret := fs.String("secret", "", "shared secret (default $PAR_SECRET)")
	var cf cluster.ClientFlags
	cf.Register(fs)
	asJSON := fs.Bool("json", false, "print the state as JSON, as the dashboard's /api/state gives it")
	timeout := fs.Duration("timeout", 10*time.Second, "give up after this long")
	if fs.Parse(args) != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "par status: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *secret == "" {
		*secret = os.Getenv("PAR_SECRET")
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	c, err := cluster.Connect(*url, append(cf.Options(), cluster.Secret(*secret))...)
	if err != nil {
		fmt.Fprintln(stderr, "par status:", err)
		return 1
	}
	defer c.Close()
	s, err := status(ctx, c)
	if err != nil {
		fmt.Fprintln(stderr, "par status:", err)
		return 1
	}
	cs, err := c.ClusterStatus(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "par status:", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		both := struct {
			*dashboard.Snapshot
			Cluster *cluster.ClusterStatus `json:"cluster"`
		}{s, cs}
		if err := enc.Encode(both); err != nil {
			fmt.Fprintln(stderr, "par status:", err)
			return 1
		}
		return 0
	}
	printStatus(stdout, s)
	fmt.Fprintln(stdout)
	cs.Print(stdout)
	return 0
}

// status asks par server for its dashboard's state, or, when no par server
// answers, reads the workers and queues from the cluster itself.
func status(ctx context.Context, c *cluster.Client) (*dashboard.Snapshot, error) {
	s, err := dashboard.Ask(ctx, c.Conn())
	if !errors.Is(err, dashboard.ErrNoAnswer) {
		return s, err
	}
	st, err := c.Status(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	s = &dashboard.Snapshot{Time: now, Workers: []dashboard.Worker{}, Queues: []dashboard.Queue{}, Runs: []dashboard.Run{},
		Failures: []dashboard.Failure{}, Stats: []dashboard.Stat{}, Rate: []dashboard.Point{},
		Problems: []string{"no par server answers on this cluster: runs and failures are unknown (par server watches them)"}}
	perQueue := map[string][2]int{}
	for _, w := range st.Workers {
		s.Workers = append(s.Workers, dashboard.Worker{ID: w.ID, Host: w.Host, PID: w.PID, Queue: w.Queue, Cores: w.Cores,
			Slots: w.Slots, Busy: w.Busy, RunningJobs: w.RunningJobs, Jobs: w.Jobs, Failed: w.Failed, LastError: w.LastError,
			Exec: w.Exec, Started: w.Started, Seen: w.Seen, Age: dashboard.MillisOf(max(0, now.Sub(w.Seen)))})
		c := perQueue[w.Queue]
		perQueue[w.Queue] = [2]int{c[0] + 1, c[1] + w.Slots}
	}
	for _, q := range st.Queues {
		c := perQueue[q.Name]
		s.Queues = append(s.Queues, dashboard.Queue{Name: q.Name, Pending: q.Pending, InFlight: q.InFlight,
			Redelivered: q.Redelivered, Waiting: q.Waiting, Workers: c[0], Slots: c[1]})
	}
	return s, nil
}

// printStatus prints s as tables. Texts from the cluster (names, errors)
// are printed with their control characters escaped, so that a job's
// error cannot drive the terminal.
func printStatus(w io.Writer, s *dashboard.Snapshot) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	live := 0
	for _, x := range s.Workers {
		if !x.Stale {
			live++
		}
	}
	fmt.Fprintf(tw, "WORKERS: %d live\n", live)
	fmt.Fprintf(tw, "WORKER\tHOST\tQUEUE\tCORES\tRUNNING\tSLOTS\tDONE\tFAILED\tLAST HEARTBEAT\tLAST FAILURE\n")
	for _, x := range s.Workers {
		beat := ago(time.Duration(x.Age) * time.Millisecond)
		if x.Stale {
			beat += " (silent)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d/%d\t%d\t%d\t%s\t%s\n", text(x.ID, 40), text(x.Host, 30), text(x.Queue, 20),
			x.Cores, x.RunningJobs, x.Busy, x.Slots, x.Jobs, x.Failed, beat, text(x.LastError, 60))
	}
	fmt.Fprintf(tw, "\nRUNS\n")
	fmt.Fprintf(tw, "RUN\tNAME\tHOST\tSTATE\tDONE\tFAILED\tPENDING\tTOTAL\tRATE\n")
	for _, r := range s.Runs {
		total := "?"
		if r.Total >= 0 {
			total = strconv.FormatInt(r.Total, 10)
		}
		state := r.State
		if r.Partial {
			state += " (partial)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%.1f/s\n", r.ID, text(r.Name, 40), text(r.Host, 30), state,
			r.Done, r.Failed, r.Pending, total, r.Rate)
	}
	fmt.Fprintf(tw, "\nQUEUES\n")
	fmt.Fprintf(tw, "QUEUE\tPENDING\tIN FLIGHT\tREDELIVERED\tIDLE SLOTS\tWORKERS\n")
	for _, q := range s.Queues {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\n", text(q.Name, 20), q.Pending, q.InFlight, q.Redelivered, q.Waiting, q.Workers)
	}
	fmt.Fprintf(tw, "\nRECENT FAILURES\n")
	fmt.Fprintf(tw, "TIME\tRUN\tTASK\tJOB\tWORKER\tKIND\tERROR\n")
	for _, f := range s.Failures {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", f.Time.Local().Format(time.TimeOnly), f.Run, text(f.Task, 40), f.Index,
			text(f.Worker, 40), text(f.Kind, 20), text(f.Error, 100))
	}
	for _, p := range s.Problems {
		fmt.Fprintf(tw, "\nnote: %s\n", text(p, 200))
	}
}

func ago(d time.Duration) string {
	if d < time.Second {
		return "now"
	}
	return d.Round(time.Second).String() + " ago"
}

// text returns s on one line, its control and format characters (escape
// sequences, bidirectional overrides) and invalid bytes escaped and tabs
// shown as spaces, cut to n runes.
func text(s string, n int) string {
	var b strings.Builder
	i := 0
	for _, r := range s {
		if i == n {
			b.WriteString("…")
			break
		}
		i++
		switch {
		case r == '\t':
			b.WriteByte(' ')
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == unicode.ReplacementChar:
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "-"
	}
	return b.String()
}
