//go:build linux

package proc

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/par-project/par"
)

func TestMain(m *testing.M) {
	Main()
	if os.Getenv(envOrphanParent) != "" {
		os.Exit(orphanParent())
	}
	goleak.VerifyTestMain(m)
}

// The tasks the tests run in worker processes.
var (
	sqrtTask = par.Register("proc-test.sqrt", func(_ context.Context, x float64) (float64, error) {
		return math.Sqrt(x), nil
	})
	squareTask = par.Register("proc-test.square", func(_ context.Context, x int) (int, error) {
		return x * x, nil
	})
	pidTask = par.Register("proc-test.pid", func(_ context.Context, _ int) (int, error) {
		return os.Getpid(), nil
	})
	failTask = par.Register("proc-test.fail", func(_ context.Context, x int) (int, error) {
		if x == 3 {
			return 0, fmt.Errorf("no good: %d", x)
		}
		if x == 4 {
			return 0, par.Retryable(errors.New("try again"))
		}
		return x, nil
	})
	panicTask = par.Register("proc-test.panic", func(_ context.Context, x int) (int, error) {
		if x == 5 {
			panic(fmt.Sprintf("boom %d", x))
		}
		return x, nil
	})
	exitTask = par.Register("proc-test.exit", func(_ context.Context, x int) (int, error) {
		if x == 7 {
			fmt.Fprintln(os.Stderr, "leaving now")
			os.Exit(3)
		}
		return x, nil
	})
	hogTask = par.Register("proc-test.hog", func(_ context.Context, x int) (int, error) {
		if x != 2 {
			return x, nil
		}
		// Allocate 1 GiB, well past the tests' limit, and hold it until
		// killed, however late the parent looks.
		var keep [][]byte
		for range 128 {
			b := make([]byte, 8<<20)
			for i := 0; i < len(b); i += 4096 {
				b[i] = 1
			}
			keep = append(keep, b)
		}
		time.Sleep(time.Minute)
		return len(keep), nil
	})
	sleepTask = par.Register("proc-test.sleep", func(ctx context.Context, d time.Duration) (int, error) {
		if d < 0 { // ignores its context
			time.Sleep(-d)
			return 0, nil
		}
		select {
		case <-time.After(d):
			return 0, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	})
	spinTask = par.Register("proc-test.spin", func(_ context.Context, d time.Duration) (int, error) {
		end := time.Now().Add(d)
		n := 0
		for time.Now().Before(end) {
			n++
		}
		return n, nil
	})
	initTask = par.Register("proc-test.init", func(_ context.Context, v string) (struct{}, error) {
		if v == "fail" {
			return struct{}{}, errors.New("cannot set up")
		}
		os.Setenv("PROC_TEST_INIT", v)
		return struct{}{}, nil
	})
	envTask = par.Register("proc-test.env", func(_ context.Context, name string) (string, error) {
		return os.Getenv(name), nil
	})
)

// newBackend returns a backend closed when the test ends.
func newBackend(t testing.TB, opts ...Option) *Backend {
	t.Helper()
	b, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Error(err)
		}
	})
	return b
}

func ints(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// testCtx bounds a test in time.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}
