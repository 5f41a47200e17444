package cluster

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// ClusterStatus is what par status shows of the servers, the durable runs
// and the dead letters.
type ClusterStatus struct {
	// Mode is "standalone" for one server, "cluster" for a NATS cluster.
	Mode string `json:"mode"`
	// Cluster is the cluster's name, "" for a standalone server.
	Cluster string `json:"cluster,omitempty"`
	// Server is the name of the server this client is connected to.
	Server string `json:"server"`
	// Servers are the client URLs of the servers the connection knows.
	Servers []string `json:"servers"`
	// Replicas is how many copies of the jobs stream the cluster keeps.
	Replicas int `json:"replicas"`
	// Runs are the durable runs (see Client.Run), newest first.
	Runs []RunInfo `json:"durable_runs"`
	// DeadLetters are the batches whose jobs exhausted their deliveries.
	DeadLetters []DeadLetter `json:"dead_letters"`
}

// ClusterStatus reports the servers' mode, the durable runs and the dead
// letters.
func (c *Client) ClusterStatus(ctx context.Context) (*ClusterStatus, error) {
	st := &ClusterStatus{Mode: "standalone", Cluster: c.nc.ConnectedClusterName(), Server: c.nc.ConnectedServerName(),
		Servers: c.nc.Servers(), Runs: []RunInfo{}, DeadLetters: []DeadLetter{}}
	if st.Cluster != "" {
		st.Mode = "cluster"
	}
	info, err := c.jobs.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	st.Replicas = max(info.Config.Replicas, 1)
	runs, err := c.Runs(ctx)
	if err != nil {
		return nil, err
	}
	if runs != nil {
		st.Runs = runs
	}
	dead, err := c.DeadLetters(ctx, "")
	if err != nil {
		return nil, err
	}
	if dead != nil {
		st.DeadLetters = dead
	}
	return st, nil
}

// Print writes st as par status shows it. Names and reasons are printed
// with their control characters escaped.
func (st *ClusterStatus) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	if st.Mode == "cluster" {
		fmt.Fprintf(tw, "SERVER: cluster %s, %d servers known, streams with %d replicas, connected to %s\n",
			clean(st.Cluster), len(st.Servers), st.Replicas, clean(st.Server))
	} else {
		fmt.Fprintf(tw, "SERVER: standalone (%s)\n", clean(st.Server))
	}
	fmt.Fprintf(tw, "\nDURABLE RUNS\n")
	fmt.Fprintf(tw, "NAME\tSTATE\tDONE\tFAILED\tPENDING\tDEAD\tUPDATED\tEXPIRES\n")
	for _, r := range st.Runs {
		expires := "-"
		if !r.Expires.IsZero() {
			expires = r.Expires.Local().Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\n", clean(r.Name), r.State, r.Done, r.Failed, r.Pending, r.Dead,
			r.Updated.Local().Format(time.DateTime), expires)
	}
	fmt.Fprintf(tw, "\nDEAD LETTERS (par retry RUN queues them again)\n")
	fmt.Fprintf(tw, "TIME\tRUN\tQUEUE\tTASK\tJOBS\tREASON\n")
	for _, d := range st.DeadLetters {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", d.Time.Local().Format(time.DateTime), clean(d.Run), clean(d.Queue),
			clean(d.Task), d.Jobs, clean(d.Reason))
	}
}

// clean returns s on one line with its control characters escaped.
func clean(s string) string {
	q := strconv.QuoteToGraphic(s)
	q = strings.ReplaceAll(q[1:len(q)-1], `\"`, `"`)
	if q == "" {
		return "-"
	}
	return q
}
