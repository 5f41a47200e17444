package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHeadline(t *testing.T) {
	res := results{Machine: machine{Date: "2026-11-25 23:00 UTC", Cores: 2, Rounds: 5}, Tables: []*table{
		{workload: &workload{Title: "Tiny jobs", Ref: "par"}, Rows: []row{
			{Tool: "par", Seconds: 0.01}, {Tool: "errgroup", Seconds: 0.05}, {Tool: "conc-pool", Seconds: 0.04},
			{Tool: "par-proc", Seconds: 0.001}, {Tool: "gone", Skip: "not installed"}}},
		{workload: &workload{Title: "Shell", Ref: "par"}, Rows: []row{
			{Tool: "par", Seconds: 2}, {Tool: "xargs", Seconds: 1}}},
		{workload: &workload{Title: "small", Series: "Scaling", Jobs: 1000, Ref: "par"}, Rows: []row{{Tool: "par", Seconds: 1}}},
		{workload: &workload{Title: "large", Series: "Scaling", Jobs: 1000000, Ref: "par"}, Rows: []row{{Tool: "par", Seconds: 3}}},
		{workload: &workload{Title: "One at a time", Ref: "par-cluster", Latency: true}, Rows: []row{
			{Tool: "par-cluster", Seconds: 2, Median: 0.002}, {Tool: "mp-pool", Seconds: 0.1, Median: 0.0001}}},
	}}
	h := headline(res)
	for _, want := range []string{
		"| Tiny jobs | par | 10.0 ms | conc-pool | 40.0 ms | 4.00× faster |",
		"| Shell | par | 2.00 s | xargs | 1.00 s | 2.00× slower |",
		"| Scaling (1,000,000 jobs) | par | 3.00 s | none measured | | |",
	} {
		if !strings.Contains(h, want) {
			t.Errorf("headline lacks %q:\n%s", want, h)
		}
	}
	if strings.Contains(h, "1,000 jobs)") {
		t.Errorf("a series shows more than its largest run:\n%s", h)
	}
	if strings.Contains(h, "One at a time") {
		t.Errorf("a latency workload has a row:\n%s", h)
	}
}

func TestUpdateReadme(t *testing.T) {
	path := filepath.Join(t.TempDir(), "README.md")
	before := "# x\n\nintro\n" + headlineStart + "\nold table\n" + headlineEnd + "\n\nafter\n"
	os.WriteFile(path, []byte(before), 0o644)
	if err := updateReadme(path, "new table\n"); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	want := "# x\n\nintro\n" + headlineStart + "\nnew table\n" + headlineEnd + "\n\nafter\n"
	if string(got) != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	os.WriteFile(path, []byte("no markers\n"), 0o644)
	if err := updateReadme(path, "t"); err == nil || !strings.Contains(err.Error(), "markers") {
		t.Fatalf("README without markers: %v", err)
	}
}
