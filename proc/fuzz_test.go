//go:build linux

package proc

import (
	"errors"
	"testing"

	"github.com/par-project/par/internal/remote"
	"github.com/par-project/par/internal/wire"
)

// FuzzResults checks the parent's decoder of what a worker sends: whatever
// the bytes, no panic, and anything that validates can be taken apart the
// way session.run takes it apart.
func FuzzResults(f *testing.F) {
	ok, _ := wire.Marshal(&results{Batch: 1,
		Errs: []jobError{{At: 1, Err: wire.Error{Kind: wire.KindJob, Msg: "no"}}}})
	f.Add(append(ok, 0x83, 0x01, 0xf6, 0x61, 0x61))
	f.Add([]byte{0xa0})
	f.Add([]byte{0xa0, 0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0xa2, 0x02, 0x45, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x03, 0x40})
	f.Fuzz(func(t *testing.T, data []byte) {
		var rs results
		if err := decodeResults(data, &rs); err != nil {
			if errors.Is(err, wire.ErrDecode) {
				return
			}
			if !errors.Is(err, wire.ErrInvalid) {
				t.Fatalf("validation error %v does not wrap wire.ErrInvalid", err)
			}
			return
		}
		for _, e := range rs.Errs {
			_ = remote.FromWire(&e.Err, "", nil)
		}
		items, err := wire.SplitArray(rs.Outputs)
		if err != nil || len(items) != rs.n {
			t.Fatalf("validated outputs split into %d items, want %d: %v", len(items), rs.n, err)
		}
	})
}

// FuzzJobs does the same for the worker's decoder of what the parent sends.
func FuzzJobs(f *testing.F) {
	ok, _ := wire.Marshal(&jobs{ID: 1, Task: "t", Attempt: 1})
	f.Add(append(ok, 0x82, 0x01, 0x61, 0x61))
	f.Add([]byte{0xa0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var j jobs
		if err := decodeJobs(data, &j); err != nil {
			if !errors.Is(err, wire.ErrDecode) && !errors.Is(err, wire.ErrInvalid) {
				t.Fatalf("error %v wraps neither wire.ErrDecode nor wire.ErrInvalid", err)
			}
			return
		}
		if items, err := wire.SplitArray(j.Inputs); err != nil || len(items) != j.n || j.n == 0 {
			t.Fatalf("validated inputs split into %d items, want %d: %v", len(items), j.n, err)
		}
	})
}
