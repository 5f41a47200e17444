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
	ok, _ := wire.Marshal(&results{Batch: 1, Outputs: []byte{0x83, 0x01, 0xf6, 0x61, 0x61},
		Errs: []jobError{{At: 1, Err: wire.Error{Kind: wire.KindJob, Msg: "no"}}}})
	f.Add(ok)
	f.Add([]byte{0xa0})
	f.Add([]byte{0xa2, 0x02, 0x45, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x03, 0x40})
	f.Fuzz(func(t *testing.T, data []byte) {
		var rs results
		if err := wire.Unmarshal(data, &rs); err != nil {
			return
		}
		if err := rs.validate(); err != nil {
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
	ok, _ := wire.Marshal(&jobs{ID: 1, Task: "t", Attempt: 1, Inputs: []byte{0x82, 0x01, 0x61, 0x61}})
	f.Add(ok)
	f.Add([]byte{0xa0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var j jobs
		if err := wire.Unmarshal(data, &j); err != nil {
			return
		}
		if err := j.validate(); err != nil {
			return
		}
		if items, err := wire.SplitArray(j.Inputs); err != nil || len(items) != j.n || j.n == 0 {
			t.Fatalf("validated inputs split into %d items, want %d: %v", len(items), j.n, err)
		}
	})
}
