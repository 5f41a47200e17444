package wire

import (
	"bytes"
	"errors"
	"io"
	"math"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

func TestMarshalRoundTrip(t *testing.T) {
	type point struct {
		X, Y float64
		Name string
		Tags map[string]int
	}
	at := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("x", 3600))
	cases := []any{
		int64(-42), uint64(math.MaxUint64), 3.25, math.Inf(-1), "héllo", []byte{0, 1, 2},
		[]float64{1, 2.5, -0.125}, map[string]int{"b": 2, "a": 1},
		point{X: 1, Y: -2, Name: "p", Tags: map[string]int{"z": 26}},
		at,
	}
	for _, in := range cases {
		data, err := Marshal(in)
		if err != nil {
			t.Fatalf("Marshal(%v): %v", in, err)
		}
		out := reflect.New(reflect.TypeOf(in))
		if err := Unmarshal(data, out.Interface()); err != nil {
			t.Fatalf("Unmarshal(%x) into %T: %v", data, in, err)
		}
		if got := out.Elem().Interface(); !reflect.DeepEqual(got, in) {
			if tm, ok := got.(time.Time); !ok || !tm.Equal(at) {
				t.Errorf("round trip of %#v gave %#v", in, got)
			}
		}
	}
}

func TestMarshalDeterministic(t *testing.T) {
	m := map[string]int{}
	for i := range 100 {
		m[strings.Repeat("k", i%7)+string(rune('a'+i%26))] = i
	}
	first, err := Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		again, _ := Marshal(m)
		if !bytes.Equal(first, again) {
			t.Fatal("two encodings of one map differ")
		}
	}
	// Shortest float: 1.5 fits half precision.
	if b, _ := Marshal(1.5); len(b) != 3 {
		t.Errorf("Marshal(1.5) = %x, want a 3-byte half float", b)
	}
}

// TestMarshalRefusesWhatUnmarshalRefuses checks that values the far side
// would reject are reported by Marshal instead.
func TestMarshalRefusesWhatUnmarshalRefuses(t *testing.T) {
	huge := new(big.Int).Lsh(big.NewInt(1), 100)
	var deep any = 1
	for range MaxNestedLevels + 1 {
		deep = []any{deep}
	}
	for name, v := range map[string]any{
		"bignum":     huge,
		"tag":        cbor.Tag{Number: 100, Content: 1},
		"deep":       deep,
		"long array": make([]bool, MaxArrayElements+1),
		"channel":    make(chan int),
	} {
		if _, err := Marshal(v); !errors.Is(err, ErrEncode) {
			t.Errorf("Marshal(%s) error = %v, want ErrEncode", name, err)
		}
	}
	if b, err := Marshal(big.NewInt(-5)); err != nil {
		t.Errorf("Marshal(small big.Int): %v", err)
	} else if b[0] != 0x24 {
		t.Errorf("Marshal(small big.Int) = %x, want a plain integer", b)
	}
}

func TestUnmarshalHostile(t *testing.T) {
	deep := bytes.Repeat([]byte{0x81}, 1000) // [[[[...
	deep = append(deep, 0x00)
	cases := map[string][]byte{
		"empty":               {},
		"truncated uint":      {0x1b, 0, 0},
		"trailing data":       {0x01, 0x02},
		"deep nesting":        deep,
		"huge array count":    {0x9b, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x01},
		"array count > limit": {0x9a, 0x00, 0x20, 0x00, 0x00, 0x01},
		"huge map count":      {0xbb, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		"huge byte string":    {0x5b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00},
		"overflowing length":  {0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00},
		"indefinite array":    {0x9f, 0x01, 0xff},
		"indefinite string":   {0x5f, 0x41, 0x00, 0xff},
		"tag":                 {0xd8, 0x64, 0x01},
		"bignum tag":          {0xc2, 0x41, 0x01},
		"duplicate map key":   {0xa2, 0x01, 0x01, 0x01, 0x02},
		"invalid utf-8":       {0x62, 0xff, 0xfe},
		"reserved info":       {0x1c},
		"lone break":          {0xff},
	}
	for name, data := range cases {
		for _, dst := range []any{new(any), new(Batch), new(Results), new([]int), new(map[int]int)} {
			var err error
			allocs := testing.AllocsPerRun(1, func() { err = Unmarshal(data, dst) })
			if !errors.Is(err, ErrDecode) {
				t.Errorf("%s into %T: error = %v, want ErrDecode", name, dst, err)
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("%s into %T: error %v matches an end-of-stream error", name, dst, err)
			}
			if allocs > 20 {
				t.Errorf("%s into %T: %v allocations", name, dst, allocs)
			}
		}
	}
}

func TestUnmarshalCopiesBytes(t *testing.T) {
	data, _ := Marshal([]byte("input"))
	var out []byte
	if err := Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	for i := range data {
		data[i] = 0
	}
	if string(out) != "input" {
		t.Errorf("decoded bytes share memory with the input: %q", out)
	}
}

// TestAppendMarshal appends to a buffer: the bytes are Marshal's, after
// what the buffer held, for the fast kinds and the codec's alike.
func TestAppendMarshal(t *testing.T) {
	for _, v := range []any{[]float64{1.5, -2}, []bool{true}, map[string]int{"a": 1}, "text"} {
		want, err := Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := AppendMarshal([]byte("pre"), v)
		if err != nil || !bytes.Equal(got, append([]byte("pre"), want...)) {
			t.Errorf("AppendMarshal(%v) = %x, %v; want pre+%x", v, got, err, want)
		}
	}
	if got, err := AppendMarshal([]byte("pre"), make(chan int)); err == nil || string(got) != "pre" {
		t.Errorf("AppendMarshal(chan) = %q, %v; want the buffer unchanged and an error", got, err)
	}
}

// TestUnmarshalFirst takes apart an envelope followed by a payload.
func TestUnmarshalFirst(t *testing.T) {
	env, _ := Marshal(map[string]int{"n": 2})
	payload, _ := Marshal([]int{1, 2})
	data := append(env, payload...)
	var m map[string]int
	rest, err := UnmarshalFirst(data, &m)
	if err != nil || m["n"] != 2 || !bytes.Equal(rest, payload) || &rest[0] != &data[len(env)] {
		t.Fatalf("UnmarshalFirst = %v, %x, %v; want the envelope and the payload in place", m, rest, err)
	}
	if _, err := UnmarshalFirst([]byte{0xa1}, &m); !errors.Is(err, ErrDecode) {
		t.Errorf("truncated envelope: %v, want ErrDecode", err)
	}
}
