package wire

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"slices"

	"github.com/x448/float16"
)

// Slices of Go's fixed-size numbers and of bools are what batches of tiny
// jobs are made of (a batch of square roots is one []float64), and the
// reflection-driven codec spends about 40 ns on each of their elements.
// marshalFast and unmarshalFast handle them without reflection, in a few
// nanoseconds an element. marshalFast writes the very bytes encMode would
// (core deterministic form, shortest floats); unmarshalFast decodes the
// subset of encodings it recognises to the values decMode would, and
// leaves everything else, errors included, to decMode.

// marshalFast encodes v if it is a slice of a fixed-size number kind or of
// bool, no longer than MaxArrayElements; ok is false for any other v.
func marshalFast(v any) (data []byte, ok bool) { return appendFast(nil, v) }

// appendFast is marshalFast appending to dst.
func appendFast(dst []byte, v any) (data []byte, ok bool) {
	switch s := v.(type) {
	case []float64:
		return appendSlice(dst, s, 9, appendFloat64)
	case []float32:
		return appendSlice(dst, s, 5, appendFloat32)
	case []int:
		return appendSlice(dst, s, 9, appendInt)
	case []int64:
		return appendSlice(dst, s, 9, appendInt)
	case []int32:
		return appendSlice(dst, s, 5, appendInt)
	case []int16:
		return appendSlice(dst, s, 3, appendInt)
	case []int8:
		return appendSlice(dst, s, 2, appendInt)
	case []uint:
		return appendSlice(dst, s, 9, appendUint)
	case []uint64:
		return appendSlice(dst, s, 9, appendUint)
	case []uint32:
		return appendSlice(dst, s, 5, appendUint)
	case []uint16:
		return appendSlice(dst, s, 3, appendUint)
	case []bool:
		return appendSlice(dst, s, 1, appendBool)
	}
	// []uint8 is []byte, a byte string: encMode's business.
	return nil, false
}

// appendSlice appends s encoded as an array (nil as null) with put, whose
// items take at most size bytes. An array longer than MaxArrayElements is
// left to encMode, whose output Marshal then refuses with the reason.
func appendSlice[T any](dst []byte, s []T, size int, put func([]byte, T) []byte) ([]byte, bool) {
	switch {
	case len(s) > MaxArrayElements:
		return nil, false
	case s == nil:
		return append(dst, 0xf6), true
	}
	b := appendHead(slices.Grow(dst, 9+size*len(s)), 4, uint64(len(s)))
	for _, x := range s {
		b = put(b, x)
	}
	return b, true
}

func appendInt[T int | int64 | int32 | int16 | int8](b []byte, x T) []byte {
	if x < 0 {
		return appendHead(b, 1, uint64(-1-int64(x)))
	}
	return appendHead(b, 0, uint64(x))
}

func appendUint[T uint | uint64 | uint32 | uint16](b []byte, x T) []byte {
	return appendHead(b, 0, uint64(x))
}

func appendBool(b []byte, x bool) []byte {
	if x {
		return append(b, 0xf5)
	}
	return append(b, 0xf4)
}

// appendFloat64 appends x in its shortest exact form, NaN as the half
// 0x7e00 and the infinities as halves, as encMode does.
func appendFloat64(b []byte, x float64) []byte {
	f32 := float32(x)
	switch {
	case x != x:
		return append(b, 0xf9, 0x7e, 0x00)
	case float64(f32) != x:
		return binary.BigEndian.AppendUint64(append(b, 0xfb), math.Float64bits(x))
	}
	return appendFloat32(b, f32)
}

// appendFloat32 appends x as a half if that is exact, else as a single.
func appendFloat32(b []byte, x float32) []byte {
	switch {
	case x != x:
		return append(b, 0xf9, 0x7e, 0x00)
	case math.IsInf(float64(x), 1):
		return append(b, 0xf9, 0x7c, 0x00)
	case math.IsInf(float64(x), -1):
		return append(b, 0xf9, 0xfc, 0x00)
	}
	exact := false
	var f16 float16.Float16
	switch float16.PrecisionFromfloat32(x) {
	case float16.PrecisionExact:
		f16, exact = float16.Fromfloat32(x), true
	case float16.PrecisionUnknown:
		f16 = float16.Fromfloat32(x)
		exact = f16.Float32() == x
	}
	if exact {
		return binary.BigEndian.AppendUint16(append(b, 0xf9), f16.Bits())
	}
	return binary.BigEndian.AppendUint32(append(b, 0xfa), math.Float32bits(x))
}

// unmarshalFast decodes data into v if v points to a slice marshalFast
// handles and data is a definite-length array whose items all have the
// forms it recognises for that element type; ok is false otherwise, and v
// is untouched.
func unmarshalFast(data []byte, v any) (ok bool) {
	switch p := v.(type) {
	case *[]float64:
		return decodeSlice(data, p, floatItem[float64])
	case *[]float32:
		return decodeSlice(data, p, func(data []byte, off int) (float32, int, bool) {
			if off < len(data) && data[off] == 0xfb {
				return 0, 0, false // a double may not fit: decMode decides
			}
			return floatItem[float32](data, off)
		})
	case *[]int:
		return decodeSlice(data, p, intItem[int](math.MinInt, math.MaxInt))
	case *[]int64:
		return decodeSlice(data, p, intItem[int64](math.MinInt64, math.MaxInt64))
	case *[]int32:
		return decodeSlice(data, p, intItem[int32](math.MinInt32, math.MaxInt32))
	case *[]int16:
		return decodeSlice(data, p, intItem[int16](math.MinInt16, math.MaxInt16))
	case *[]int8:
		return decodeSlice(data, p, intItem[int8](math.MinInt8, math.MaxInt8))
	case *[]uint:
		return decodeSlice(data, p, uintItem[uint](math.MaxUint))
	case *[]uint64:
		return decodeSlice(data, p, uintItem[uint64](math.MaxUint64))
	case *[]uint32:
		return decodeSlice(data, p, uintItem[uint32](math.MaxUint32))
	case *[]uint16:
		return decodeSlice(data, p, uintItem[uint16](math.MaxUint16))
	case *[]bool:
		return decodeSlice(data, p, boolItem)
	}
	return false
}

