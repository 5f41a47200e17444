package cli

import (
	"testing"
	"time"
)

func TestParseJobs(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want int
	}{{"", 4}, {"3", 3}, {"0", maxJobs}, {"50%", 2}, {"10%", 1}, {"150%", 6}, {"+2", 6}, {"-1", 3}, {"-9", 1}, {"12.5%", 1}} {
		got, err := parseJobs(tc.spec, 4)
		if err != nil || got != tc.want {
			t.Errorf("parseJobs(%q) = %d, %v; want %d", tc.spec, got, err, tc.want)
		}
	}
	for _, bad := range []string{"x", "1x", "%", "+", "--1", "1.5"} {
		if _, err := parseJobs(bad, 4); err == nil {
			t.Errorf("parseJobs(%q) accepted", bad)
		}
	}
}

func TestParseHalt(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want HaltSpec
	}{
		{"0", HaltSpec{}},
		{"never", HaltSpec{}},
		{"1", HaltSpec{When: haltSoon, On: haltFail, Count: 1}},
		{"2", HaltSpec{When: haltNow, On: haltFail, Count: 1}},
		{"-1", HaltSpec{When: haltSoon, On: haltSuccess, Count: 1}},
		{"-2", HaltSpec{When: haltNow, On: haltSuccess, Count: 1}},
		{"5%", HaltSpec{When: haltSoon, On: haltFail, Pct: 0.05}},
		{"now,fail=3", HaltSpec{When: haltNow, On: haltFail, Count: 3}},
		{"soon,success=30%", HaltSpec{When: haltSoon, On: haltSuccess, Pct: 0.3}},
		{"now,done=2", HaltSpec{When: haltNow, On: haltDone, Count: 2}},
	} {
		got, err := ParseHalt(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseHalt(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "foo", "now", "now,fail", "now,maybe=1", "soon,fail=x", "now,fail=-1", "now,fail=1%x"} {
		if _, err := ParseHalt(bad); err == nil {
			t.Errorf("ParseHalt(%q) accepted", bad)
		}
	}
}

func TestParseTimeout(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want TimeoutSpec
	}{
		{"1", TimeoutSpec{D: time.Second}},
		{"0.5", TimeoutSpec{D: 500 * time.Millisecond}},
		{"2m", TimeoutSpec{D: 2 * time.Minute}},
		{"1h30m", TimeoutSpec{D: 90 * time.Minute}},
		{"200%", TimeoutSpec{Pct: 2}},
		{"50.5%", TimeoutSpec{Pct: 0.505}},
	} {
		got, err := ParseTimeout(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseTimeout(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "1x", "0", "-1", "%", "x%", "0%", "1e999"} {
		if _, err := ParseTimeout(bad); err == nil {
			t.Errorf("ParseTimeout(%q) accepted", bad)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"50": 50, "1k": 1024, "1M": 1 << 20, "2g": 2 << 30, "1.5K": 1536} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "0", "x", "1Q", "-1"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) accepted", bad)
		}
	}
}

func TestParseTermSeq(t *testing.T) {
	got, err := parseTermSeq("INT,100,SIGKILL")
	if err != nil || len(got) != 2 || got[0].wait != 100*time.Millisecond || got[1].wait != 0 {
		t.Errorf("parseTermSeq = %+v, %v", got, err)
	}
	if _, err := parseTermSeq("FOO,1"); err == nil {
		t.Error("unknown signal accepted")
	}
}

func TestRemedian(t *testing.T) {
	var m remedian
	if m.median() != 0 {
		t.Error("median of nothing")
	}
	for _, d := range []time.Duration{5, 1, 3} {
		m.add(d)
	}
	if m.median() != 3 {
		t.Errorf("median = %v", m.median())
	}
}

func FuzzParseHalt(f *testing.F) {
	for _, s := range []string{"now,fail=1", "soon,success=30%", "2", "5%", "now,done=x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHalt(s)
		if err == nil && (h.Count < 0 || h.Pct < 0) {
			t.Fatalf("ParseHalt(%q) = %+v", s, h)
		}
		ParseTimeout(s)
		parseJobs(s, 4)
		parseSize(s)
		parseDuration(s)
	})
}
