package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// StatusSubject is the core NATS subject on which par server answers a
// request with its Collector's Snapshot as JSON: how par status shows the
// runs and failures that only a Collector that has been watching knows.
const StatusSubject = "par.status"

// ErrNoAnswer is returned by Ask when nothing answers on StatusSubject: no
// par server (or other program calling Answer) is connected to the
// cluster.
var ErrNoAnswer = errors.New("dashboard: no par server answers status requests on this cluster")

// Answer answers every request on StatusSubject with src's Snapshot, until
// the returned subscription is unsubscribed. A Snapshot larger than the
// server's max payload loses its throughput history, then its oldest
// failures, until it fits.
func Answer(nc *nats.Conn, src Source) (*nats.Subscription, error) {
	sub, err := nc.Subscribe(StatusSubject, func(m *nats.Msg) {
		if m.Reply == "" {
			return
		}
		_ = m.Respond(answer(src, int(nc.MaxPayload())))
	})
	if err != nil {
		return nil, fmt.Errorf("dashboard: answering on %s: %w", StatusSubject, err)
	}
	if err := nc.Flush(); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	return sub, nil
}

// answerError is what Answer sends when its Source fails.
type answerError struct {
	Error string `json:"error"`
}

func answer(src Source, limit int) []byte {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := src.Snapshot(ctx)
	if err != nil {
		data, _ := json.Marshal(answerError{Error: err.Error()})
		return data
	}
	data, err := json.Marshal(s)
	for err == nil && len(data) > limit-1024 && (s.Rate != nil || len(s.Failures) > 0) {
		if s.Rate != nil {
			s.Rate = nil
		} else {
			s.Failures = s.Failures[:len(s.Failures)/2]
		}
		data, err = json.Marshal(s)
	}
	if err != nil || len(data) > limit-1024 {
		data, _ = json.Marshal(answerError{Error: fmt.Sprintf("the status does not fit in a message of %d bytes", limit)})
	}
	return data
}

// Ask requests the Snapshot of the par server connected to the cluster nc
// is connected to (see Answer). It fails with ErrNoAnswer when none
// answers.
func Ask(ctx context.Context, nc *nats.Conn) (*Snapshot, error) {
	m, err := nc.RequestWithContext(ctx, StatusSubject, nil)
	if errors.Is(err, nats.ErrNoResponders) {
		return nil, ErrNoAnswer
	}
	if err != nil {
		return nil, fmt.Errorf("dashboard: asking for the status: %w", err)
	}
	return decodeAnswer(m.Data)
}

// decodeAnswer decodes what Answer sent.
func decodeAnswer(data []byte) (*Snapshot, error) {
	var e answerError
	if json.Unmarshal(data, &e) == nil && e.Error != "" {
		return nil, fmt.Errorf("dashboard: the par server could not tell its status: %s", e.Error)
	}
	var s Snapshot
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("dashboard: the status does not decode: %w", err)
	}
	return &s, nil
}
