package cluster

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Status is what a cluster itself keeps about its workers and queues. par
// status shows it with the runs and failures that par server has seen.
type Status struct {
	Workers []WorkerInfo  `json:"workers"`
	Queues  []QueueStatus `json:"queues"`
}

// QueueStatus counts a queue's batches.
type QueueStatus struct {
	Name        string `json:"name"`
	Pending     uint64 `json:"pending"`     // waiting for a worker
	InFlight    int    `json:"in_flight"`   // handed out, not yet finished
	Redelivered int    `json:"redelivered"` // handed out again after a lost worker
	Waiting     int    `json:"waiting"`     // idle worker slots asking for work
}

// Status reports the live workers and the queues.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	ws, err := c.Workers(ctx)
	if err != nil {
		return nil, err
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i].ID < ws[j].ID })
	st := &Status{Workers: ws}
	infos := c.jobs.ListConsumers(ctx)
	for ci := range infos.Info() {
		st.Queues = append(st.Queues, QueueStatus{
			Name:        strings.TrimPrefix(ci.Name, "par-"),
			Pending:     ci.NumPending,
			InFlight:    ci.NumAckPending,
			Redelivered: ci.NumRedelivered,
			Waiting:     ci.NumWaiting,
		})
	}
	if err := infos.Err(); err != nil && !errors.Is(err, jetstream.ErrEndOfData) {
		return nil, fmt.Errorf("cluster: listing queues: %w", err)
	}
	return st, nil
}

// Conn returns the NATS connection c uses, for programs that read more of
// the cluster than a Client does (par status asks par server for what it
// has seen of the runs). It stays c's: Close c, not it.
func (c *Client) Conn() *nats.Conn { return c.nc }
