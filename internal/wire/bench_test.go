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

// BenchmarkEncodeBatch measures what a driver does per batch: encode each
// input, then the envelope.
func BenchmarkEncodeBatch(b *testing.B) {
	values := benchValues()
	b.ReportAllocs()
	var size int
	for b.Loop() {
		batch := Batch{ID: 1, Task: "square", First: 0, Attempt: 1, Inputs: make([][]byte, len(values))}
		for k, v := range values {
			in, err := Marshal(v)
			if err != nil {
				b.Fatal(err)
			}
			batch.Inputs[k] = in
		}
		data, err := Marshal(&batch)
		if err != nil {
			b.Fatal(err)
		}
		size = len(data)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchJobs, "ns/job")
	b.ReportMetric(float64(size), "bytes/batch")
}

// BenchmarkDecodeBatch measures what a worker does per batch: decode and
// validate the envelope, then decode each input.
func BenchmarkDecodeBatch(b *testing.B) {
	values := benchValues()
	batch := Batch{ID: 1, Task: "square", First: 0, Attempt: 1, Inputs: make([][]byte, len(values))}
	for k, v := range values {
		batch.Inputs[k], _ = Marshal(v)
	}
	data, err := Marshal(&batch)
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
		for _, in := range got.Inputs {
			var v float64
			if err := Unmarshal(in, &v); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchJobs, "ns/job")
}
