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
		if f := os.Getenv("PAR_TEST_HWM"); f != "" {
			// the peak RSS of this process alone (rusage would count the
			// test process it was forked from)
			st, _ := os.ReadFile("/proc/self/status")
			os.WriteFile(f, st, 0o600)
		}
		os.Exit(code)
	}
	goleak.VerifyTestMain(m)
}
