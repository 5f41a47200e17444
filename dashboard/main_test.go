package dashboard_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/par-project/par"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// xssText is the error text of job 7 of checkTask: it must show as text.
const xssText = "<script>alert(1)</script>"

// checkTask doubles x, and fails job 7 with an error text that would run
// as a script if the page inserted it as markup.
var checkTask = par.Register("dashboard-test.check", func(_ context.Context, x int) (int, error) {
	if x == 7 {
		return 0, errors.New(xssText)
	}
	return 2 * x, nil
})

func testCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// eventually calls f every 20ms until it returns nil or ctx ends, and
// returns f's last error then.
func eventually(ctx context.Context, f func() error) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		err := f()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-t.C:
		}
	}
}
