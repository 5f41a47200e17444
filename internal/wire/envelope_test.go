package wire

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func validBatch() Batch {
	return Batch{
		ID: 3, Run: "nightly", Task: "square", First: 10,
		Inputs:  [][]byte{{0x01}, {0x02}, {0x03}},
		Attempt: 1, TimeoutNanos: 1e9,
	}
}

func TestBatchRoundTrip(t *testing.T) {
	for _, b := range []Batch{
		validBatch(),
		{Task: "t", Indexes: []int64{4, 0, 9}, Inputs: [][]byte{{0xf6}, {0x61, 0x61}, {0x80}}, Attempt: 3},
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
		if !reflect.DeepEqual(got, b) {
			t.Errorf("got %+v, want %+v", got, b)
		}
	}
}

func TestBatchIndex(t *testing.T) {
	b := validBatch()
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
		"no task":          func(b *Batch) { b.Task = "" },
		"no jobs":          func(b *Batch) { b.Inputs = nil },
		"attempt 0":        func(b *Batch) { b.Attempt = 0 },
		"negative first":   func(b *Batch) { b.First = -1 },
		"negative timeout": func(b *Batch) { b.TimeoutNanos = -1 },
		"short indexes":    func(b *Batch) { b.Indexes = []int64{1} },
		"empty indexes":    func(b *Batch) { b.Indexes = []int64{} },
		"negative index":   func(b *Batch) { b.Indexes = []int64{1, -2, 3} },
		"empty input":      func(b *Batch) { b.Inputs[1] = nil },
		"index overflow":   func(b *Batch) { b.First = math.MaxInt64 - 1 },
	} {
		b := validBatch()
		edit(&b)
		if err := b.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: error = %v, want ErrInvalid", name, err)
		}
	}
	b := validBatch()
	b.First = math.MaxInt64 - 2 // last index is exactly MaxInt64
	if err := b.Validate(); err != nil {
		t.Errorf("largest indexes: %v", err)
	}
}

func validResults() Results {
	return Results{
		Batch: 3, Worker: "host-1/4",
		Results: []Result{
			{Index: 10, Output: []byte{0x01}, Nanos: 1500},
			{Index: 11, Err: &Error{Kind: KindPanic, Msg: "boom", Stack: "goroutine 1", Retryable: true}},
		},
	}
}

func TestResultsRoundTrip(t *testing.T) {
	rs := validResults()
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
	if !reflect.DeepEqual(got, rs) {
		t.Errorf("got %+v, want %+v", got, rs)
	}
}

func TestResultsValidate(t *testing.T) {
	for name, edit := range map[string]func(*Results){
		"none":           func(rs *Results) { rs.Results = nil },
		"negative index": func(rs *Results) { rs.Results[0].Index = -1 },
		"negative nanos": func(rs *Results) { rs.Results[0].Nanos = -1 },
		"neither":        func(rs *Results) { rs.Results[0].Output = nil },
		"both":           func(rs *Results) { rs.Results[1].Output = []byte{0x01} },
		"kindless error": func(rs *Results) { rs.Results[1].Err.Kind = "" },
	} {
		rs := validResults()
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
	b := Batch{ID: 1, Run: "r", Task: "t", First: 2, Indexes: []int64{3}, Inputs: [][]byte{{4}}, Attempt: 5, TimeoutNanos: 6}
	data, err := Marshal(&b)
	if err != nil {
		t.Fatal(err)
	}
	var m map[int]any
	if err := Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	want := map[int]any{1: uint64(1), 2: "r", 3: "t", 4: uint64(2), 5: []any{uint64(3)}, 6: []any{[]byte{4}}, 7: uint64(5), 8: uint64(6)}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("Batch on the wire = %v, want %v", m, want)
	}
}

// TestEnvelopeUnknownKeys: a newer peer may add fields; older ones ignore
// them.
func TestEnvelopeUnknownKeys(t *testing.T) {
	newer := map[int]any{3: "t", 6: [][]byte{{1}}, 7: 1, 99: "from the future"}
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
