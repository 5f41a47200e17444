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

func FuzzDecodeBatch(f *testing.F) {
	for _, b := range []Batch{
		validBatch(),
		{Task: "t", Indexes: []int64{4, 0, 9}, Inputs: [][]byte{{0xf6}, {0x61, 0x61}, {0x80}}, Attempt: 3},
	} {
		data, err := Marshal(&b)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte{0xa0})
	f.Add([]byte{0xa1, 0x06, 0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		b := fuzzEnvelope[Batch](t, data)
		if b == nil {
			return
		}
		for k := range b.Len() {
			if b.Index(k) < 0 {
				t.Fatalf("valid batch gives job %d the index %d", k, b.Index(k))
			}
		}
	})
}

func FuzzDecodeResults(f *testing.F) {
	rs := validResults()
	data, err := Marshal(&rs)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte{0xa1, 0x03, 0x81, 0xa1, 0x03, 0xa0})
	f.Add([]byte{0xa1, 0x03, 0x81, 0xa1, 0x03, 0xa1, 0x01, 0x9f})
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzEnvelope[Results](t, data)
	})
}
