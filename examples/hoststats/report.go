package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/par-project/par"
)

// printTable prints a row per host, in host order.
func printTable(w io.Writer, f *fleet, results []result) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "host\taddress\tresult\tcpu %\tmem MB\trequests\t")
	for i, r := range results {
		if r.Err != nil {
			fmt.Fprintf(tw, "host%03d\t%s\t%s\t\t\t\t\n", i+1, f.hosts[i].addr, cause(r.Err))
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\tok\t%d\t%d\t%d\t\n", r.Stats.Host, f.hosts[i].addr, r.Stats.CPUPercent, r.Stats.MemMB, r.Stats.Requests)
	}
	tw.Flush()
}

// totals sums what the hosts reported and counts the failures by cause.
func totals(results []result, st par.Stats) string {
	var ok, cpu, mem int
	var requests int64
	causes := map[string]int{}
	for _, r := range results {
		if r.Err != nil {
			causes[cause(r.Err)]++
			continue
		}
		ok++
		cpu += r.Stats.CPUPercent
		mem += r.Stats.MemMB
		requests += r.Stats.Requests
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d hosts: %d ok, %d failed (%d timeout, %d HTTP 500), %d retries\n",
		len(results), ok, len(results)-ok, causes["timeout"], causes["HTTP 500"], st.Retried)
	if ok > 0 {
		fmt.Fprintf(&b, "total of ok hosts: %d requests, %d MB memory, mean CPU %.1f%%\n", requests, mem, float64(cpu)/float64(ok))
	}
	return b.String()
}

// check compares what was collected with what each simulated host does:
// healthy and flaky hosts give their stats, broken ones HTTP 500 after
// every retry, hanging ones a timeout; flaky hosts cost one retry each.
func check(f *fleet, results []result, st par.Stats, retries int) error {
	wantRetried := 0
	for i, h := range f.hosts {
		r := results[i]
		var want string
		switch h.kind {
		case healthy, flaky:
			want = "ok"
			if r.Err == nil && r.Stats != h.stats {
				return fmt.Errorf("%s: got %+v, want %+v", h.stats.Host, r.Stats, h.stats)
			}
			if h.kind == flaky && retries > 0 {
				wantRetried++
			} else if h.kind == flaky {
				want = "HTTP 500"
			}
		case broken:
			want = "HTTP 500"
			wantRetried += retries
		case hanging:
			want = "timeout"
		}
		if got := cause(r.Err); got != want {
			return fmt.Errorf("%s (%v): got %s, want %s", h.stats.Host, h.kind, got, want)
		}
	}
	if st.Retried != wantRetried {
		return fmt.Errorf("%d retries, want %d", st.Retried, wantRetried)
	}
	return nil
}
