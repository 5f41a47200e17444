package par_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/par-project/par"
)

func ExampleMap() {
	// joblib: Parallel(n_jobs=2)(delayed(sqrt)(i ** 2) for i in range(10))
	xs := []float64{0, 1, 4, 9, 16, 25, 36, 49, 64, 81}
	roots, err := par.Map(context.Background(), xs, func(_ context.Context, x float64) (float64, error) {
		return math.Sqrt(x), nil
	}, par.Jobs(2))
	fmt.Println(roots, err)
	// Output: [0 1 2 3 4 5 6 7 8 9] <nil>
}

func ExampleMap_sequence() {
	// Inputs may be an iter.Seq: they are read lazily, a batch at a time.
	lengths, _ := par.Map(context.Background(), strings.SplitSeq("par runs jobs", " "),
		func(_ context.Context, w string) (int, error) { return len(w), nil })
	fmt.Println(lengths)
	// Output: [3 4 4]
}

func ExampleForEach() {
	var sum [4]int // each job writes its own element
	_ = par.ForEach(context.Background(), []int{0, 1, 2, 3}, func(_ context.Context, i int) error {
		sum[i] = i * 10
		return nil
	})
	fmt.Println(sum)
	// Output: [0 10 20 30]
}

func ExampleStream() {
	// Results come in input order, while later jobs still run.
	for v, err := range par.Stream(context.Background(), slices.Values([]int{1, 2, 3, 4}), square) {
		fmt.Println(v, err)
	}
	// Output:
	// 1 <nil>
	// 4 <nil>
	// 9 <nil>
	// 16 <nil>
}

func ExampleStream_unordered() {
	// Unordered yields results as jobs finish; breaking out of the loop
	// cancels the jobs still running.
	found := 0
	for v, err := range par.Stream(context.Background(), []int{3, 5, 7, 9, 11}, square, par.Unordered()) {
		if err == nil && v > 20 {
			found++
		}
		if found == 2 {
			break
		}
	}
	fmt.Println("found", found)
	// Output: found 2
}

func ExampleFor() {
	// One step of a 1-D heat equation: each chunk writes its own cells.
	u := []float64{0, 0, 0, 100, 0, 0, 0}
	next := make([]float64, len(u))
	_ = par.For(context.Background(), len(u), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if i == 0 || i == len(u)-1 {
				continue
			}
			next[i] = u[i] + 0.25*(u[i-1]-2*u[i]+u[i+1])
		}
	}, par.Static())
	fmt.Println(next)
	// Output: [0 0 25 50 25 0 0]
}

func ExampleSubmit() {
	pool, _ := par.NewPool(par.Jobs(2))
	defer pool.Close()
	ctx := context.Background()
	f := par.Submit(pool, ctx, square, 12)
	v, err := f.Wait(ctx)
	fmt.Println(v, err)
	// Output: 144 <nil>
}

func ExamplePool_Group() {
	// Parallel Python's group= and wait(group).
	pool, _ := par.NewPool()
	defer pool.Close()
	ctx := context.Background()
	g := pool.Group()
	results := make([]*par.Future[int], 3)
	for i := range results {
		results[i] = par.Submit(g, ctx, square, i+1)
	}
	fmt.Println("group:", g.Wait(ctx))
	for _, f := range results {
		v, _ := f.Wait(ctx)
		fmt.Print(v, " ")
	}
	fmt.Println()
	// Output:
	// group: <nil>
	// 1 4 9
}

func ExampleFuture_OnDone() {
	pool, _ := par.NewPool()
	ctx := context.Background()
	done := make(chan string, 1)
	par.Submit(pool, ctx, square, 7).OnDone(func(v int, err error) {
		done <- fmt.Sprint("callback got ", v)
	})
	fmt.Println(<-done)
	pool.Close()
	// Output: callback got 49
}

func ExamplePool_Stats() {
	pool, _ := par.NewPool(par.Jobs(2))
	ctx := context.Background()
	for i := range 10 {
		par.Submit(pool, ctx, square, i)
	}
	pool.Close() // drains
	st := pool.Stats()
	fmt.Println(st.Done, "jobs on", len(st.PerWorker), "workers; task", strings.TrimPrefix(st.PerTask[0].Name, "github.com/par-project/par_test."))
	// Output: 10 jobs on 2 workers; task square
}

