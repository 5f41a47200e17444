package wire

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// fastSamples are slices of every kind the fast path handles, with the
// values where encodings change width or meaning.
func fastSamples() []any {
	floats := []float64{0, math.Copysign(0, -1), 1, -1, 0.5, 1.5, 65504, 65505, 65520, -65504,
		5.960464477539063e-08, 6.103515625e-05, 1e-8, 1e-40, math.SmallestNonzeroFloat64,
		math.MaxFloat32, math.MaxFloat64, 1.0 / 3, float64(float32(1.0 / 3)), 5555.5, 3.4e38,
		math.NaN(), math.Inf(1), math.Inf(-1), math.Float64frombits(0x7ff0000000000001)}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		floats = append(floats, math.Float64frombits(r.Uint64()), float64(float32(r.NormFloat64())), float64(r.IntN(1<<20))/64)
	}
	f32 := make([]float32, len(floats))
	for i, x := range floats {
		f32[i] = float32(x)
	}
	ints := []int64{0, 1, -1, 23, 24, -24, -25, 255, 256, -256, -257, 65535, 65536, math.MaxInt32, math.MinInt32,
		math.MaxInt32 + 1, math.MinInt32 - 1, math.MaxInt64, math.MinInt64}
	for range 500 {
		ints = append(ints, int64(r.Uint64()), int64(r.IntN(1000))-500)
	}
	var (
		i32 []int32
		i16 []int16
		i8  []int8
		u   []uint
		u64 []uint64
		u32 []uint32
		u16 []uint16
		is  []int
	)
	for _, x := range ints {
		i32, i16, i8 = append(i32, int32(x)), append(i16, int16(x)), append(i8, int8(x))
		u, u64, u32, u16 = append(u, uint(x)), append(u64, uint64(x)), append(u32, uint32(x)), append(u16, uint16(x))
		is = append(is, int(x))
	}
	return []any{floats, f32, is, ints, i32, i16, i8, u, u64, u32, u16, []bool{true, false, true},
		[]float64{}, []int{}, []float64(nil), []bool(nil), []uint16(nil)}
}

// TestFastMarshalMatchesCodec checks that the fast path writes exactly the
// bytes of the reflection-driven codec, so that equal values still give
// equal bytes whichever path encoded them.
func TestFastMarshalMatchesCodec(t *testing.T) {
	for _, v := range fastSamples() {
		got, ok := marshalFast(v)
		if !ok {
			t.Fatalf("%T: fast path refused it", v)
		}
		want, err := encMode.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%T: fast path wrote\n%x\ncodec wrote\n%x", v, got, want)
		}
	}
	if _, ok := marshalFast([]byte{1, 2}); ok {
		t.Error("[]byte took the fast path; it is a byte string, not an array")
	}
	if _, ok := marshalFast(make([]bool, MaxArrayElements+1)); ok {
		t.Error("an array past the limit took the fast path")
	}
	if _, err := Marshal(make([]bool, MaxArrayElements+1)); err == nil {
		t.Error("Marshal accepted an array past the limit")
	}
}

// TestFastUnmarshalMatchesCodec decodes the samples with both paths.
func TestFastUnmarshalMatchesCodec(t *testing.T) {
	for _, v := range fastSamples() {
		data, err := encMode.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		typ := reflect.TypeOf(v)
		fast, slow := reflect.New(typ), reflect.New(typ)
		if !unmarshalFast(data, fast.Interface()) {
			if len(data) == 1 && data[0] == 0xf6 {
				continue // null is the codec's business
			}
			t.Fatalf("%T: fast path refused %x", v, data)
		}
		if err := decMode.Unmarshal(data, slow.Interface()); err != nil {
			t.Fatal(err)
		}
		if !sameBits(fast.Elem().Interface(), slow.Elem().Interface()) {
			t.Errorf("%T: fast path decoded %v, codec %v", v, fast.Elem(), slow.Elem())
		}
	}
}

// sameBits compares two slices element by element, floats by their bits
// (so that NaNs compare).
func sameBits(a, b any) bool {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	if va.Len() != vb.Len() {
		return false
	}
	for i := range va.Len() {
		x, y := va.Index(i), vb.Index(i)
		switch x.Kind() {
		case reflect.Float32, reflect.Float64:
			if math.Float64bits(x.Float()) != math.Float64bits(y.Float()) {
				return false
			}
		default:
			if x.Interface() != y.Interface() {
				return false
			}
		}
	}
	return true
}

