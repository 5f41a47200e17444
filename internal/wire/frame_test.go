package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"testing"
	"testing/iotest"
)

func frame(n uint32, payload []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, n)
	return append(b, payload...)
}

func TestFrameRoundTrip(t *testing.T) {
	payloads := [][]byte{
		{}, []byte("a"), bytes.Repeat([]byte("xy"), 40000), // larger than the bufio buffers
		make([]byte, 3*growStep+7), []byte("after a big one"),
	}
	var stream bytes.Buffer
	w := NewWriter(&stream)
	for _, p := range payloads {
		if err := w.WriteFrame(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	// One byte at a time exercises every short read.
	r := NewReader(iotest.OneByteReader(&stream), 0)
	for i, want := range payloads {
		got, err := r.ReadFrame()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("frame %d: got %d bytes, want %d", i, len(got), len(want))
		}
	}
	for range 2 {
		if _, err := r.ReadFrame(); err != io.EOF {
			t.Fatalf("at end: error = %v, want io.EOF", err)
		}
	}
}

func TestEncodeDecode(t *testing.T) {
	var stream bytes.Buffer
	w := NewWriter(&stream)
	in := Batch{ID: 7, Task: "square", Inputs: []byte{0x82, 0x01, 0x02}, Attempt: 1}
	if err := w.Encode(&in); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFrame([]byte{0xff}); err != nil { // not CBOR
		t.Fatal(err)
	}
	if err := w.Encode(&in); err != nil {
		t.Fatal(err)
	}
	if err := w.Encode(make(chan int)); !errors.Is(err, ErrEncode) {
		t.Fatalf("Encode(chan) error = %v, want ErrEncode", err)
	}
	w.Flush()

	r := NewReader(&stream, 0)
	var first, second Batch
	if err := r.Decode(&first); err != nil {
		t.Fatal(err)
	}
	if err := r.Decode(&Batch{}); !errors.Is(err, ErrDecode) {
		t.Fatalf("bad frame: error = %v, want ErrDecode", err)
	}
	if err := r.Decode(&second); err != nil {
		t.Fatalf("after a bad frame the stream should stay in step: %v", err)
	}
	// The decoded inputs must not alias the Reader's reused buffer.
	if first.Inputs[1] != 0x01 || second.Inputs[2] != 0x02 {
		t.Errorf("inputs changed: %v %v", first.Inputs, second.Inputs)
	}
	if err := r.Decode(&second); err != io.EOF {
		t.Errorf("at end: error = %v, want io.EOF", err)
	}
}

func TestReadFrameTruncated(t *testing.T) {
	for name, data := range map[string][]byte{
		"half a header":    {0, 0},
		"no payload":       frame(5, nil),
		"part of payload":  frame(5, []byte("abc")),
		"part of big one":  frame(1<<20, make([]byte, 3*growStep+1)),
		"header then half": append(frame(1, []byte("a")), 0),
	} {
		r := NewReader(bytes.NewReader(data), 0)
		var err error
		for err == nil {
			_, err = r.ReadFrame()
		}
		if err != io.ErrUnexpectedEOF {
			t.Errorf("%s: error = %v, want io.ErrUnexpectedEOF", name, err)
		}
		if _, again := r.ReadFrame(); again != err {
			t.Errorf("%s: error not sticky: then %v", name, again)
		}
	}
}

func TestReadFrameTooLarge(t *testing.T) {
	for _, tc := range []struct {
		max  int
		size uint32
	}{
		{0, MaxFrame + 1}, {0, 1 << 31}, {0, 1<<32 - 1}, {10, 11}, {1 << 40, MaxFrame + 1},
	} {
		r := NewReader(bytes.NewReader(frame(tc.size, []byte("tiny"))), tc.max)
		if _, err := r.ReadFrame(); err != ErrFrameTooLarge {
			t.Errorf("max %d, frame %d: error = %v, want ErrFrameTooLarge", tc.max, tc.size, err)
		}
		if _, err := r.ReadFrame(); err != ErrFrameTooLarge {
			t.Errorf("max %d, frame %d: error not sticky: %v", tc.max, tc.size, err)
		}
	}
	// Refusing must not allocate at all.
	data := frame(1<<31, nil)
	src := bytes.NewReader(data)
	r := NewReader(src, 0)
	allocs := testing.AllocsPerRun(100, func() {
		src.Reset(data)
		r.r.Reset(src)
		r.err = nil
		if _, err := r.ReadFrame(); err != ErrFrameTooLarge {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("refusing an oversize frame: %v allocations, want 0", allocs)
	}
}

// TestReadFrameLiarCostsLittle: a peer that declares a frame just under the
// limit and then hangs up costs memory in proportion to what it sent.
func TestReadFrameLiarCostsLittle(t *testing.T) {
	data := frame(MaxFrame, make([]byte, 1000))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	r := NewReader(bytes.NewReader(data), 0)
	if _, err := r.ReadFrame(); err != io.ErrUnexpectedEOF {
		t.Fatalf("error = %v, want io.ErrUnexpectedEOF", err)
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
		t.Errorf("allocated %d bytes for a 1000-byte lie", got)
	}
}

func TestReadFrameReusesBuffer(t *testing.T) {
	payload := bytes.Repeat([]byte{7}, 1000)
	var data []byte
	for range 200 {
		data = append(data, frame(uint32(len(payload)), payload)...)
	}
	src := bytes.NewReader(data)
	r := NewReader(src, 0)
	r.ReadFrame()
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := r.ReadFrame(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("steady state: %v allocations per frame, want 0", allocs)
	}
}

func TestReadFrameDropsHugeBuffer(t *testing.T) {
	big := make([]byte, keepBuf+1)
	data := append(frame(uint32(len(big)), big), frame(1, []byte("s"))...)
	r := NewReader(bytes.NewReader(data), 0)
	r.ReadFrame()
	if p, err := r.ReadFrame(); err != nil || string(p) != "s" {
		t.Fatalf("got %q, %v", p, err)
	}
	if cap(r.buf) > keepBuf {
		t.Errorf("kept a %d-byte buffer after a small frame", cap(r.buf))
	}
}

func TestReadFrameError(t *testing.T) {
	boom := errors.New("boom")
	r := NewReader(iotest.ErrReader(boom), 0)
	if _, err := r.ReadFrame(); err != boom {
		t.Errorf("error = %v, want the reader's", err)
	}
}

func TestWriteFrameTooLarge(t *testing.T) {
	var stream bytes.Buffer
	w := NewWriter(&stream)
	if err := w.WriteFrame(make([]byte, MaxFrame+1)); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("error = %v, want ErrFrameTooLarge", err)
	}
	if err := w.WriteFrame([]byte("ok")); err != nil {
		t.Fatalf("writer unusable after a refused frame: %v", err)
	}
	w.Flush()
	if !bytes.Equal(stream.Bytes(), frame(2, []byte("ok"))) {
		t.Errorf("stream = %x", stream.Bytes())
	}
}

func TestWriteFrameError(t *testing.T) {
	boom := errors.New("boom")
	w := NewWriter(failWriter{boom})
	w.WriteFrame(make([]byte, 2*bufSize)) // larger than the buffer: written through
	if err := w.Flush(); err != boom {
		t.Errorf("Flush error = %v, want the writer's", err)
	}
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

// TestFrameParts writes frames in two parts and reads them into buffers
// the caller owns: the bytes are those of one-part frames, and reading
// the next frame leaves the last one's buffer alone.
func TestFrameParts(t *testing.T) {
	var stream bytes.Buffer
	w := NewWriter(&stream)
	if err := w.WriteFrameParts([]byte("head"), []byte("tail")); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFrameParts(nil, []byte("second")); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	want := append(frame(8, []byte("headtail")), frame(6, []byte("second"))...)
	if !bytes.Equal(stream.Bytes(), want) {
		t.Fatalf("stream = %q, want %q", stream.Bytes(), want)
	}
	r := NewReader(&stream, 0)
	mine := make([]byte, 0, 64)
	first, err := r.ReadFrameInto(mine)
	if err != nil || string(first) != "headtail" || &first[0] != &mine[:1][0] {
		t.Fatalf("first frame %q, %v: want it read into the given buffer", first, err)
	}
	second, err := r.ReadFrameInto(nil)
	if err != nil || string(second) != "second" {
		t.Fatalf("second frame %q, %v", second, err)
	}
	if string(first) != "headtail" {
		t.Errorf("reading the next frame overwrote the first: %q", first)
	}
	if err := w.WriteFrameParts(make([]byte, MaxFrame), []byte{1}); !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("oversized two-part frame: %v, want ErrFrameTooLarge", err)
	}
}
