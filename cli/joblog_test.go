package cli

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestLogEntryFormat(t *testing.T) {
	e := LogEntry{Seq: 3, Host: ":", Start: time.UnixMilli(1795632150516), Runtime: 22 * time.Millisecond,
		Receive: 2, Exitval: 1, Command: "echo a\necho b"}
	want := "3\t:\t1795632150.516\t     0.022\t0\t2\t1\t0\techo a\x00echo b\n"
	if got := e.Format(); got != want {
		t.Errorf("Format() = %q, want %q", got, want)
	}
}

func TestReadJobLogGNU(t *testing.T) {
	f, err := os.Open("testdata/gnu-joblog.txt") // written by GNU parallel 20221122
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	all, err := ReadJobLog(f, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 12 {
		t.Errorf("--resume skips %d jobs, want 12", len(all))
	}
	f.Seek(0, 0)
	ok, err := ReadJobLog(f, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, failed := range []int64{2, 3, 4, 12} {
		if ok[failed] {
			t.Errorf("--resume-failed skips failed job %d", failed)
		}
	}
	if len(ok) != 8 {
		t.Errorf("--resume-failed skips %d jobs, want 8", len(ok))
	}
}

func TestReadJobLogForms(t *testing.T) {
	for _, tc := range []struct {
		log     string
		want    int
		wantErr bool
	}{
		{"", 0, false},
		{joblogHeader, 0, false},
		{joblogHeader + "1\t:\t1.0\t0.1\t0\t0\t0\t0\ttrue\n", 1, false},
		{"1\t:\t1.0\t0.1\t0\t0\t0\t0\ttrue", 1, false},
		{joblogHeader + "2\t:\t1.0\t0.1\t0\t0\t-1\t15\tsleep 9\n", 1, false},
		{joblogHeader + "1\t:\t1.0\t0.1\t0\t0\t0\t0\t\n", 1, false},
		{joblogHeader + "garbage\n", 0, true},
		{joblogHeader + "1\t:\tx\t0.1\t0\t0\t0\t0\tc\n", 0, true},
	} {
		got, err := ReadJobLog(strings.NewReader(tc.log), false)
		if (err != nil) != tc.wantErr || len(got) != tc.want {
			t.Errorf("ReadJobLog(%q) = %v, %v", tc.log, got, err)
		}
	}
}

func FuzzReadJobLog(f *testing.F) {
	b, _ := os.ReadFile("testdata/gnu-joblog.txt")
	f.Add(string(b))
	f.Add(joblogHeader + "1\t:\t1.0\t0.1\t0\t0\t-1\t15\tsleep 9\n")
	f.Add("99999999999999999999\t:\t1\t1\t1\t1\t1\t1\tx\n")
	f.Fuzz(func(t *testing.T, log string) {
		for _, failed := range []bool{false, true} {
			done, err := ReadJobLog(strings.NewReader(log), failed)
			if err != nil && done != nil {
				t.Fatal("error with a result")
			}
		}
	})
}
