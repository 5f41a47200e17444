// Command par runs jobs in parallel: shell commands with GNU parallel's
// command line, or a cluster with par server and par worker.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/par-project/par/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
