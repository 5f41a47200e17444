package cluster

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/nats-io/nats.go"

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
	rs, _ := wire.Marshal(&wire.Results{Batch: 1, Results: []wire.Result{{Index: 0, Output: []byte{1}}, {Index: 1, Err: &wire.Error{Kind: "job"}}}})
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
