package main

import (
	"strings"
	"testing"
)

func TestPercentile(t *testing.T) {
	xs := make([]float64, 100)
	for i := range xs {
		xs[i] = float64(100 - i) // 100 … 1
	}
	for _, c := range []struct {
		xs   []float64
		pct  int
		want float64
	}{
		{xs, 99, 99}, {xs, 50, 50}, {xs, 100, 100}, {xs[:1], 99, 100}, {xs[:3], 99, 100}, {nil, 99, 0},
	} {
		if got := percentile(c.xs, c.pct); got != c.want {
			t.Errorf("percentile(%d values, %d) = %v, want %v", len(c.xs), c.pct, got, c.want)
		}
	}
}

func TestLatencyTable(t *testing.T) {
	w := &workload{Key: "latency", Title: "7. One job at a time", Jobs: 100, Ref: "par-cluster", Latency: true, Tools: []*tool{
		{Name: "par-cluster", Samples: []sample{
			{seconds: 0.3, median: 0.003, p99: 0.009},
			{seconds: 0.2, median: 0.002, p99: 0.005},
			{seconds: 0.4, median: 0.004, p99: 0.007},
		}},
		{Name: "mp-pool", Note: "multiprocessing.Pool(2).apply", Samples: []sample{{seconds: 0.05, median: 0.0005, p99: 0.001}}},
		{Name: "dask", Skip: "not installed"},
	}}
	res := summarize([]*workload{w}, machine{})
	rows := res.Tables[0].Rows
	if r := rows[0]; r.Seconds != 0.3 || r.Median != 0.003 || r.P99 != 0.007 || r.Ratio != 1 {
		t.Errorf("par-cluster: %+v, want the medians over the rounds: 0.3 s, round trip 0.003 s, p99 0.007 s, ratio 1", r)
	}
	if r := rows[1]; r.Ratio != 0.5/3 {
		t.Errorf("mp-pool's ratio is %v, want its median round trip over par-cluster's, %v", r.Ratio, 0.5/3)
	}
	md := markdown(res)
	for _, want := range []string{
		"| tool | median round trip | p99 round trip | median time | vs par | how |",
		"| **par-cluster** | 3.0 ms | 7.0 ms | 300.0 ms | 1.00× |",
		"| mp-pool | 500 µs | 1.0 ms | 50.0 ms | 0.17× | multiprocessing.Pool(2).apply |",
		"Not measured: dask: not installed.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("results.md lacks %q:\n%s", want, md)
		}
	}
}
