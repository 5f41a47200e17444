package wire

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
)

// The fuzz targets check the decoders of outside input: whatever the bytes,
// no panic, only the documented errors, and anything accepted survives a
// round trip unchanged. Seed corpora live in testdata/fuzz.

func FuzzReadFrame(f *testing.F) {
	f.Add([]byte{}, 0)
	f.Add(frame(3, []byte("abc")), 0)
	f.Add(append(frame(0, nil), frame(2, []byte("hi"))...), 16)
	f.Add(frame(1<<31, []byte("x")), 0)
	f.Add(frame(100, []byte("short")), 1000)
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		limit := max
		if limit <= 0 || limit > MaxFrame {
			limit = MaxFrame
		}
		r := NewReader(bytes.NewReader(data), max)
		var again bytes.Buffer
		w := NewWriter(&again)
		for {
			p, err := r.ReadFrame()
			if err != nil {
				if err != io.EOF && err != io.ErrUnexpectedEOF && err != ErrFrameTooLarge {
					t.Fatalf("unexpected error %v", err)
				}
				break
			}
			if len(p) > limit {
				t.Fatalf("frame of %d bytes passed a limit of %d", len(p), limit)
			}
			if err := w.WriteFrame(p); err != nil {
				t.Fatal(err)
			}
		}
		w.Flush()
		// The frames read, written again, are the stream they came from.
		if !bytes.HasPrefix(data, again.Bytes()) {
			t.Fatalf("rewritten frames %x are not a prefix of %x", again.Bytes(), data)
		}
	})
}

// fuzzEnvelope is the shared body of the envelope targets.
func fuzzEnvelope[T any, PT interface {
	*T
	Validate() error
}](t *testing.T, data []byte) *T {
	var first T
	if err := Unmarshal(data, &first); err != nil {
		if !errors.Is(err, ErrDecode) {
			t.Fatalf("decode error %v does not wrap ErrDecode", err)
		}
		return nil
	}
	if err := PT(&first).Validate(); err != nil {
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("validation error %v does not wrap ErrInvalid", err)
		}
		return nil
	}
	enc, err := Marshal(&first)
	if err != nil {
		t.Fatalf("a valid envelope does not encode: %v", err)
	}
	var second T
	if err := Unmarshal(enc, &second); err != nil {
		t.Fatalf("re-encoded envelope %x does not decode: %v", enc, err)
	}
	if err := PT(&second).Validate(); err != nil {
		t.Fatalf("re-encoded envelope does not validate: %v", err)
	}
	if !reflect.DeepEqual(first, second) {
		t.Fatalf("round trip changed\n%+v\ninto\n%+v", first, second)
	}
	if enc2, _ := Marshal(&second); !bytes.Equal(enc, enc2) {
		t.Fatalf("encoding is not deterministic: %x then %x", enc, enc2)
	}
	return &first
}

// fuzzBatchSeeds and fuzzResultsSeeds are the envelopes the decoders are
// seeded with; testdata/fuzz keeps their encodings under the same names.
func fuzzBatchSeeds(t testing.TB) map[string]Batch {
	return map[string]Batch{
		"contiguous":    validBatch(t),
		"minimal":       {Task: "t", Inputs: []byte{0x81, 0x01}, Attempt: 1},
		"retry-indexes": {Task: "t", Indexes: []int64{4, 0, 9}, Inputs: array(t, nil, "a", []int{}), Attempt: 3},
		"refs":          {ID: 9, Task: "t", First: 5, Inputs: array(t, 1, 2), Attempt: 1, Refs: []int{1}},
	}
}

func fuzzResultsSeeds(t testing.TB) map[string]Results {
	return map[string]Results{
		"output-and-panic": validResults(t),
		"minimal":          {Outputs: []byte{0x81, 0x01}},
		"unknown-task": {Batch: 99, Worker: "w", Indexes: []int64{17, 3}, Outputs: array(t, nil, "ok"), Nanos: 12,
			Errs: []JobError{{At: 0, Err: Error{Kind: KindUnknownTask, Msg: "fetch"}}}},
	}
}

func FuzzDecodeBatch(f *testing.F) {
	for _, b := range fuzzBatchSeeds(f) {
		data, err := Marshal(&b)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte{0xa0})
	f.Add([]byte{0xa1, 0x09, 0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0xa3, 0x03, 0x61, 0x74, 0x07, 0x01, 0x09, 0x43, 0x9b, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		b := fuzzEnvelope[Batch](t, data)
		if b == nil {
			return
		}
		n, err := CountArray(b.Inputs)
		if err != nil || n != b.Len() || n == 0 {
			t.Fatalf("valid batch of %d jobs has inputs of %d items (%v)", b.Len(), n, err)
		}
		for k := range b.Len() {
			if b.Index(k) < 0 {
				t.Fatalf("valid batch gives job %d the index %d", k, b.Index(k))
			}
		}
		for _, k := range b.Refs {
			b.Index(k) // in range, or it panics
		}
	})
}

func FuzzDecodeResults(f *testing.F) {
	for _, rs := range fuzzResultsSeeds(f) {
		data, err := Marshal(&rs)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte{0xa1, 0x06, 0x41, 0x80})
	f.Add([]byte{0xa2, 0x06, 0x42, 0x81, 0xf6, 0x07, 0x81, 0xa1, 0x02, 0xa0})
	f.Add([]byte{0xa2, 0x06, 0x42, 0x81, 0xf6, 0x09, 0x81, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		rs := fuzzEnvelope[Results](t, data)
		if rs == nil {
			return
		}
		n, err := CountArray(rs.Outputs)
		if err != nil || n != rs.Len() || n == 0 {
			t.Fatalf("valid results of %d jobs have outputs of %d items (%v)", rs.Len(), n, err)
		}
		failed := 0
		for k := range rs.Len() {
			if rs.Index(k) < 0 {
				t.Fatalf("valid results give result %d the index %d", k, rs.Index(k))
			}
			if e := rs.Err(k); e != nil {
				failed++
				if e.Kind == "" {
					t.Fatalf("result %d has an error without a kind", k)
				}
			}
		}
		if failed != len(rs.Errs) {
			t.Fatalf("%d results have an error, %d errors listed", failed, len(rs.Errs))
		}
	})
}
