package wire

import (
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// Decoding limits. They bound what a hostile or broken peer can make a
// decoder do; see the package documentation under "Limits".
const (
	// MaxNestedLevels bounds the nesting of arrays and maps.
	MaxNestedLevels = 32
	// MaxArrayElements bounds the length of any one array.
	MaxArrayElements = 1 << 20
	// MaxMapPairs bounds the size of any one map.
	MaxMapPairs = 1 << 20
)

var (
	// ErrDecode is wrapped by every error Unmarshal and Reader.Decode return
	// for bytes that are not an acceptable encoding of the destination.
	ErrDecode = errors.New("wire: cannot decode")
	// ErrEncode is wrapped by every error Marshal returns.
	ErrEncode = errors.New("wire: cannot encode")
)

var (
	encMode = mustEncMode()
	decMode = mustDecMode()
)

func mustEncMode() cbor.EncMode {
	opts := cbor.CoreDetEncOptions()
	// Without tags a time.Time needs a form that keeps nanoseconds and the
	// offset: RFC 3339 text does, and decodes back into time.Time.
	opts.Time = cbor.TimeRFC3339Nano
	opts.TagsMd = cbor.TagsForbidden
	em, err := opts.EncMode()
	if err != nil {
		panic("wire: encoding options: " + err.Error())
	}
	return em
}

func mustDecMode() cbor.DecMode {
	dm, err := cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		MaxNestedLevels:  MaxNestedLevels,
		MaxArrayElements: MaxArrayElements,
		MaxMapPairs:      MaxMapPairs,
		IndefLength:      cbor.IndefLengthForbidden,
		TagsMd:           cbor.TagsForbidden,
		UTF8:             cbor.UTF8RejectInvalid,
	}.DecMode()
	if err != nil {
		panic("wire: decoding options: " + err.Error())
	}
	return dm
}

// Marshal returns the CBOR encoding of v in core deterministic form (RFC 8949
// section 4.2): shortest lengths and floats, map keys sorted, no indefinite
// lengths. Equal values give equal bytes.
//
// Marshal refuses, with an error wrapping ErrEncode, any value that
// Unmarshal would refuse: values that need a CBOR tag (a big.Int outside the
// 64-bit range, cbor.Tag), nesting deeper than MaxNestedLevels, or an array
// or map longer than MaxArrayElements or MaxMapPairs. A value that cannot
// be decoded on the far side is thus reported where it was produced.
// Checking costs one extra pass over the encoded bytes.
func Marshal(v any) ([]byte, error) {
	if b, ok := marshalFast(v); ok {
		return b, nil
	}
	b, err := encMode.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEncode, err)
	}
	if err := decMode.Wellformed(b); err != nil {
		return nil, fmt.Errorf("%w: value exceeds decoding limits: %w", ErrEncode, err)
	}
	return b, nil
}

// AppendMarshal appends the Marshal encoding of v to dst and returns the
// extended buffer: a caller that encodes batch after batch reuses one
// buffer instead of asking the runtime for fresh memory each time. On
// error, dst is returned as it was.
func AppendMarshal(dst []byte, v any) ([]byte, error) {
	if b, ok := appendFast(dst, v); ok {
		return b, nil
	}
	b, err := Marshal(v)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

// UnmarshalFirst decodes the first CBOR item of data into v, as Unmarshal
// does, and returns the bytes after it, which share memory with data: a
// frame that is an envelope followed by a payload (a CBOR sequence, RFC
// 8742) is taken apart without copying the payload. It checks only the
// first item; errors wrap ErrDecode.
func UnmarshalFirst(data []byte, v any) (rest []byte, err error) {
	rest, err = decMode.UnmarshalFirst(data, v)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecode, err)
	}
	return rest, nil
}

// Unmarshal decodes the CBOR item in data into v, which must be a non-nil
// pointer. data must hold exactly one item.
//
// Unmarshal accepts any well-formed encoding, deterministic or not, within
// the limits: it rejects tags, indefinite lengths, duplicate map keys,
// invalid UTF-8 in text, nesting deeper than MaxNestedLevels and arrays or
// maps longer than MaxArrayElements or MaxMapPairs. The whole of data is
// checked before anything is allocated, so a length header that promises
// more items than data holds fails without allocating for them. Decoded
// byte strings never share memory with data.
//
// Every error wraps ErrDecode and nothing else: in particular a short item
// never matches io.EOF or io.ErrUnexpectedEOF, which Reader keeps for the
// end of the stream. On error, v may have been partly written.
func Unmarshal(data []byte, v any) error {
	if unmarshalFast(data, v) {
		return nil
	}
	if err := decMode.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w: %v", ErrDecode, err)
	}
	return nil
}
