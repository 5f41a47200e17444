package cli

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"go.uber.org/goleak"
)

// TestMain doubles as the par command: with PAR_TEST_MAIN=1 the test
// binary runs cli.Main, so tests can signal and kill a real par process
// without building one.
func TestMain(m *testing.M) {
	if os.Getenv("PAR_TEST_MAIN") == "1" {
		// as cmd/par's main
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
		code := Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	goleak.VerifyTestMain(m)
}
