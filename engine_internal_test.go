package par

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestSizerGrowsToTheTargetAndSplitsTheTail(t *testing.T) {
	s := sizer{target: (100 * time.Microsecond).Nanoseconds(), slots: 2, max: 1 << 20}
	s.last.Store(1)
	if k := s.next(1_000_000); k != 1 {
		t.Fatalf("first batch %d, want 1 before any job is measured", k)
	}
	s.observe(10, 1)
	// 10 ns jobs: the target is 10,000 jobs, reached in steps of at most 8×.
	var sizes []int
	for range 8 {
		k := s.next(1_000_000)
		sizes = append(sizes, k)
		s.observe(time.Duration(10*k), k)
	}
	want := []int{8, 64, 512, 4096, 10000, 10000, 10000, 10000}
	for i := range want {
		if sizes[i] != want[i] {
			t.Fatalf("sizes %v, want %v", sizes, want)
		}
	}
	// The tail is split among the workers, down to an eighth of the target.
	if k := s.next(20_000); k != 5000 {
		t.Fatalf("with 20,000 left: %d, want 5,000 (a quarter each)", k)
	}
	if k := s.next(100); k != 1250 {
		t.Fatalf("with 100 left: %d, want the floor of 1,250", k)
	}
	// Slow jobs (1 ms) come one at a time.
	s.nsPerJob.Store(0)
	s.observe(time.Millisecond, 1)
	if k := s.next(-1); k != 1 {
		t.Fatalf("1 ms jobs: batch %d, want 1", k)
	}
	// A fixed size is a fixed size.
	f := sizer{fixed: 7}
	if k := f.next(3); k != 7 {
		t.Fatalf("fixed: %d", k)
	}
}

func TestBarOnlyOnATerminal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if isTerminal(w) {
		t.Fatal("a pipe is not a terminal")
	}
	o := &options{barTo: w, barTTY: true}
	if tr := newTracker(o, 10); tr.bar != nil {
		t.Fatal("Bar draws on a pipe")
	}
	var sb strings.Builder
	o = &options{barTo: &sb}
	tr := newTracker(o, 10)
	tr.add(&batch[int, int]{in: make([]int, 10), ran: 10})
	tr.finish()
	if !strings.Contains(sb.String(), "10/10") || !strings.Contains(sb.String(), "100%") {
		t.Fatalf("bar drew %q", sb.String())
	}
}

func TestStatusRateAndETA(t *testing.T) {
	s := Status{Done: 50, Total: 100, Elapsed: 10 * time.Second}
	if s.Rate() != 5 || s.ETA() != 10*time.Second {
		t.Fatalf("rate %v, eta %v", s.Rate(), s.ETA())
	}
	if (Status{Done: 5, Total: -1, Elapsed: time.Second}).ETA() != 0 {
		t.Fatal("ETA of an unknown total")
	}
}

func TestResolveJobs(t *testing.T) {
	cpus := resolveJobs(0)
	for n, want := range map[int]int{1: 1, 5: 5, -1: cpus, -2: max(1, cpus-1), -1000: 1} {
		if got := resolveJobs(n); got != want {
			t.Errorf("Jobs(%d) = %d workers, want %d", n, got, want)
		}
	}
}