// FuzzFastUnmarshal feeds arbitrary bytes to both paths: whatever the fast
// path accepts, the codec must accept as the same value.
func FuzzFastUnmarshal(f *testing.F) {
	for _, v := range fastSamples() {
		data, _ := encMode.Marshal(v)
		if len(data) > 200 {
			data = data[:200]
		}
		f.Add(data)
	}
	f.Add([]byte{0x9a, 0xff, 0xff, 0xff, 0xff, 0xf9, 0, 0})
	f.Add([]byte{0x82, 0xfb, 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18, 0x01})
	targets := []func() any{
		func() any { return new([]float64) }, func() any { return new([]float32) },
		func() any { return new([]int) }, func() any { return new([]int64) },
		func() any { return new([]int32) }, func() any { return new([]int16) },
		func() any { return new([]int8) }, func() any { return new([]uint) },
		func() any { return new([]uint64) }, func() any { return new([]uint32) },
		func() any { return new([]uint16) }, func() any { return new([]bool) },
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, target := range targets {
			fast, slow := target(), target()
			if !unmarshalFast(data, fast) {
				continue
			}
			if err := decMode.Unmarshal(data, slow); err != nil {
				t.Fatalf("%T: fast path accepted %x, codec refused it: %v", fast, data, err)
			}
			if !sameBits(reflect.ValueOf(fast).Elem().Interface(), reflect.ValueOf(slow).Elem().Interface()) {
				t.Fatalf("%T: %x decoded differently", fast, data)
			}
		}
	})
}

// BenchmarkMarshalFloats and BenchmarkUnmarshalFloats measure a batch of
// 100,000 float64s, the inputs of 100,000 tiny jobs.
func BenchmarkMarshalFloats(b *testing.B) {
	xs := make([]float64, 100_000)
	for i := range xs {
		xs[i] = float64(i) / 7
	}
	for b.Loop() {
		if _, err := Marshal(xs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(xs)), "ns/elem")
}

func BenchmarkUnmarshalFloats(b *testing.B) {
	xs := make([]float64, 100_000)
	for i := range xs {
		xs[i] = float64(i) / 7
	}
	data, _ := Marshal(xs)
	for b.Loop() {
		var ys []float64
		if err := Unmarshal(data, &ys); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(xs)), "ns/elem")
}

func BenchmarkSplitArray(b *testing.B) {
	xs := make([]float64, 100_000)
	for i := range xs {
		xs[i] = float64(i) / 7
	}
	data, _ := Marshal(xs)
	for b.Loop() {
		if _, err := SplitArray(data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(xs)), "ns/elem")
}

// TestUnmarshalSlice decodes every sample in place, and a slice of
// structs through the codec, and refuses a destination of another length.
func TestUnmarshalSlice(t *testing.T) {
	for _, v := range fastSamples() {
		if reflect.ValueOf(v).IsNil() {
			continue
		}
		data, _ := Marshal(v)
		typ := reflect.TypeOf(v)
		n := reflect.ValueOf(v).Len()
		dst := reflect.MakeSlice(typ, n, n)
		if err := unmarshalSliceAny(data, dst.Interface()); err != nil {
			t.Fatalf("%T: %v", v, err)
		}
		ref := reflect.New(typ)
		if err := decMode.Unmarshal(data, ref.Interface()); err != nil {
			t.Fatal(err)
		}
		if !sameBits(dst.Interface(), ref.Elem().Interface()) {
			t.Errorf("%T: decoded in place differently from the codec", v)
		}
		short := reflect.MakeSlice(typ, n+1, n+1)
		if err := unmarshalSliceAny(data, short.Interface()); !errors.Is(err, ErrDecode) {
			t.Errorf("%T into a longer slice: err = %v", v, err)
		}
	}
	type point struct{ X, Y int }
	data, _ := Marshal([]point{{1, 2}, {3, 4}})
	dst := make([]point, 2)
	if err := UnmarshalSlice(data, dst); err != nil || dst[1] != (point{3, 4}) {
		t.Fatalf("structs: %v, %v", dst, err)
	}
	if err := UnmarshalSlice(data, make([]point, 3)); !errors.Is(err, ErrDecode) {
		t.Fatalf("structs into a longer slice: %v", err)
	}
}

// unmarshalSliceAny calls UnmarshalSlice with dst's element type.
func unmarshalSliceAny(data []byte, dst any) error {
	switch s := dst.(type) {
	case []float64:
		return UnmarshalSlice(data, s)
	case []float32:
		return UnmarshalSlice(data, s)
	case []int:
		return UnmarshalSlice(data, s)
	case []int64:
		return UnmarshalSlice(data, s)
	case []int32:
		return UnmarshalSlice(data, s)
	case []int16:
		return UnmarshalSlice(data, s)
	case []int8:
		return UnmarshalSlice(data, s)
	case []uint:
		return UnmarshalSlice(data, s)
	case []uint64:
		return UnmarshalSlice(data, s)
	case []uint32:
		return UnmarshalSlice(data, s)
	case []uint16:
		return UnmarshalSlice(data, s)
	case []bool:
		return UnmarshalSlice(data, s)
	}
	panic("unexpected type")
}
