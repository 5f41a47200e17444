package cluster

import (
	"fmt"

	"github.com/nats-io/nats.go"
)

// Conn returns a connection to s that does not leave the process (no
// socket), authenticated with s's secret, for code that runs beside the
// server: par server's dashboard and status answers. opts are applied
// after par's own. Close it before Shutdown.
func (s *Server) Conn(name string, opts ...nats.Option) (*nats.Conn, error) {
	o := []nats.Option{nats.InProcessServer(s.ns), nats.Name(name), nats.MaxReconnects(-1)}
	if s.secret != "" {
		o = append(o, nats.Token(s.secret))
	}
	nc, err := nats.Connect("", append(o, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("cluster: connecting in process: %w", err)
	}
	return nc, nil
}
