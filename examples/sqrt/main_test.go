package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestSqrt(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run(context.Background(), []string{"-n", "10000", "-jobs", "2", "-rounds", "2"}, &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	lines := strings.Split(out.String(), "\n")
	// joblib prints [0.0, 1.0, …, 9.0]; Go prints floats without the .0.
	if want := "[0 1 2 3 4 5 6 7 8 9]"; lines[0] != want {
		t.Fatalf("first line %q, want %q", lines[0], want)
	}
	if !strings.Contains(out.String(), "10000 square roots") || !strings.Contains(out.String(), "speed-up") {
		t.Fatalf("no timing line in:\n%s", out.String())
	}
}

func TestSqrtBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-n", "-1"}, {"-jobs", "0"}, {"-rounds", "0"}, {"-n", "x"}} {
		var out, errs bytes.Buffer
		if code := run(context.Background(), args, &out, &errs); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
