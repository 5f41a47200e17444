package cluster

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/par-project/par"
	"github.com/par-project/par/internal/wire"
)

// The decoders of what other programs write, fuzzed: none may panic.

// FuzzParseBig decodes references to large payloads, and Refs, as a
// worker or driver receives them in inputs and results.
func FuzzParseBig(f *testing.F) {
	good, _ := wire.Marshal(bigRef{Hash: "4ad2c1f5a1f6e0b5b0a6c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2", Size: 3 << 20})
	f.Add(append(append([]byte{}, bigHead...), good...))
	f.Add(good)
	f.Add(append([]byte{}, bigHead...))
	f.Fuzz(func(t *testing.T, data []byte) {
		if r, err := parseBig(data); err == nil {
			if checkHash(r.Hash) != nil || r.Size <= 0 || !isBig(data) {
				t.Fatalf("parseBig accepted %x as %+v", data, r)
			}
		}
		var ref Ref[[]byte]
		if wire.Unmarshal(data, &ref) == nil && checkHash(ref.Hash) == nil && len(ref.Hash) != 64 {
			t.Fatalf("checkHash accepted %q", ref.Hash)
		}
	})
}

// FuzzDigestsHeader feeds stored results and their Par-Digests header,
// as a resumed durable run reads them, to durable.add.
func FuzzDigestsHeader(f *testing.F) {
	rs, _ := wire.Marshal(&wire.Results{Batch: 1, Outputs: []byte{0x82, 0x01, 0xf6}, Errs: []wire.JobError{{At: 1, Err: wire.Error{Kind: "job"}}}})
	f.Add(rs, digest("t", []byte{1})+","+digest("t", []byte{2}))
	f.Add(rs, ",")
	f.Add([]byte{}, "")
	f.Fuzz(func(t *testing.T, data []byte, header string) {
		d := &durable{done: map[string][]byte{}, failed: map[string]bool{}}
		h := nats.Header{}
		h.Set(HeaderDigests, header)
		d.add(data, h)
		for dg := range d.done {
			if len(dg) != digestLen {
				t.Fatalf("digest %q kept", dg)
			}
		}
		for dg := range d.failed {
			if len(dg) != digestLen {
				t.Fatalf("digest %q kept", dg)
			}
		}
	})
}

// FuzzRunRecord decodes values of the PAR_RUNS bucket.
func FuzzRunRecord(f *testing.F) {
	f.Add("nightly", []byte(`{"name":"nightly","queue":"default","state":"finished","done":3,"started":"2026-11-25T22:00:00Z","expires":"2026-11-26T22:00:00Z"}`))
	f.Add(">", []byte(`{"name":">"}`))
	f.Add("x", []byte(`{"name":"x","started":"not a time"}`))
	f.Fuzz(func(t *testing.T, key string, data []byte) {
		if r, ok := decodeRun(key, data); ok && (r.Name != key || checkName("run", r.Name) != nil) {
			t.Fatalf("record of %q accepted with name %q", key, r.Name)
		}
	})
}

// FuzzModeFile reads par-mode.json as a server starting on a data
// directory does.
func FuzzModeFile(f *testing.F) {
	f.Add([]byte(`{"mode":"standalone"}`))
	f.Add([]byte(`{"mode":"cluster","cluster":"prod"}`))
	f.Add([]byte(`{"mode":`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, clustered := range []bool{false, true} {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, modeFile), data, 0o600); err != nil {
				t.Fatal(err)
			}
			if checkMode(dir, clustered, "prod") != nil {
				continue
			}
			// Accepted: the directory is now recorded as this server's mode.
			again, err := os.ReadFile(filepath.Join(dir, modeFile))
			var m serverMode
			if err != nil || json.Unmarshal(again, &m) != nil || (m.Mode == "cluster") != clustered {
				t.Fatalf("after accepting %q, the mode file holds %q (%v)", data, again, err)
			}
		}
	})
}

// FuzzDeliver hands results messages, as any client of the server could
// publish them on a run's results subject, to a driver waiting for two
// batches: one sent whole (jobs 10 to 14) and one of scattered jobs (a
// retry). Whatever arrives, nothing panics, each job takes at most one
// result, and a batch is done only when each of its jobs has one.
func FuzzDeliver(f *testing.F) {
	for _, rs := range []wire.Results{
		{Batch: 1, First: 10, Outputs: []byte{0x85, 0x01, 0x02, 0xf6, 0x04, 0x05}, Errs: []wire.JobError{{At: 2, Err: wire.Error{Kind: "job", Msg: "no"}}}, Nanos: 5e6},
		{Batch: 1, First: 12, Outputs: []byte{0x82, 0x03, 0x04}},
		{Batch: 2, Indexes: []int64{7, 3}, Outputs: []byte{0x82, 0x07, 0x03}},
		{Batch: 2, Indexes: []int64{3, 3, 9}, Outputs: []byte{0x83, 0x03, 0x03, 0x09}, Refs: []int{2}},
	} {
		data, err := wire.Marshal(&rs)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, data)
	}
	f.Fuzz(func(t *testing.T, first, second []byte) {
		cfg, _ := newConfig(nil)
		s := &session{c: &Client{cfg: cfg}, pending: map[uint64]*pending{}}
		whole := &execution{b: &par.Batch{Task: "t", Indexes: []int{10, 11, 12, 13, 14}}, n: 5}
		scattered := &execution{b: &par.Batch{Task: "t", Indexes: []int{3, 7, 9}}, n: 3}
		parts := []*pending{s.part(whole, nil, 5), s.part(scattered, nil, 3)}
		for i, p := range parts {
			p.id = uint64(i + 1)
			s.pending[p.id] = p
		}
		s.deliver(first, 0)
		s.deliver(second, 0)
		for _, p := range parts {
			e := p.e
			got := 0
			switch {
			case e.whole != nil:
				if n, err := wire.CountArray(e.whole); err != nil || n != e.n {
					t.Fatalf("whole output of %d items for %d jobs (%v)", n, e.n, err)
				}
				got = e.n
			case e.outs != nil:
				for k := range e.n {
					if e.outs[k] != nil || e.b.Err(k) != nil {
						got++
					}
				}
			}
			if p.left != p.n-got || p.left < 0 {
				t.Fatalf("batch %d: %d jobs left, %d of %d have a result", p.id, p.left, got, p.n)
			}
			if _, waiting := s.pending[p.id]; waiting != (p.left > 0) {
				t.Fatalf("batch %d: %d jobs left, still waited for: %v", p.id, p.left, waiting)
			}
		}
	})
}
