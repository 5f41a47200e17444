package cluster_test

import (
	"context"
	"fmt"
	"os"

	"github.com/par-project/par"
	"github.com/par-project/par/cluster"
)

// lookupJob reads one entry of a table shared by every job.
type lookupJob struct {
	Table cluster.Ref[map[string]int]
	Key   string
}

var lookupTask = par.Register("cluster-example.lookup", func(ctx context.Context, j lookupJob) (int, error) {
	t, err := j.Table.Get(ctx) // fetched once per worker, then from its cache
	if err != nil {
		return 0, err
	}
	return t[j.Key], nil
})

// A table stored once with Put, read by every job through its Ref.
func ExamplePut() {
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
	go func() { served <- cluster.Serve(ctx, srv.URL()) }()
	defer func() { stop(); <-served }()

	c, err := cluster.Connect(srv.URL())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	ref, err := cluster.Put(ctx, c, map[string]int{"a": 1, "b": 2, "c": 3})
	if err != nil {
		fmt.Println(err)
		return
	}
	jobs := []lookupJob{{ref, "c"}, {ref, "a"}, {ref, "b"}}
	out, err := par.Map(ctx, jobs, lookupTask.Func(), par.On(c))
	fmt.Println(out, err)
	// Output: [3 1 2] <nil>
}
