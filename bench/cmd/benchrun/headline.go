package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
)

// The README's headline table sits between these markers; benchrun
// --readme rewrites what is between them, so that the figures the README
// quotes are the ones the script measured.
const (
	headlineStart = "<!-- bench/run: headline -->"
	headlineEnd   = "<!-- /bench/run: headline -->"
)

// headline returns one row per workload: par's time and the fastest
// peer's, and how many times faster par was. Peers are the tools that are
// not par's own (their names do not start with "par"). A latency
// workload has no row: its figure is one job's round trip, not a time
// like the others', and its par tool, the cluster, would be set beside
// the fastest peer, a pool of local processes: not a pair to compare.
func headline(res results) string {
	var b strings.Builder
	m := res.Machine
	fmt.Fprintf(&b, "Measured by `bench/run` on %s: %d cores (%s), %.0f GiB; load %s at the start, %s at the end; median of %d rounds, tools interleaved.\n\n",
		m.Date, m.Cores, m.CPU, m.MemoryGiB, m.LoadBefore, m.LoadAfter, m.Rounds)
	b.WriteString("| workload | par | time | fastest peer | time | par is |\n|---|---|--:|---|--:|--:|\n")
	for i, t := range res.Tables {
		if t.Series != "" && i+1 < len(res.Tables) && res.Tables[i+1].Series == t.Series {
			continue // a series shows its largest run
		}
		if t.Latency {
			continue
		}
		par, peer := bestRows(t)
		if par == nil {
			continue
		}
		title := t.Title
		if t.Series != "" {
			title = t.Series + " (" + count(t.Jobs) + " jobs)"
		}
		if peer == nil {
			fmt.Fprintf(&b, "| %s | %s | %s | none measured | | |\n", title, par.Tool, seconds(par.Seconds))
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", title, par.Tool, seconds(par.Seconds),
			peer.Tool, seconds(peer.Seconds), faster(peer.Seconds/par.Seconds))
	}
	return b.String()
}

// bestRows returns the workload's reference par row and its fastest
// measured peer row.
func bestRows(t *table) (par, peer *row) {
	for i := range t.Rows {
		r := &t.Rows[i]
		if r.Seconds == 0 {
			continue
		}
		switch {
		case r.Tool == t.Ref:
			par = r
		case strings.HasPrefix(r.Tool, "par") || r.Tool == "serial":
		case peer == nil || r.Seconds < peer.Seconds:
			peer = r
		}
	}
	return par, peer
}

// faster says how par's time compares with a peer's: r is the peer's time
// over par's.
func faster(r float64) string {
	if r >= 1 {
		return fmt.Sprintf("%.2f× faster", r)
	}
	return fmt.Sprintf("%.2f× slower", 1/r)
}

// updateReadme replaces the headline between the markers in the file at
// path.
func updateReadme(path, table string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	i := bytes.Index(data, []byte(headlineStart))
	j := bytes.Index(data, []byte(headlineEnd))
	if i < 0 || j < i {
		return fmt.Errorf("%s: no %q … %q markers to put the headline between", path, headlineStart, headlineEnd)
	}
	var out bytes.Buffer
	out.Write(data[:i+len(headlineStart)])
	out.WriteString("\n" + table)
	out.Write(data[j:])
	return os.WriteFile(path, out.Bytes(), 0o644)
}
