//go:build linux

package proc

import (
	"context"
	"math/rand/v2"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/par-project/par/internal/testio"

	"github.com/par-project/par"
)

var chaosTask = par.Register("proc-test.chaos", func(_ context.Context, x int) (int, error) {
	time.Sleep(100 * time.Microsecond)
	return 3*x + 1, nil
})

// TestChaos kills a random worker every 50 ms while 10,000 jobs run:
// every job's result must arrive exactly once, and be right.
func TestChaos(t *testing.T) {
	b := newBackend(t, Workers(3), Stderr(&testio.Buffer{}))
	ctx := testCtx(t)
	const n = 10_000

	// The killing starts with the first result, once the workers are up.
	started, stop := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	kills := 0
	wg.Go(func() {
		select {
		case <-started:
		case <-stop:
			return
		}
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		end := time.After(2 * time.Second)
		for {
			select {
			case <-stop:
				return
			case <-end:
				return
			case <-tick.C:
				if pids := b.pids(); len(pids) > 0 {
					if syscall.Kill(pids[rand.IntN(len(pids))], syscall.SIGKILL) == nil {
						kills++
					}
				}
			}
		}
	})

	var retried int
	seen := 0
	for v, err := range par.Stream(ctx, ints(n), chaosTask.Func(), par.On(b), par.Retries(50, time.Millisecond),
		par.Progress(func(s par.Status) { retried = s.Retried })) {
		if seen == 0 {
			close(started)
		}
		if err != nil {
			close(stop)
			wg.Wait()
			t.Fatalf("job %d: %v", seen, err)
		}
		if want := 3*seen + 1; v != want {
			close(stop)
			wg.Wait()
			t.Fatalf("result %d = %d, want %d", seen, v, want)
		}
		seen++
	}
	close(stop)
	wg.Wait()
	if seen != n {
		t.Fatalf("%d results, want %d", seen, n)
	}
	t.Logf("%d workers killed, %d jobs retried", kills, retried)
	if kills < 5 {
		t.Errorf("only %d kills: the run was too short to test anything", kills)
	}
}