func ExamplePool_SetWorkers() {
	pool, _ := par.NewPool(par.Jobs(1))
	defer pool.Close()
	_ = pool.SetWorkers(4) // Parallel Python's set_ncpus
	fmt.Println(pool.Stats().Workers)
	// Output: 4
}

func ExampleRegister() {
	// A registered task can run on every backend: worker processes and
	// cluster workers find it by name.
	t := sqrtTask // par.Register("par_test.sqrt", func(ctx, x float64) (float64, error) {…})
	roots, _ := par.Map(context.Background(), []float64{1, 4, 9}, t.Func())
	fmt.Println(t.Name(), roots)
	// Output: par_test.sqrt [1 2 3]
}

func ExampleRetries() {
	tries := 0
	flaky := func(_ context.Context, x int) (int, error) {
		if tries++; tries < 3 {
			return 0, par.Retryable(errors.New("connection reset"))
		}
		return x, nil
	}
	v, err := par.Map(context.Background(), []int{42}, flaky, par.Retries(5, 0), par.Jobs(1))
	fmt.Println(v, err, "after", tries, "tries")
	// Output: [42] <nil> after 3 tries
}

func ExampleCollectErrors() {
	half := func(_ context.Context, x int) (int, error) {
		if x%2 != 0 {
			return 0, fmt.Errorf("%d is odd", x)
		}
		return x / 2, nil
	}
	v, err := par.Map(context.Background(), []int{2, 3, 4, 5}, half, par.CollectErrors())
	fmt.Println(v)
	fmt.Println(err)
	// Output:
	// [1 0 2 0]
	// par: job 1 (input 3): 3 is odd
	// par: job 3 (input 5): 5 is odd
}

func ExampleJobError() {
	_, err := par.Map(context.Background(), []string{"a", "", "c"}, func(_ context.Context, s string) (int, error) {
		if s == "" {
			return 0, errors.New("empty")
		}
		return len(s), nil
	}, par.Jobs(1))
	var je *par.JobError
	if errors.As(err, &je) {
		fmt.Printf("job %d failed: %v\n", je.Index, je.Err)
	}
	// Output: job 1 failed: empty
}

func ExamplePanicError() {
	_, err := par.Map(context.Background(), []int{1}, func(context.Context, int) (int, error) {
		panic("out of range")
	})
	var pe *par.PanicError
	fmt.Println(errors.As(err, &pe), pe.Value)
	// Output: true out of range
}

func ExampleProgress() {
	var last par.Status
	_, _ = par.Map(context.Background(), make([]int, 1000), square, par.Progress(func(s par.Status) { last = s }))
	fmt.Println(last.Done, "of", last.Total)
	// Output: 1000 of 1000
}

func ExampleBarTo() {
	var out strings.Builder
	_, _ = par.Map(context.Background(), make([]int, 100), square, par.BarTo(&out))
	fmt.Println(strings.Contains(out.String(), "100/100"))
	// Output: true
}

func ExampleSlot() {
	slots, _ := par.Map(context.Background(), []int{1}, func(ctx context.Context, _ int) (int, error) {
		return par.Slot(ctx), nil
	}, par.Jobs(1))
	fmt.Println(slots)
	// Output: [1]
}

func ExampleWorkerLostError() {
	err := error(&par.WorkerLostError{Worker: "3", ExitCode: -1, Signal: "killed", Stderr: "fatal error: out of memory"})
	fmt.Println(err, par.IsRetryable(err))
	// Output:
	// par: worker 3 lost (signal: killed); last stderr:
	// fatal error: out of memory true
}

func ExampleGoroutines() {
	// The default backend, named: par.On(par.Goroutines()) changes nothing.
	v, _ := par.Map(context.Background(), []int{2}, square, par.On(par.Goroutines()))
	fmt.Println(v)
	// Output: [4]
}
