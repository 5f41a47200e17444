// Command benchrun measures par against its peers, as bench/run calls
// it: every workload runs on par and on each peer in turn, round after
// round (A B C A B C …), each run in a process of its own whose time and
// peak memory are taken, and the medians go to results.md, results.json
// and a chart, results.svg.
//
//	benchrun run --par BIN --bench DIR --out DIR [--quick] [--rounds N] [--only a,b]
//
// The same binary is the Go side of the measured runs (benchrun job …),
// a cluster worker for them (benchrun cluster-worker URL), and the slow
// HTTP servers of the fan-out workload (benchrun slow-servers N).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/par-project/par/proc"
)

func main() {
	proc.Main() // in a worker process of par's process backend: serve jobs, exit
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: benchrun run|job|cluster-worker|slow-servers …")
		return 2
	}
	var err error
	switch args[0] {
	case "run":
		err = orchestrate(ctx, args[1:])
	case "job": // job WORKLOAD TOOL N
		if len(args) != 4 {
			err = fmt.Errorf("usage: benchrun job WORKLOAD TOOL N")
			break
		}
		n, perr := strconv.Atoi(args[3])
		if perr != nil {
			err = perr
			break
		}
		err = runJob(ctx, args[1], args[2], n)
	case "cluster-worker": // cluster-worker URL
		if len(args) != 2 {
			err = fmt.Errorf("usage: benchrun cluster-worker URL")
			break
		}
		err = serveCluster(ctx, args[1])
	case "slow-servers": // slow-servers N: N servers answering after 50 ms
		n := 4
		if len(args) > 1 {
			n, err = strconv.Atoi(args[1])
		}
		if err == nil {
			err = serveSlow(ctx, n, 50*time.Millisecond)
		}
	default:
		err = fmt.Errorf("unknown subcommand %q", args[0])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchrun:", err)
		return 1
	}
	return 0
}
