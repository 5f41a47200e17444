package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

// machine describes where and how the figures were taken.
type machine struct {
	Date       string   `json:"date"`
	Cores      int      `json:"cores"`
	CPU        string   `json:"cpu"`
	MemoryGiB  float64  `json:"memory_gib"`
	Kernel     string   `json:"kernel"`
	Versions   []string `json:"versions"`
	Rounds     int      `json:"rounds"`
	Quick      bool     `json:"quick"`
	LoadBefore string   `json:"load_before"`
	LoadAfter  string   `json:"load_after"`
	Elapsed    string   `json:"elapsed"`
}

func describeMachine(e *env) machine {
	m := machine{Date: time.Now().UTC().Format("2006-01-02 15:04 UTC"), Cores: runtime.NumCPU()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				m.CPU = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kib float64
		fmt.Sscanf(strings.TrimPrefix(strings.SplitN(string(b), "\n", 2)[0], "MemTotal:"), "%g", &kib)
		m.MemoryGiB = kib / (1 << 20)
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = "Linux " + strings.TrimSpace(string(b))
	}
	m.Versions = append(m.Versions, runtime.Version())
	version := func(name string, argv ...string) {
		if b, err := exec.Command(argv[0], argv[1:]...).Output(); err == nil {
			m.Versions = append(m.Versions, strings.TrimSpace(name+" "+strings.SplitN(string(b), "\n", 2)[0]))
		}
	}
	version("Python", e.python, "-c", "import sys; print(sys.version.split()[0])")
	version("joblib", e.python, "-c", "import joblib; print(joblib.__version__)")
	version("dask.distributed", e.python, "-c", "import distributed; print(distributed.__version__)")
	if e.missing["parallel"] == "" {
		version("", "parallel", "--will-cite", "--version")
	}
	if e.missing["rush"] == "" {
		version("rush", "rush", "--version")
	}
	version("", "xargs", "--version")
	return m
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// A row is one tool's summary in a workload.
type row struct {
	Tool       string    `json:"tool"`
	Note       string    `json:"note,omitempty"`
	Skip       string    `json:"skip,omitempty"`
	Seconds    float64   `json:"median_seconds"`
	JobsPerSec float64   `json:"jobs_per_second"`
	RSSMiB     float64   `json:"peak_rss_mib"`
	Ratio      float64   `json:"ratio_to_par"` // time / par's time; of a latency workload, median round trip / par's
	Speedup    float64   `json:"speedup,omitempty"`
	Efficiency float64   `json:"efficiency,omitempty"`
	All        []float64 `json:"seconds"`
	// Median and P99 are one job's round trip in a latency workload:
	// the median over the rounds of each round's median and p99.
	Median float64 `json:"median_round_trip_seconds,omitempty"`
	P99    float64 `json:"p99_round_trip_seconds,omitempty"`
}

type table struct {
	*workload
	Rows []row `json:"rows"`
}

type results struct {
	Machine machine  `json:"machine"`
	Tables  []*table `json:"tables"`
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// percentile is the pct-th percentile of xs by the nearest rank: the
// smallest x with at least pct percent of xs at or below it (the 99th of
// 100 round trips is the 99th fastest).
func percentile(xs []float64, pct int) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := max(1, (pct*len(s)+99)/100)
	return s[rank-1]
}

func summarize(ws []*workload, m machine) results {
	res := results{Machine: m}
	for _, w := range ws {
		t := &table{workload: w}
		med := map[string]float64{}
		for _, tl := range w.Tools {
			r := row{Tool: tl.Name, Note: tl.Note, Skip: tl.Skip}
			var secs, rss, rtts, p99s []float64
			for _, s := range tl.Samples {
				secs = append(secs, s.seconds)
				rss = append(rss, float64(s.rssKiB)/1024)
				if s.median > 0 {
					rtts, p99s = append(rtts, s.median), append(p99s, s.p99)
				}
			}
			r.All = secs
			if len(secs) > 0 {
				r.Skip = "" // measured, though it may have failed later
				if tl.Skip != "" {
					r.Note = strings.TrimSpace(r.Note + "; later rounds " + tl.Skip)
				}
				r.Seconds, r.RSSMiB = median(secs), median(rss)
				r.Median, r.P99 = median(rtts), median(p99s)
				r.JobsPerSec = float64(w.Jobs) / r.Seconds
				med[tl.Name] = r.Seconds
				if w.Latency {
					med[tl.Name] = r.Median
				}
			}
			t.Rows = append(t.Rows, r)
		}
		for i, tl := range w.Tools {
			r := &t.Rows[i]
			if r.Seconds == 0 {
				continue
			}
			if ref := med[w.Ref]; ref > 0 {
				r.Ratio = med[tl.Name] / ref
			}
			if s := med[tl.Serial]; w.Speedup && s > 0 {
				r.Speedup = s / r.Seconds
				r.Efficiency = r.Speedup / float64(w.Workers)
			}
		}
		res.Tables = append(res.Tables, t)
	}
	return res
}

func markdown(res results) string {
	var b strings.Builder
	m := res.Machine
	b.WriteString("# par against its peers\n\n")
	b.WriteString("Generated by `bench/run`")
	if m.Quick {
		b.WriteString(" --quick (small sizes, one round: a check that the script works, not figures to quote)")
	}
	fmt.Fprintf(&b, " on %s, in %s.\n\n", m.Date, m.Elapsed)
	fmt.Fprintf(&b, "Machine: %d cores (%s), %.1f GiB of memory, %s; %s.\n", m.Cores, m.CPU, m.MemoryGiB, m.Kernel, strings.Join(m.Versions, ", "))
	fmt.Fprintf(&b, "Load average (1, 5, 15 min) %s at the start, %s at the end.\n\n", m.LoadBefore, m.LoadAfter)
	fmt.Fprintf(&b, "How: every tool of a workload runs in turn, round after round (A B C … A B C …), %d round(s); each figure is the median over the rounds. ", m.Rounds)
	b.WriteString("Each run is a process of its own (with its worker processes, pools or cluster); **time** is the part the workload says (the map alone for libraries, with pools started and warmed; the whole command for shell tools), **peak RSS** the most memory the run's whole process tree held at once (the sum over its processes, sampled every 20 ms, or the largest process's peak if higher; the median over the rounds). ")
	b.WriteString("**vs par** is the tool's time over par's: above 1 is slower than par, below 1 faster.\n\n")
	b.WriteString("This machine is a shared virtual machine, and other engineers' tests ran while these figures were taken: single figures move by tens of percent from run to run. Compare tools within one table, where the interleaving spreads the noise over all of them.\n\n")

	var lastSeries string
	for _, t := range res.Tables {
		if t.Series != "" {
			if t.Series == lastSeries {
				continue
			}
			lastSeries = t.Series
			seriesTable(&b, res, t.Series)
			continue
		}
		fmt.Fprintf(&b, "## %s\n\n%s\n\n", t.Title, t.About)
		if t.Latency {
			latencyTable(&b, t)
			continue
		}
		if t.Speedup {
			b.WriteString("| tool | median time | jobs/s | peak RSS | vs par | speed-up over serial | efficiency | how |\n|---|--:|--:|--:|--:|--:|--:|---|\n")
		} else {
			b.WriteString("| tool | median time | jobs/s | peak RSS | vs par | how |\n|---|--:|--:|--:|--:|---|\n")
		}
		writeRows(&b, t, func(r row) string {
			cells := fmt.Sprintf(" %s | %s | %.0f MiB | %s |", seconds(r.Seconds), rate(r.JobsPerSec), r.RSSMiB, ratio(r.Ratio))
			switch {
			case !t.Speedup:
			case r.Speedup > 0:
				cells += fmt.Sprintf(" %.2f× | %.0f%% |", r.Speedup, 100*r.Efficiency)
			default:
				cells += " | |"
			}
			return cells
		})
	}
	b.WriteString("![par against its peers](results.svg)\n\nThe same figures, unrounded and with every round's time, are in results.json.\n")
	return b.String()
}

// latencyTable writes the table of a latency workload: a row per tool,
// with one job's round trip, median and 99th percentile, before the time
// of the whole loop, and vs par on the median round trip.
func latencyTable(b *strings.Builder, t *table) {
	b.WriteString("| tool | median round trip | p99 round trip | median time | vs par | how |\n|---|--:|--:|--:|--:|---|\n")
	writeRows(b, t, func(r row) string {
		return fmt.Sprintf(" %s | %s | %s | %s |", seconds(r.Median), seconds(r.P99), seconds(r.Seconds), ratio(r.Ratio))
	})
}

// writeRows writes a row per measured tool of t: its name (in bold for
// the reference), the cells cells makes of its figures, and its note; then
// ends the table with the tools not measured and why.
func writeRows(b *strings.Builder, t *table, cells func(row) string) {
	var skipped []string
	for _, r := range t.Rows {
		if r.Seconds == 0 {
			skipped = append(skipped, fmt.Sprintf("%s: %s", r.Tool, r.Skip))
			continue
		}
		name := r.Tool
		if r.Tool == t.Ref {
			name = "**" + r.Tool + "**"
		}
		fmt.Fprintf(b, "| %s |%s %s |\n", name, cells(r), r.Note)
	}
	notMeasured(b, skipped)
}

// notMeasured ends a table with the tools it lacks and why.
func notMeasured(b *strings.Builder, skipped []string) {
	if len(skipped) > 0 {
		b.WriteString("\nNot measured: " + strings.Join(skipped, "; ") + ".\n")
	}
	b.WriteString("\n")
}

// seriesTable writes one table for the workloads of a series: a row per
// tool, a column per job count.
func seriesTable(b *strings.Builder, res results, series string) {
	var ts []*table
	for _, t := range res.Tables {
		if t.Series == series {
			ts = append(ts, t)
		}
	}
	fmt.Fprintf(b, "## %s\n\n%s\n\nMedian time (vs par) and peak RSS, by number of jobs:\n\n| tool |", ts[0].Title, ts[0].About)
	for _, t := range ts {
		fmt.Fprintf(b, " %s jobs |", count(t.Jobs))
	}
	b.WriteString("\n|---|" + strings.Repeat("--:|", len(ts)) + "\n")
	var skipped []string
	for i, r0 := range ts[0].Rows {
		fmt.Fprintf(b, "| %s |", r0.Tool)
		for _, t := range ts {
			r := t.Rows[i]
			if r.Seconds == 0 {
				b.WriteString(" – |")
				skipped = append(skipped, fmt.Sprintf("%s at %s jobs: %s", r.Tool, count(t.Jobs), r.Skip))
				continue
			}
			fmt.Fprintf(b, " %s (%s), %.0f MiB |", seconds(r.Seconds), ratio(r.Ratio), r.RSSMiB)
		}
		b.WriteString("\n")
	}
	notMeasured(b, skipped)
}

func seconds(s float64) string {
	switch {
	case s < 0.001:
		return fmt.Sprintf("%.0f µs", s*1e6)
	case s < 1:
		return fmt.Sprintf("%.1f ms", s*1e3)
	}
	return fmt.Sprintf("%.2f s", s)
}

func rate(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.1f M", r/1e6)
	case r >= 1e4:
		return fmt.Sprintf("%.0f k", r/1e3)
	case r >= 100:
		return fmt.Sprintf("%.0f", r)
	}
	return fmt.Sprintf("%.1f", r)
}

func ratio(r float64) string {
	if r == 0 {
		return "–"
	}
	if r >= 10 {
		return fmt.Sprintf("%.0f×", r)
	}
	return fmt.Sprintf("%.2f×", r)
}
