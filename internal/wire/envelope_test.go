package wire

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

// array encodes values as one CBOR array, as the engine packs a batch's
// inputs.
func array(t testing.TB, values ...any) []byte {
	t.Helper()
	data, err := Marshal(values)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func validBatch(t testing.TB) Batch {
	return Batch{
		ID: 3, Run: "nightly", Task: "square", First: 10,
		Inputs:  array(t, 1, 2, 3),
		Attempt: 1, TimeoutNanos: 1e9,
	}
}

func TestBatchRoundTrip(t *testing.T) {
	for _, b := range []Batch{
		validBatch(t),
		{Task: "t", Indexes: []int64{4, 0, 9}, Inputs: array(t, nil, "a", []int{}), Attempt: 3, Refs: []int{0, 2}},
	} {
		data, err := Marshal(&b)
		if err != nil {
			t.Fatal(err)
		}
		var got Batch
		if err := Unmarshal(data, &got); err != nil {
			t.Fatal(err)
		}
		if err := got.Validate(); err != nil {
			t.Fatal(err)
		}
		if got.Len() != 3 {
			t.Errorf("Len() = %d, want 3", got.Len())
		}
		b.n = 3
		if !reflect.DeepEqual(got, b) {
			t.Errorf("got %+v, want %+v", got, b)
		}
	}
}

func TestBatchIndex(t *testing.T) {
	b := validBatch(t)
	for k, want := range []int64{10, 11, 12} {
		if got := b.Index(k); got != want {
			t.Errorf("Index(%d) = %d, want %d", k, got, want)
		}
	}
	b.Indexes = []int64{7, 2, 5}
	if got := b.Index(1); got != 2 {
		t.Errorf("with Indexes: Index(1) = %d, want 2", got)
	}
	for _, k := range []int{-1, 3} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.HasPrefix(r.(string), "wire: ") {
					t.Errorf("Index(%d): panic %v, want a wire: panic", k, r)
				}
			}()
			b.Index(k)
		}()
	}
}

func TestBatchValidate(t *testing.T) {
	for name, edit := range map[string]func(*Batch){
		"no task":           func(b *Batch) { b.Task = "" },
		"no jobs":           func(b *Batch) { b.Inputs = nil },
		"empty array":       func(b *Batch) { b.Inputs = []byte{0x80} },
		"not an array":      func(b *Batch) { b.Inputs = []byte{0x01} },
		"short array":       func(b *Batch) { b.Inputs = []byte{0x83, 0x01, 0x02} },
		"bytes after":       func(b *Batch) { b.Inputs = append(b.Inputs, 0x01) },
		"attempt 0":         func(b *Batch) { b.Attempt = 0 },
		"negative first":    func(b *Batch) { b.First = -1 },
		"negative timeout":  func(b *Batch) { b.TimeoutNanos = -1 },
		"short indexes":     func(b *Batch) { b.Indexes = []int64{1} },
		"empty indexes":     func(b *Batch) { b.Indexes = []int64{} },
		"negative index":    func(b *Batch) { b.Indexes = []int64{1, -2, 3} },
		"index overflow":    func(b *Batch) { b.First = math.MaxInt64 - 1 },
		"ref past the end":  func(b *Batch) { b.Refs = []int{3} },
		"negative ref":      func(b *Batch) { b.Refs = []int{-1} },
		"refs out of order": func(b *Batch) { b.Refs = []int{2, 1} },
		"repeated ref":      func(b *Batch) { b.Refs = []int{1, 1} },
	} {
		b := validBatch(t)
		edit(&b)
		if err := b.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: error = %v, want ErrInvalid", name, err)
		}
	}
	b := validBatch(t)
	b.First = math.MaxInt64 - 2 // last index is exactly MaxInt64
	if err := b.Validate(); err != nil {
		t.Errorf("largest indexes: %v", err)
	}
}

func validResults(t testing.TB) Results {
	return Results{
		Batch: 3, Worker: "host-1/4", First: 10,
		Outputs: array(t, 1, nil, 3),
		Errs:    []JobError{{At: 1, Err: Error{Kind: KindPanic, Msg: "boom", Stack: "goroutine 1", Retryable: true}}},
		Nanos:   1500,
		Refs:    []int{2},
	}
}

func TestResultsRoundTrip(t *testing.T) {
	rs := validResults(t)
	data, err := Marshal(&rs)
	if err != nil {
		t.Fatal(err)
	}
	var got Results
	if err := Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if err := got.Validate(); err != nil {
		t.Fatal(err)
	}
	rs.n = 3
	if !reflect.DeepEqual(got, rs) {
		t.Errorf("got %+v, want %+v", got, rs)
	}
}

