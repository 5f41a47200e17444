package par

import (
	"os"
	"strings"
	"sync/atomic"
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
	// A run shorter than an eighth of the target is still shared among
	// the slots, a quarter each here, not sent whole to one.
	short := sizer{target: (100 * time.Microsecond).Nanoseconds(), slots: 4, max: 1 << 20, total: 10_000}
	short.nsPerJob.Store(1)
	short.last.Store(100_000)
	if k := short.next(10_000); k != 2500 {
		t.Fatalf("a run of 10,000 jobs of 1 ns on 4 slots: batch %d, want 2,500", k)
	}
	// A backend's MinBatch raises the floor: 1 ms jobs with a target of
	// 100 ms and a MinBatch of 25 ms end in batches of 25 jobs, not 12.
	costly := sizer{target: (100 * time.Millisecond).Nanoseconds(), slots: 4, max: 1 << 20, minBatch: (25 * time.Millisecond).Nanoseconds()}
	costly.nsPerJob.Store(time.Millisecond.Nanoseconds())
	costly.last.Store(100)
	if k := costly.next(30); k != 25 {
		t.Fatalf("with 30 jobs of 1 ms left and a MinBatch of 25 ms: batch %d, want 25", k)
	}
	costly.minBatch = 0
	if k := costly.next(30); k != 12 {
		t.Fatalf("with 30 jobs of 1 ms left and no MinBatch: batch %d, want 12 (an eighth of the target)", k)
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

// TestSizerRemembersTheTask starts a call from the cost an earlier call
// of the task measured, and lets the call's first measure replace it at
// once when the jobs cost more this time.
func TestSizerRemembersTheTask(t *testing.T) {
	target := (100 * time.Microsecond).Nanoseconds()
	memo := new(atomic.Int64)
	first := sizer{target: target, slots: 2, max: 1 << 20}
	first.last.Store(1)
	first.remember(memo)
	if k := first.next(1_000_000); k != 1 {
		t.Fatalf("first call's first batch %d, want 1: nothing measured yet", k)
	}
	first.observe(10, 1)
	if memo.Load() != 10 {
		t.Fatalf("memo %d, want the 10 ns measured", memo.Load())
	}

	again := sizer{target: target, slots: 2, max: 1 << 20}
	again.last.Store(1)
	again.remember(memo)
	if k := again.next(1_000_000); k != 10_000 {
		t.Fatalf("next call's first batch %d, want the 10,000 jobs of 10 ns that fill the target", k)
	}
	if k := again.next(20_000); k != 5000 {
		t.Fatalf("with 20,000 left: %d, want 5,000 (the tail still splits)", k)
	}
	// This time a job costs 1 µs: believed at once, not a quarter at a time.
	again.observe(time.Duration(1000*100), 100)
	if ns := again.nsPerJob.Load(); ns != 1000 || memo.Load() != 1000 {
		t.Fatalf("estimate %d ns, memo %d; want 1,000 for both", ns, memo.Load())
	}
	// After that, rises are limited again.
	again.observe(time.Duration(1_000_000*10), 10)
	if ns := again.nsPerJob.Load(); ns != 1251 {
		t.Fatalf("estimate %d ns after a 1 ms measure, want 1,251 (a quarter more)", ns)
	}
}
