package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/par-project/par"
	"github.com/par-project/par/cluster"
)

// The whole path in one process: an embedded server on a free port, a
// worker serving this binary's registered tasks, and a driver running
// par.Map on the cluster.
func Example() {
	dir, _ := os.MkdirTemp("", "par-example")
	defer os.RemoveAll(dir)
	srv, err := cluster.NewServer(cluster.ServerConfig{DataDir: dir, Listen: "127.0.0.1:0", NoSync: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Shutdown()

	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error)
	go func() { served <- cluster.Serve(ctx, srv.URL(), cluster.Jobs(2)) }()
	defer func() { stop(); <-served }()

	c, err := cluster.Connect(srv.URL())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	out, err := par.Map(ctx, []int{1, 2, 3, 4}, squareTask.Func(), par.On(c))
	fmt.Println(out, err)
	// Output: [1 4 9 16] <nil>
}

// A worker without AllowExec refuses shell-command jobs with
// ErrExecNotAllowed, and the driver gets that error back.
func ExampleAllowExec() {
	dir, _ := os.MkdirTemp("", "par-example")
	defer os.RemoveAll(dir)
	srv, err := cluster.NewServer(cluster.ServerConfig{DataDir: dir, Listen: "127.0.0.1:0", NoSync: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Shutdown()
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error)
	go func() { served <- cluster.Serve(ctx, srv.URL()) }() // no cluster.AllowExec()
	defer func() { stop(); <-served }()

	c, err := cluster.Connect(srv.URL())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	_, err = par.Map(ctx, []string{"uname"}, shellTask.Func(), par.On(c))
	fmt.Println(errors.Is(err, cluster.ErrExecNotAllowed))
	// Output: true
}

// Status lists the live workers and the queues, as par status does.
func ExampleClient_Status() {
	dir, _ := os.MkdirTemp("", "par-example")
	defer os.RemoveAll(dir)
	srv, err := cluster.NewServer(cluster.ServerConfig{DataDir: dir, Listen: "127.0.0.1:0", NoSync: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Shutdown()
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error)
	go func() { served <- cluster.Serve(ctx, srv.URL(), cluster.Jobs(3), cluster.Name("w1")) }()
	defer func() { stop(); <-served }()

	c, err := cluster.Connect(srv.URL())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	// The worker registers itself as it starts: wait until it has.
	if _, err := par.Map(ctx, []int{1}, squareTask.Func(), par.On(c)); err != nil {
		fmt.Println(err)
		return
	}
	st, err := c.Status(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, w := range st.Workers {
		fmt.Println(w.ID, w.Slots)
	}
	for _, q := range st.Queues {
		fmt.Println(q.Name)
	}
	// Output:
	// w1 3
	// default
}
