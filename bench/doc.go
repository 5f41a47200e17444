// Package bench measures par against its peers on the same workloads in
// the same run. The Go benchmarks here compare par's entry points with a
// hand-split loop (one chunk per core: the physical limit),
// golang.org/x/sync/errgroup with SetLimit, and github.com/sourcegraph/conc's
// pool and iter.Map:
//
//	go test -run '^$' -bench . -benchtime 20x ./bench/
//
// Each benchmark reports ns/job, the cost of one job including the work.
//
// The script bench/run sets par beside its peers in other languages and
// tools (GNU parallel, xargs, rush, joblib, multiprocessing,
// concurrent.futures, Dask), each run in a process of its own, and writes
// results.md, results.json and a chart; bench/cmd/benchrun holds the
// workloads and bench/peers the Python side. Its workloads: tiny jobs in
// one Go process, CPU-bound jobs, tiny jobs across a process boundary,
// shell commands, an I/O-bound fan-out, scaling with the number of jobs,
// and one job at a time (latency): jobs submitted one by one to a
// par.Pool on worker processes or a cluster, each waited for before the
// next, whose table gives the median and 99th percentile of one job's
// round trip.
package bench
