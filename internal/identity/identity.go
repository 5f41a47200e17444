// Package identity hands out the list 0, 1, …, n-1 without allocating it
// each time: a batch of n jobs lists its jobs by number, and on the
// machines par runs on fresh memory costs a page fault per 4 KiB.
package identity

import "sync/atomic"

// Ints returns 0, 1, …, n-1, from one slice shared by every caller and
// never written to. Its capacity is n, so an append copies it rather
// than writing into the shared slice; the caller must not write to it.
func Ints(n int) []int {
	for {
		p := shared.Load()
		var have []int
		if p != nil {
			have = *p
		}
		if len(have) >= n {
			return have[:n:n]
		}
		s := make([]int, max(n, 2*len(have)))
		for k := range s {
			s[k] = k
		}
		shared.CompareAndSwap(p, &s)
	}
}

var shared atomic.Pointer[[]int]
