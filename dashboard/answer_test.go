package dashboard_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/par-project/par/cluster"
	"github.com/par-project/par/dashboard"
	"github.com/par-project/par/partest"
)

func TestAnswerAndAsk(t *testing.T) {
	url := partest.StartServerWith(t, cluster.ServerConfig{MaxPayload: 64 << 10})
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx := testCtx(t, 30*time.Second)

	if _, err := dashboard.Ask(ctx, nc); !errors.Is(err, dashboard.ErrNoAnswer) {
		t.Fatalf("Ask with nobody answering: %v, want ErrNoAnswer", err)
	}

	snap := fakeSnapshot()
	sub, err := dashboard.Answer(nc, fakeSource{s: snap})
	if err != nil {
		t.Fatal(err)
	}
	got, err := dashboard.Ask(ctx, nc)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Workers) != 2 || got.Workers[0].ID != "w1" || len(got.Failures) != 1 || got.Failures[0].Error != xssText ||
		got.Stats[0].Done != 6 {
		t.Errorf("Ask = %+v, want the fake snapshot", got)
	}
	if err := sub.Unsubscribe(); err != nil {
		t.Fatal(err)
	}

	// A snapshot too large for one message loses its history and its
	// oldest failures, not the rest.
	big := fakeSnapshot()
	for i := range 2 * dashboard.MaxFailures {
		big.Failures = append(big.Failures, dashboard.Failure{Index: int64(i), Error: strings.Repeat("e", dashboard.MaxErrorLen)})
	}
	for i := range 300 {
		big.Rate = append(big.Rate, dashboard.Point{T: int64(i)})
	}
	sub, err = dashboard.Answer(nc, fakeSource{s: big})
	if err != nil {
		t.Fatal(err)
	}
	got, err = dashboard.Ask(ctx, nc)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Rate) != 0 || len(got.Failures) == 0 || len(got.Failures) >= len(big.Failures) || len(got.Workers) != 2 {
		t.Errorf("a large snapshot came with %d points, %d of %d failures, %d workers", len(got.Rate), len(got.Failures), len(big.Failures), len(got.Workers))
	}
	if err := sub.Unsubscribe(); err != nil {
		t.Fatal(err)
	}

	// A source that fails makes Ask fail with its reason.
	sub, err = dashboard.Answer(nc, fakeSource{err: errors.New("stream gone")})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if _, err := dashboard.Ask(ctx, nc); err == nil || !strings.Contains(err.Error(), "stream gone") {
		t.Fatalf("Ask of a failing source: %v", err)
	}
}
