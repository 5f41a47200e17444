package wire

import (
	"testing"
)

const benchJobs = 1000

// benchValues are the user's inputs: 1000 float64s, most of which need the
// full 8 bytes.
func benchValues() []float64 {
	v := make([]float64, benchJobs)
	for i := range v {
		v[i] = float64(i) / 7
	}
	return v
}

// BenchmarkEncodeBatch measures what a driver does per batch: encode the
// inputs as one array, as the engine does, then the envelope.
func BenchmarkEncodeBatch(b *testing.B) {
	values := benchValues()
	b.ReportAllocs()
	var size int
	for b.Loop() {
		ins, err := Marshal(values)
		if err != nil {
			b.Fatal(err)
		}
		data, err := Marshal(&Batch{ID: 1, Task: "square", First: 0, Attempt: 1, Inputs: ins})
		if err != nil {
			b.Fatal(err)
		}
		size = len(data)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchJobs, "ns/job")
	b.ReportMetric(float64(size), "bytes/batch")
}

// BenchmarkDecodeBatch measures what a worker does per batch: decode and
// validate the envelope, then decode the inputs, as par.ExecBatch does.
func BenchmarkDecodeBatch(b *testing.B) {
	values := benchValues()
	ins, _ := Marshal(values)
	data, err := Marshal(&Batch{ID: 1, Task: "square", First: 0, Attempt: 1, Inputs: ins})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		var got Batch
		if err := Unmarshal(data, &got); err != nil {
			b.Fatal(err)
		}
		if err := got.Validate(); err != nil {
			b.Fatal(err)
		}
		vs := make([]float64, got.Len())
		if err := UnmarshalSlice(got.Inputs, vs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchJobs, "ns/job")
}

// BenchmarkResults measures a batch's results both ways: the worker
// encodes the outputs as one array and the envelope, and the driver
// decodes and validates the envelope and decodes the outputs.
func BenchmarkResults(b *testing.B) {
	values := benchValues()
	b.ReportAllocs()
	for b.Loop() {
		outs, err := Marshal(values)
		if err != nil {
			b.Fatal(err)
		}
		data, err := Marshal(&Results{Batch: 1, Worker: "w", Outputs: outs, Nanos: 1000})
		if err != nil {
			b.Fatal(err)
		}
		var got Results
		if err := Unmarshal(data, &got); err != nil {
			b.Fatal(err)
		}
		if err := got.Validate(); err != nil {
			b.Fatal(err)
		}
		vs := make([]float64, got.Len())
		if err := UnmarshalSlice(got.Outputs, vs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchJobs, "ns/job")
}
