//go:build linux

package proc_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

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

var greeting = par.Register("example.greeting", func(_ context.Context, name string) (string, error) {
	return os.Getenv("GREETING") + ", " + name, nil
})

var setUp = par.Register("example.setup", func(_ context.Context, greeting string) (struct{}, error) {
	// Runs once in each worker before its first job: open connections,
	// load models, set up state here.
	return struct{}{}, os.Setenv("GREETING", greeting)
})

func ExampleInit() {
	b, err := proc.New(proc.Workers(1), proc.Init(setUp, "Hello"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()

	out, err := par.Map(context.Background(), []string{"Ada", "Grace"}, greeting.Func(), par.On(b))
	fmt.Println(out, err)
	// Output: [Hello, Ada Hello, Grace] <nil>
}

var crash = par.Register("example.crash", func(_ context.Context, code int) (int, error) {
	if code != 0 {
		os.Exit(code) // takes its worker down, not the program
	}
	return 0, nil
})

func ExampleBackend() {
	b, err := proc.New(proc.Workers(2), proc.Stderr(io.Discard))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()

	_, err = par.Map(context.Background(), []int{0, 0, 7, 0}, crash.Func(), par.On(b))
	var lost *par.WorkerLostError
	if errors.As(err, &lost) {
		fmt.Println("a worker exited with code", lost.ExitCode)
	}
	// The program goes on; the worker has been replaced.
	_, err = par.Map(context.Background(), []int{0, 0}, crash.Func(), par.On(b))
	fmt.Println(err)
	// Output:
	// a worker exited with code 7
	// <nil>
}
