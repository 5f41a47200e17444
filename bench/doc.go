// Package bench measures par against its peers on the same workloads in
// the same run. The Go benchmarks here compare par's entry points with a
// hand-split loop (one chunk per core: the physical limit),
// golang.org/x/sync/errgroup with SetLimit, and github.com/sourcegraph/conc's
// pool and iter.Map:
//
//	go test -run '^$' -bench . -benchtime 20x ./bench/
//
// Each benchmark reports ns/job, the cost of one job including the work.
package bench
