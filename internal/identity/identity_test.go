package identity

import (
	"sync"
	"testing"
)

// TestInts checks the list at every length, grown from several
// goroutines at once, and capped so that appending to it cannot write
// into the shared slice.
func TestInts(t *testing.T) {
	var wg sync.WaitGroup
	for _, n := range []int{0, 1, 5, 3, 1000, 7, 4097} {
		wg.Go(func() {
			s := Ints(n)
			if len(s) != n || cap(s) != n {
				t.Errorf("Ints(%d): len %d cap %d", n, len(s), cap(s))
				return
			}
			for k, v := range s {
				if v != k {
					t.Errorf("Ints(%d)[%d] = %d", n, k, v)
					return
				}
			}
			_ = append(s, -1)
		})
	}
	wg.Wait()
	if s := Ints(1001); s[1000] != 1000 {
		t.Fatalf("after appends: %v", s[1000])
	}
}
