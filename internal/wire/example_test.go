package wire_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/par-project/par/internal/wire"
)

// A driver sends a batch over a pipe; the worker reads, validates and runs
// it, and answers with results.
func Example() {
	var pipe bytes.Buffer

	// Driver side: the inputs travel as one array.
	inputs, _ := wire.Marshal([]float64{1.5, 3})
	batch := wire.Batch{ID: 1, Task: "square", First: 40, Attempt: 1, Inputs: inputs}
	w := wire.NewWriter(&pipe)
	w.Encode(&batch)
	w.Flush()

	// Worker side.
	r := wire.NewReader(&pipe, 0)
	var got wire.Batch
	if err := r.Decode(&got); err != nil {
		fmt.Println(err)
		return
	}
	if err := got.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	xs := make([]float64, got.Len())
	wire.UnmarshalSlice(got.Inputs, xs)
	for k, x := range xs {
		xs[k] = x * x
	}
	outputs, _ := wire.Marshal(xs)
	results := wire.Results{Batch: got.ID, Worker: "example", First: got.First, Outputs: outputs}

	// Driver side again.
	ys := make([]float64, results.Len())
	wire.UnmarshalSlice(results.Outputs, ys)
	for k, y := range ys {
		fmt.Println(results.Index(k), y)
	}
	// Output:
	// 40 2.25
	// 41 9
}

func ExampleReader() {
	var stream bytes.Buffer
	w := wire.NewWriter(&stream)
	w.WriteFrame([]byte("one"))
	w.WriteFrame([]byte("two"))
	w.Flush()

	r := wire.NewReader(&stream, 0)
	for {
		p, err := r.ReadFrame()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s\n", p)
	}
	// Output:
	// one
	// two
}

func ExampleReader_tooLarge() {
	var stream bytes.Buffer
	w := wire.NewWriter(&stream)
	w.WriteFrame(make([]byte, 100))
	w.Flush()

	_, err := wire.NewReader(&stream, 10).ReadFrame()
	fmt.Println(errors.Is(err, wire.ErrFrameTooLarge))
	// Output:
	// true
}

func ExampleWriter() {
	var stream bytes.Buffer
	w := wire.NewWriter(&stream)
	w.WriteFrame([]byte("hi"))
	fmt.Println(stream.Len()) // nothing yet: writes are buffered
	w.Flush()
	fmt.Printf("% x\n", stream.Bytes())
	// Output:
	// 0
	// 00 00 00 02 68 69
}

func ExampleMarshal() {
	b, _ := wire.Marshal(map[string]any{"b": 1.5, "a": []int{1, 2}})
	fmt.Printf("% x\n", b)
	var back map[string]any
	fmt.Println(wire.Unmarshal(b, &back), back["b"])
	// Output:
	// a2 61 61 82 01 02 61 62 f9 3e 00
	// <nil> 1.5
}

func ExampleUnmarshal() {
	// An array header that promises 2^32 elements, followed by one.
	hostile := []byte{0x9b, 0, 0, 0, 1, 0, 0, 0, 0, 0x01}
	var v []int
	err := wire.Unmarshal(hostile, &v)
	fmt.Println(errors.Is(err, wire.ErrDecode))
	// Output:
	// true
}

func ExampleBatch_Index() {
	b := wire.Batch{First: 10, Inputs: []byte{0x82, 0x00, 0x00}} // two jobs
	fmt.Println(b.Index(0), b.Index(1))
	b.Indexes = []int64{3, 8} // a retry of two scattered jobs
	fmt.Println(b.Index(0), b.Index(1))
	// Output:
	// 10 11
	// 3 8
}

func ExampleBatch_Validate() {
	b := wire.Batch{ID: 5, Task: "square", Inputs: []byte{0x81, 0x01}} // Attempt left at 0
	err := b.Validate()
	fmt.Println(errors.Is(err, wire.ErrInvalid))
	fmt.Println(err)
	// Output:
	// true
	// wire: invalid envelope: batch 5: attempt 0, want 1 or more
}

func ExampleResults_Validate() {
	rs := wire.Results{Batch: 5, Outputs: []byte{0x81, 0xf6}, Errs: []wire.JobError{{At: 1, Err: wire.Error{Kind: wire.KindJob}}}}
	fmt.Println(rs.Validate())
	// Output:
	// wire: invalid envelope: results of batch 5: error of result 1 out of order or past 1 results
}

func ExampleResults_Err() {
	outputs, _ := wire.Marshal([]any{"ok", nil})
	rs := wire.Results{Batch: 5, First: 7, Outputs: outputs, Errs: []wire.JobError{{At: 1, Err: wire.Error{Kind: wire.KindTimeout}}}}
	if err := rs.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	for k := range rs.Len() {
		fmt.Println(rs.Index(k), rs.Err(k))
	}
	// Output:
	// 7 <nil>
	// 8 timeout
}

func ExampleError() {
	e := &wire.Error{Kind: wire.KindPanic, Msg: "index out of range", Stack: "goroutine 7 [running]:"}
	var err error = e
	fmt.Println(err)
	// Output:
	// panic: index out of range
}
