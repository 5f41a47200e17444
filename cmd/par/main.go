// Command par runs jobs in parallel: shell commands with GNU parallel's
// command line, or a cluster with par server and par worker.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/par-project/par/cli"
	"github.com/par-project/par/cluster"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches par's subcommands; anything else is a GNU parallel
// command line.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "server":
			return cluster.ServerMain(ctx, args[1:], stdout, stderr, &serverDashboard{})
		case "worker":
			return cluster.WorkerMain(ctx, args[1:], stdout, stderr)
		case "status":
			return statusMain(ctx, args[1:], stdout, stderr)
		case "retry":
			return cluster.RetryMain(ctx, args[1:], stdout, stderr)
		}
	}
	return cli.Main(ctx, args, stdin, stdout, stderr)
}
