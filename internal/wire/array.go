package wire

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// SplitArray returns the encoded items of the CBOR array data, each a
// sub-slice of data (nothing is copied). It lets a sender encode a batch of
// values with one Marshal and still address each value alone: encoding
// every value apart costs several times more. Only the structure is
// checked (heads, lengths, nesting up to MaxNestedLevels, no indefinite
// lengths); Unmarshal checks each item's content.
func SplitArray(data []byte) ([][]byte, error) {
	n, off, err := arrayHead(data)
	if err != nil {
		return nil, err
	}
	items := make([][]byte, n)
	for i := range items {
		end, err := skip(data, off, 1)
		if err != nil {
			return nil, err
		}
		items[i] = data[off:end:end]
		off = end
	}
	if off != len(data) {
		return nil, fmt.Errorf("%w: %d bytes after the array", ErrDecode, len(data)-off)
	}
	return items, nil
}

// CountArray checks the structure of the CBOR array data as SplitArray
// does and returns its number of items, without allocating.
func CountArray(data []byte) (int, error) {
	n, off, err := arrayHead(data)
	if err != nil {
		return 0, err
	}
	for range n {
		if off, err = skip(data, off, 1); err != nil {
			return 0, err
		}
	}
	if off != len(data) {
		return 0, fmt.Errorf("%w: %d bytes after the array", ErrDecode, len(data)-off)
	}
	return int(n), nil
}

// ArrayLen returns the number of items the CBOR array data declares,
// checked against the limits and the bytes left (every item takes at
// least one), without reading the items: a decoder that sizes its slice
// from it finds a bad item itself.
func ArrayLen(data []byte) (int, error) {
	n, _, err := arrayHead(data)
	return int(n), err
}

// Nulls returns a CBOR array of n nulls: the outputs of n jobs that
// failed before any could run.
func Nulls(n int) []byte {
	return JoinArray(slices.Repeat([][]byte{{0xf6}}, n))
}

// arrayHead decodes the head of the array data: its item count, within
// the limits and no more than the bytes left, and where its items start.
func arrayHead(data []byte) (n uint64, off int, err error) {
	n, off, err = head(data, 0)
	if err != nil {
		return 0, 0, err
	}
	if data[0]>>5 != 4 {
		return 0, 0, fmt.Errorf("%w: not an array", ErrDecode)
	}
	if n > uint64(len(data)-off) || n > MaxArrayElements {
		return 0, 0, fmt.Errorf("%w: array of %d items in %d bytes", ErrDecode, n, len(data))
	}
	return n, off, nil
}

// JoinArray encodes items, each one encoded CBOR value, as a CBOR array:
// the inverse of SplitArray, so that a batch of values decodes with one
// Unmarshal.
func JoinArray(items [][]byte) []byte {
	size := 9
	for _, it := range items {
		size += len(it)
	}
	out := appendHead(make([]byte, 0, size), 4, uint64(len(items)))
	for _, it := range items {
		out = append(out, it...)
	}
	return out
}

func appendHead(b []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(b, m|byte(n))
	case n <= 0xff:
		return append(b, m|24, byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(b, m|25), uint16(n))
	case n <= 0xffffffff:
		return binary.BigEndian.AppendUint32(append(b, m|26), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, m|27), n)
}

// head decodes the item head at off: its argument and where the item's
// content starts.
func head(data []byte, off int) (arg uint64, next int, err error) {
	if off >= len(data) {
		return 0, 0, fmt.Errorf("%w: truncated", ErrDecode)
	}
	info := data[off] & 0x1f
	off++
	var size int
	switch {
	case info < 24:
		return uint64(info), off, nil
	case info == 24:
		size = 1
	case info == 25:
		size = 2
	case info == 26:
		size = 4
	case info == 27:
		size = 8
	default:
		return 0, 0, fmt.Errorf("%w: indefinite length or reserved head %#x", ErrDecode, data[off-1])
	}
	if len(data)-off < size {
		return 0, 0, fmt.Errorf("%w: truncated", ErrDecode)
	}
	for _, c := range data[off : off+size] {
		arg = arg<<8 | uint64(c)
	}
	return arg, off + size, nil
}

// skip returns the end of the item at off, nested depth levels deep.
func skip(data []byte, off, depth int) (int, error) {
	if depth > MaxNestedLevels {
		return 0, fmt.Errorf("%w: nested deeper than %d", ErrDecode, MaxNestedLevels)
	}
	if off >= len(data) {
		return 0, fmt.Errorf("%w: truncated", ErrDecode)
	}
	major := data[off] >> 5
	arg, next, err := head(data, off)
	if err != nil {
		return 0, err
	}
	rest := uint64(len(data) - next)
	switch major {
	case 0, 1, 7: // integers, floats and simple values: the head is all
		return next, nil
	case 2, 3: // byte and text strings
		if arg > rest {
			return 0, fmt.Errorf("%w: string of %d bytes in %d", ErrDecode, arg, rest)
		}
		return next + int(arg), nil
	case 6: // a tag and its item
		return skip(data, next, depth+1)
	}
	items := arg // arrays: arg items; maps: arg pairs
	if major == 5 {
		if arg > rest/2 {
			return 0, fmt.Errorf("%w: map of %d pairs in %d bytes", ErrDecode, arg, rest)
		}
		items = 2 * arg
	}
	if items > rest {
		return 0, fmt.Errorf("%w: %d items in %d bytes", ErrDecode, items, rest)
	}
	for range items {
		if next, err = skip(data, next, depth+1); err != nil {
			return 0, err
		}
	}
	return next, nil
}