func boolItem(data []byte, off int) (bool, int, bool) {
	if off >= len(data) || data[off]&^1 != 0xf4 {
		return false, 0, false
	}
	return data[off] == 0xf5, off + 1, true
}

// decodeSlice decodes data, an array of items that item decodes, into *p.
func decodeSlice[T any](data []byte, p *[]T, item func(data []byte, off int) (T, int, bool)) bool {
	n, ok := fastHead(data)
	if !ok || p == nil {
		return false
	}
	s := make([]T, n)
	if !decodeItems(data, s, item) {
		return false
	}
	*p = s
	return true
}

// decodeInto decodes data, an array of len(s) items that item decodes,
// into s.
func decodeInto[T any](data []byte, s []T, item func(data []byte, off int) (T, int, bool)) bool {
	n, ok := fastHead(data)
	return ok && n == len(s) && decodeItems(data, s, item)
}

// fastHead returns the length of the array data, if it is one within the
// limits. Every item takes at least one byte: a count beyond the bytes
// left is refused before anything is allocated.
func fastHead(data []byte) (int, bool) {
	if len(data) == 0 || data[0]>>5 != 4 {
		return 0, false
	}
	n, off, err := head(data, 0)
	if err != nil || n > MaxArrayElements || n > uint64(len(data)-off) {
		return 0, false
	}
	return int(n), true
}

// decodeItems decodes the items of the array data into s, which has as
// many elements.
func decodeItems[T any](data []byte, s []T, item func(data []byte, off int) (T, int, bool)) bool {
	_, off, _ := head(data, 0)
	for i := range s {
		var ok bool
		if s[i], off, ok = item(data, off); !ok {
			return false
		}
	}
	return off == len(data)
}

// floatItem decodes a half, single or double.
func floatItem[T float32 | float64](data []byte, off int) (T, int, bool) {
	if off >= len(data) {
		return 0, 0, false
	}
	rest := data[off+1:]
	switch data[off] {
	case 0xf9:
		if len(rest) >= 2 {
			return T(float16.Frombits(binary.BigEndian.Uint16(rest)).Float32()), off + 3, true
		}
	case 0xfa:
		if len(rest) >= 4 {
			return T(math.Float32frombits(binary.BigEndian.Uint32(rest))), off + 5, true
		}
	case 0xfb:
		if len(rest) >= 8 {
			return T(math.Float64frombits(binary.BigEndian.Uint64(rest))), off + 9, true
		}
	}
	return 0, 0, false
}

// intItem returns a decoder of integers between lo and hi.
func intItem[T int | int64 | int32 | int16 | int8](lo, hi int64) func([]byte, int) (T, int, bool) {
	return func(data []byte, off int) (T, int, bool) {
		if off >= len(data) {
			return 0, 0, false
		}
		major := data[off] >> 5
		if major > 1 {
			return 0, 0, false
		}
		arg, next, err := head(data, off)
		if err != nil || arg > math.MaxInt64 {
			return 0, 0, false
		}
		x := int64(arg)
		if major == 1 {
			x = -1 - x
		}
		if x < lo || x > hi {
			return 0, 0, false
		}
		return T(x), next, true
	}
}

// uintItem returns a decoder of unsigned integers up to hi.
func uintItem[T uint | uint64 | uint32 | uint16](hi uint64) func([]byte, int) (T, int, bool) {
	return func(data []byte, off int) (T, int, bool) {
		if off >= len(data) || data[off]>>5 != 0 {
			return 0, 0, false
		}
		arg, next, err := head(data, off)
		if err != nil || arg > hi {
			return 0, 0, false
		}
		return T(arg), next, true
	}
}

// UnmarshalSlice decodes the CBOR array data into dst, which must have
// exactly as many elements as the array has items: a batch's results go
// straight where the caller wants them. Slices of numbers and bools are
// decoded in place; others through Unmarshal and a copy. On error, dst
// may have been partly written.
func UnmarshalSlice[T any](data []byte, dst []T) error {
	if unmarshalInto(data, any(dst)) {
		return nil
	}
	var v []T
	if err := Unmarshal(data, &v); err != nil {
		return err
	}
	if len(v) != len(dst) {
		return fmt.Errorf("%w: %d items, want %d", ErrDecode, len(v), len(dst))
	}
	copy(dst, v)
	return nil
}

// unmarshalInto is unmarshalFast for a slice to fill in place.
func unmarshalInto(data []byte, dst any) bool {
	switch s := dst.(type) {
	case []float64:
		return decodeInto(data, s, floatItem[float64])
	case []int:
		return decodeInto(data, s, intItem[int](math.MinInt, math.MaxInt))
	case []int64:
		return decodeInto(data, s, intItem[int64](math.MinInt64, math.MaxInt64))
	case []bool:
		return decodeInto(data, s, boolItem)
	}
	return unmarshalIntoCopy(data, dst)
}

// unmarshalIntoCopy handles the other kinds unmarshalFast knows, through
// a new slice.
func unmarshalIntoCopy(data []byte, dst any) bool {
	v := reflect.ValueOf(dst)
	p := reflect.New(v.Type())
	if !unmarshalFast(data, p.Interface()) || p.Elem().Len() != v.Len() {
		return false
	}
	reflect.Copy(v, p.Elem())
	return true
}
