package wire

import (
	"bytes"
	"errors"
	"testing"
)

func TestSplitAndJoinArray(t *testing.T) {
	type rec struct {
		A int
		B []string
		C map[string]float64
	}
	values := []any{1.5, -3, "text", []byte{1, 2}, rec{A: 7, B: []string{"x"}, C: map[string]float64{"k": 2}}, nil, true, uint64(1) << 40}
	data, err := Marshal(values)
	if err != nil {
		t.Fatal(err)
	}
	items, err := SplitArray(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != len(values) {
		t.Fatalf("%d items, want %d", len(items), len(values))
	}
	for i, v := range values {
		want, _ := Marshal(v)
		if !bytes.Equal(items[i], want) {
			t.Errorf("item %d = %x, want %x", i, items[i], want)
		}
	}
	if joined := JoinArray(items); !bytes.Equal(joined, data) {
		t.Fatalf("JoinArray = %x, want %x", joined, data)
	}
	for _, n := range []int{0, 23, 24, 255, 256, 70000} {
		xs := make([]float64, n)
		data, _ := Marshal(xs)
		items, err := SplitArray(data)
		if err != nil || len(items) != n || !bytes.Equal(JoinArray(items), data) {
			t.Fatalf("n=%d: %d items, %v", n, len(items), err)
		}
	}
}

func TestSplitArrayRejectsBadInput(t *testing.T) {
	deep := bytes.Repeat([]byte{0x81}, 40)
	for name, data := range map[string][]byte{
		"empty":       {},
		"not array":   {0x01},
		"truncated":   {0x82, 0x01},
		"huge count":  {0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		"long string": {0x81, 0x5a, 0xff, 0xff, 0xff, 0xff},
		"indefinite":  {0x9f, 0x01, 0xff},
		"trailing":    {0x81, 0x01, 0x02},
		"deep":        append(deep, 0x01),
		"huge map":    {0x81, 0xbb, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	} {
		if _, err := SplitArray(data); !errors.Is(err, ErrDecode) {
			t.Errorf("%s: err = %v", name, err)
		}
		if _, err := CountArray(data); !errors.Is(err, ErrDecode) {
			t.Errorf("%s: CountArray err = %v", name, err)
		}
	}
}

func FuzzSplitArray(f *testing.F) {
	for _, v := range []any{[]int{1, 2, 3}, []any{"a", []byte{1}, map[string]int{"x": 1}}, []float64{}} {
		data, _ := Marshal(v)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		items, err := SplitArray(data)
		n, cerr := CountArray(data)
		if (err == nil) != (cerr == nil) || err == nil && n != len(items) {
			t.Fatalf("CountArray says %d, %v; SplitArray %d, %v", n, cerr, len(items), err)
		}
		if err != nil {
			return
		}
		// What splits joins back to the same bytes, whenever the array's
		// head was in its shortest form.
		joined := JoinArray(items)
		if len(joined) == len(data) && !bytes.Equal(joined, data) {
			t.Fatalf("join of split differs: %x vs %x", joined, data)
		}
	})
}

// TestArrayLenAndNulls reads only an array's head, refusing counts the
// bytes cannot hold, and builds the array of n nulls.
func TestArrayLenAndNulls(t *testing.T) {
	nulls := Nulls(3)
	if !bytes.Equal(nulls, []byte{0x83, 0xf6, 0xf6, 0xf6}) {
		t.Fatalf("Nulls(3) = %x", nulls)
	}
	if n, err := ArrayLen(nulls); n != 3 || err != nil {
		t.Fatalf("ArrayLen(%x) = %d, %v", nulls, n, err)
	}
	for _, bad := range [][]byte{nil, {0x01}, {0x85, 0x01}, {0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}} {
		if _, err := ArrayLen(bad); !errors.Is(err, ErrDecode) {
			t.Errorf("ArrayLen(%x): %v, want ErrDecode", bad, err)
		}
	}
}
