//go:build linux

package proc

import (
	"context"
	"io"
	"testing"

	"github.com/par-project/par"
	"github.com/par-project/par/internal/wire"
)

// BenchmarkWorkerSide measures a worker's share of a tiny job: decoding
// the batch, running the task, encoding the results.
func BenchmarkWorkerSide(b *testing.B) {
	xs := make([]float64, 1000)
	for i := range xs {
		xs[i] = float64(i)
	}
	in, _ := wire.Marshal(xs)
	env, _ := wire.Marshal(&jobs{ID: 1, Task: sqrtTask.Name(), Attempt: 1})
	frame := append(env, in...)
	page := &progress{mem: make([]byte, 8)}
	w := wire.NewWriter(io.Discard)
	var out []byte
	for b.Loop() {
		var j jobs
		if err := decodeJobs(frame, &j); err != nil {
			b.Fatal(err)
		}
		var err error
		if out, err = runBatch(context.Background(), &j, page, w, out[:0]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/job")
}

func BenchmarkExecTask(b *testing.B) {
	in, _ := wire.Marshal(2.0)
	ctx := context.Background()
	for b.Loop() {
		if _, err := par.ExecTask(ctx, sqrtTask.Name(), in, 0); err != nil {
			b.Fatal(err)
		}
	}
}
