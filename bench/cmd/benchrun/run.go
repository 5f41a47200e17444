package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// orchestrate is benchrun run: it plans the workloads, runs them
// interleaved and writes the results.
func orchestrate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("benchrun run", flag.ContinueOnError)
	e := &env{python: "/usr/bin/python3"}
	fs.StringVar(&e.parBin, "par", "", "the par binary")
	fs.StringVar(&e.bench, "bench", "bench", "the bench directory (holding peers/)")
	out := fs.String("out", "bench", "where results.md, results.json and results.svg go")
	fs.BoolVar(&e.quick, "quick", false, "small sizes, one round")
	rounds := fs.Int("rounds", 5, "rounds of every workload (1 with --quick unless given)")
	only := fs.String("only", "", "comma-separated workload keys (prefixes) to run, e.g. cpu,boundary")
	rushErr := fs.String("rush-error", "", "why rush could not be installed, to report")
	readme := fs.String("readme", "", "a README whose headline table (between bench/run markers) to rewrite")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if e.parBin == "" {
		return errors.New("--par is required")
	}
	roundsSet := false
	fs.Visit(func(f *flag.Flag) { roundsSet = roundsSet || f.Name == "rounds" })
	if e.quick && !roundsSet {
		*rounds = 1
	}
	var err error
	if e.self, err = os.Executable(); err != nil {
		return err
	}
	if e.tmp, err = os.MkdirTemp("", "par-bench-"); err != nil {
		return err
	}
	defer os.RemoveAll(e.tmp)
	e.findMissing(*rushErr)

	ws, err := e.plan()
	if err != nil {
		return err
	}
	if *only != "" {
		ws = selectWorkloads(ws, strings.Split(*only, ","))
	}
	m := describeMachine(e)
	m.Rounds, m.Quick = *rounds, e.quick
	m.LoadBefore = loadavg()
	start := time.Now()

	servers, urls, err := startSlowServers(ctx, e.self)
	if err != nil {
		return err
	}
	defer func() { servers.Process.Kill(); servers.Wait() }()

	timeout := 10 * time.Minute
	if e.quick {
		timeout = 2 * time.Minute
	}
	for _, w := range ws {
		fmt.Fprintf(os.Stderr, "== %s (%s jobs)\n", w.Title, count(w.Jobs))
		for _, t := range w.Tools {
			if t.Skip != "" {
				fmt.Fprintf(os.Stderr, "   skip %s: %s\n", t.Name, t.Skip)
			}
		}
		for r := range *rounds {
			for _, t := range w.Tools {
				if t.Skip != "" {
					continue
				}
				limit := timeout
				if t.Timeout > 0 {
					limit = t.Timeout
				}
				s, err := measure(ctx, t.Argv, t.Stdin, []string{"BENCH_PAR=" + e.parBin, "BENCH_URLS=" + strings.Join(urls, ",")}, limit)
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if err != nil {
					t.Skip = "failed: " + err.Error()
					fmt.Fprintf(os.Stderr, "   %s failed, not run again: %v\n", t.Name, err)
					continue
				}
				t.Samples = append(t.Samples, s)
				fmt.Fprintf(os.Stderr, "   round %d  %-22s %9.4f s  %7.1f MiB", r+1, t.Name, s.seconds, float64(s.rssKiB)/1024)
				if s.median > 0 {
					fmt.Fprintf(os.Stderr, "  round trip: median %s, p99 %s", seconds(s.median), seconds(s.p99))
				}
				fmt.Fprintln(os.Stderr)
			}
		}
	}
	m.Elapsed = time.Since(start).Round(time.Second).String()
	m.LoadAfter = loadavg()

	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	res := summarize(ws, m)
	js, _ := json.MarshalIndent(res, "", "  ")
	if err := os.WriteFile(filepath.Join(*out, "results.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*out, "results.md"), []byte(markdown(res)), 0o644); err != nil {
		return err
	}
	if err := chart(res, filepath.Join(*out, "results")); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	fmt.Fprintf(os.Stderr, "wrote %s/results.md, results.json and results.svg/.png in %s\n", *out, m.Elapsed)
	if *readme != "" {
		if err := updateReadme(*readme, headline(res)); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "rewrote the headline table in %s\n", *readme)
	}
	return nil
}

func selectWorkloads(ws []*workload, keys []string) []*workload {
	var sel []*workload
	for _, w := range ws {
		for _, k := range keys {
			if k != "" && strings.HasPrefix(w.Key, k) {
				sel = append(sel, w)
				break
			}
		}
	}
	return sel
}

// startSlowServers starts the fan-out workload's HTTP servers in a process
// of their own, so that their work does not count to any tool's memory.
func startSlowServers(ctx context.Context, self string) (*exec.Cmd, []string, error) {
	cmd := exec.CommandContext(ctx, self, "slow-servers", "4")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	sc := bufio.NewScanner(out)
	var urls []string
	for len(urls) < 4 && sc.Scan() {
		urls = append(urls, strings.TrimSpace(sc.Text()))
	}
	if len(urls) < 4 {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, nil, errors.New("the slow HTTP servers did not start")
	}
	return cmd, urls, nil
}
