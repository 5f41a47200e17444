//go:build linux

package proc_test

import (
	"context"
	"fmt"

	"github.com/par-project/par"
	"github.com/par-project/par/proc"
)

// Tasks are registered in package variables, so that a worker process,
// which runs the same program, has them before proc.Main serves it.
var cube = par.Register("example.cube", func(_ context.Context, x int) (int, error) {
	return x * x * x, nil
})

func Example() {
	// In a real program, main starts with proc.Main(); here TestMain does.
	b, err := proc.New(proc.Workers(2))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()

	cubes, err := par.Map(context.Background(), []int{1, 2, 3, 4}, cube.Func(), par.On(b))
	fmt.Println(cubes, err)
	// Output: [1 8 27 64] <nil>
}
