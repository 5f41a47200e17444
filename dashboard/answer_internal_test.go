package dashboard

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeAnswer decodes status answers as a hostile responder could
// send them: an error or a Snapshot, never a panic.
func FuzzDecodeAnswer(f *testing.F) {
	good, _ := json.Marshal(&Snapshot{Workers: []Worker{{ID: "w"}}, Runs: []Run{{ID: "r", Total: -1}}})
	f.Add(good)
	f.Add([]byte(`{"error":"no"}`))
	f.Add([]byte(`{"workers":7}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := decodeAnswer(data)
		if (s == nil) == (err == nil) {
			t.Fatalf("decodeAnswer = %v, %v: want exactly one", s, err)
		}
	})
}
