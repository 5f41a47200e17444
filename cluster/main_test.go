package cluster_test

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/par-project/par"
	"github.com/par-project/par/cluster"
)

// envWorker makes the test binary a cluster worker serving the URL it holds:
// how the tests start real worker processes.
const (
	envWorker = "PAR_CLUSTER_TEST_WORKER"
	envJobs   = "PAR_CLUSTER_TEST_JOBS"
)

func TestMain(m *testing.M) {
	if url := os.Getenv(envWorker); url != "" {
		os.Exit(workerMain(url))
	}
	if args := os.Getenv(envServer); args != "" {
		os.Exit(serverMain(args))
	}
	if spec := os.Getenv(envDriver); spec != "" {
		os.Exit(driverMain(spec))
	}
	goleak.VerifyTestMain(m)
}

func workerMain(url string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	jobs := 2
	fmt.Sscan(os.Getenv(envJobs), &jobs)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if err := cluster.Serve(ctx, url, cluster.Jobs(jobs), cluster.StopTimeout(time.Second), cluster.Logger(log)); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 1
	}
	return 0
}

// The tasks the tests run on workers.
var (
	sqrtTask = par.Register("cluster-test.sqrt", func(_ context.Context, x float64) (float64, error) {
		return math.Sqrt(x), nil
	})
	squareTask = par.Register("cluster-test.square", func(_ context.Context, x int) (int, error) {
		return x * x, nil
	})
	pidTask = par.Register("cluster-test.pid", func(_ context.Context, _ int) (int, error) {
		return os.Getpid(), nil
	})
	failTask = par.Register("cluster-test.fail", func(_ context.Context, x int) (int, error) {
		if x == 3 {
			return 0, fmt.Errorf("no good: %d", x)
		}
		return x, nil
	})
	panicTask = par.Register("cluster-test.panic", func(_ context.Context, x int) (int, error) {
		if x == 5 {
			panic(fmt.Sprintf("boom %d", x))
		}
		return x, nil
	})
	sleepTask = par.Register("cluster-test.sleep", func(ctx context.Context, d time.Duration) (int, error) {
		select {
		case <-time.After(d):
			return 0, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	})
	blobTask = par.Register("cluster-test.blob", func(_ context.Context, n int) ([]byte, error) {
		return make([]byte, n), nil
	})
	spinTask = par.Register("cluster-test.spin", func(_ context.Context, d time.Duration) (int, error) {
		n := 0
		for t0 := time.Now(); time.Since(t0) < d; n++ {
		}
		return n, nil
	})
)
