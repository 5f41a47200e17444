//go:build linux

package proc

import (
	"errors"
	"testing"

	"github.com/par-project/par/internal/remote"
	"github.com/par-project/par/internal/wire"
)

// FuzzResults checks the parent's decoder of what a worker sends: whatever
// the bytes, no panic, and anything that validates can be sliced the way
// session.run slices it.
func FuzzResults(f *testing.F) {
	ok, _ := wire.Marshal(&results{Batch: 1, Lens: []byte{1, 0, 2}, Data: []byte{1, 0x61, 0x61},
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
		off, e := 0, 0
		for _, n := range rs.sizes {
			if n == 0 {
				_ = remote.FromWire(&rs.Errs[e].Err, "", nil)
				e++
				continue
			}
			_ = rs.Data[off : off+int(n)]
			off += int(n)
		}
	})
}

// FuzzJobs does the same for the worker's decoder of what the parent sends.
func FuzzJobs(f *testing.F) {
	ok, _ := wire.Marshal(&jobs{ID: 1, Task: "t", Attempt: 1, Lens: []byte{1, 2}, Data: []byte{1, 0x61, 0x61}})
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
		off := 0
		for _, n := range j.sizes {
			_ = j.Data[off : off+int(n)]
			off += int(n)
		}
	})
}