func TestResultsAccessors(t *testing.T) {
	rs := validResults(t)
	if err := rs.Validate(); err != nil {
		t.Fatal(err)
	}
	if rs.Len() != 3 {
		t.Fatalf("Len() = %d, want 3", rs.Len())
	}
	for k, want := range []struct {
		index int64
		kind  string
	}{{10, ""}, {11, KindPanic}, {12, ""}} {
		kind := ""
		if e := rs.Err(k); e != nil {
			kind = e.Kind
		}
		if rs.Index(k) != want.index || kind != want.kind {
			t.Errorf("result %d: index %d, error %q; want %d, %q", k, rs.Index(k), kind, want.index, want.kind)
		}
	}
	rs.Indexes = []int64{8, 1, 4}
	if got := rs.Index(2); got != 4 {
		t.Errorf("with Indexes: Index(2) = %d, want 4", got)
	}
}

func TestResultsValidate(t *testing.T) {
	for name, edit := range map[string]func(*Results){
		"none":              func(rs *Results) { rs.Outputs = nil },
		"empty array":       func(rs *Results) { rs.Outputs = []byte{0x80} },
		"not an array":      func(rs *Results) { rs.Outputs = []byte{0xa0} },
		"negative first":    func(rs *Results) { rs.First = -1 },
		"short indexes":     func(rs *Results) { rs.Indexes = []int64{1, 2} },
		"negative index":    func(rs *Results) { rs.Indexes = []int64{1, -2, 3} },
		"index overflow":    func(rs *Results) { rs.First = math.MaxInt64 - 1 },
		"negative nanos":    func(rs *Results) { rs.Nanos = -1 },
		"error past end":    func(rs *Results) { rs.Errs[0].At = 3 },
		"negative error":    func(rs *Results) { rs.Errs[0].At = -1 },
		"errors unordered":  func(rs *Results) { rs.Errs = append(rs.Errs, JobError{At: 0, Err: Error{Kind: KindJob}}) },
		"kindless error":    func(rs *Results) { rs.Errs[0].Err.Kind = "" },
		"ref past the end":  func(rs *Results) { rs.Refs = []int{3} },
		"refs out of order": func(rs *Results) { rs.Refs = []int{2, 0} },
		"ref and error":     func(rs *Results) { rs.Refs = []int{0, 1} },
	} {
		rs := validResults(t)
		edit(&rs)
		if err := rs.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: error = %v, want ErrInvalid", name, err)
		}
	}
}

func TestErrorText(t *testing.T) {
	if got := (&Error{Kind: KindTimeout}).Error(); got != "timeout" {
		t.Errorf("got %q", got)
	}
	if got := (&Error{Kind: KindJob, Msg: "no such file"}).Error(); got != "job: no such file" {
		t.Errorf("got %q", got)
	}
}

// TestEnvelopeKeys pins the wire form: a change here breaks workers and
// drivers of other versions.
func TestEnvelopeKeys(t *testing.T) {
	b := Batch{ID: 1, Run: "r", Task: "t", First: 2, Indexes: []int64{3}, Inputs: []byte{0x81, 0x04}, Attempt: 5, TimeoutNanos: 6, Refs: []int{0}}
	want := map[int]any{1: uint64(1), 2: "r", 3: "t", 4: uint64(2), 5: []any{uint64(3)}, 7: uint64(5), 8: uint64(6), 9: []byte{0x81, 0x04}, 10: []any{uint64(0)}}
	checkKeys(t, &b, want)
	rs := Results{Batch: 1, Worker: "w", First: 2, Indexes: []int64{3}, Outputs: []byte{0x81, 0xf6},
		Errs: []JobError{{At: 0, Err: Error{Kind: "k", Msg: "m", Stack: "s", Retryable: true}}}, Nanos: 7, Refs: []int{0}}
	want = map[int]any{1: uint64(1), 2: "w", 4: uint64(2), 5: []any{uint64(3)}, 6: []byte{0x81, 0xf6},
		7: []any{map[any]any{uint64(2): map[any]any{uint64(1): "k", uint64(2): "m", uint64(3): "s", uint64(4): true}}}, 8: uint64(7), 9: []any{uint64(0)}}
	checkKeys(t, &rs, want)
}

// checkKeys checks the map that v is on the wire.
func checkKeys(t *testing.T, v any, want map[int]any) {
	t.Helper()
	data, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[int]any
	if err := Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("%T on the wire = %v, want %v", v, m, want)
	}
}

// TestEnvelopeUnknownKeys: a newer peer may add fields; older ones ignore
// them.
func TestEnvelopeUnknownKeys(t *testing.T) {
	newer := map[int]any{3: "t", 9: []byte{0x81, 0x01}, 7: 1, 99: "from the future"}
	data, err := Marshal(newer)
	if err != nil {
		t.Fatal(err)
	}
	var b Batch
	if err := Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	if err := b.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestOlderBatchRefused: a batch of the form before inputs were packed
// (one byte string per job, under key 6) is not a batch a worker runs.
func TestOlderBatchRefused(t *testing.T) {
	older := map[int]any{1: 4, 3: "t", 6: [][]byte{{1}, {2}}, 7: 1}
	data, err := Marshal(older)
	if err != nil {
		t.Fatal(err)
	}
	var b Batch
	if err := Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	if err := b.Validate(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("older batch: error = %v, want ErrInvalid", err)
	}
}
