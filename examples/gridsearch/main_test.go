package main

import (
	"bytes"
	"context"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"github.com/par-project/par"
)

func TestGridSearch(t *testing.T) {
	var out, errs bytes.Buffer
	args := []string{"-c", "1", "-penalty", "l1,l2", "-iters", "100", "-jobs", "2"}
	if code := run(context.Background(), args, &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	m := regexp.MustCompile(`best: C=(\S+) penalty=(l[12]), mean accuracy (\S+) over 5 folds`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no best line in:\n%s", out.String())
	}
	if acc, _ := strconv.ParseFloat(m[3], 64); acc < 0.9 || acc > 1 {
		t.Errorf("best mean accuracy %v, want within [0.9, 1]", acc)
	}
}

func TestParallelEqualsSerial(t *testing.T) {
	ctx := context.Background()
	grid, err := makeGrid("0.01,10", "l1,l2", 3, 7, 50, 1e-6)
	if err != nil {
		t.Fatal(err)
	}
	serial := make([]Score, len(grid))
	for i, j := range grid {
		if serial[i], err = evaluate(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	got, err := par.Map(ctx, grid, Evaluate.Func(), par.Jobs(3))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, serial) {
		t.Fatalf("parallel %v\nserial   %v", got, serial)
	}
}

func TestFoldsAreStratifiedAndSeeded(t *testing.T) {
	d, err := loadData()
	if err != nil {
		t.Fatal(err)
	}
	if len(d.X) != 569 || len(d.X[0]) != 30 {
		t.Fatalf("data is %d×%d, want 569×30", len(d.X), len(d.X[0]))
	}
	a, b := folds(d.y, 5, 1), folds(d.y, 5, 1)
	if !slices.EqualFunc(a, b, slices.Equal) {
		t.Fatal("same seed, different folds")
	}
	if slices.EqualFunc(a, folds(d.y, 5, 2), slices.Equal) {
		t.Fatal("different seeds, same folds")
	}
	seen := make([]int, len(d.y))
	for _, f := range a {
		benign := 0
		for _, i := range f {
			seen[i]++
			benign += int(d.y[i])
		}
		// 357 of 569 are benign: each fold of about 114 holds 71 or 72.
		if len(f) < 113 || len(f) > 114 || benign < 71 || benign > 72 {
			t.Errorf("fold of %d with %d benign", len(f), benign)
		}
	}
	for i, n := range seen {
		if n != 1 {
			t.Fatalf("sample %d is in %d folds", i, n)
		}
	}
}

func TestBadInput(t *testing.T) {
	for _, args := range [][]string{{"-c", "0"}, {"-c", "x"}, {"-penalty", "l3"}, {"-folds", "1"}, {"-jobs", "0"}, {"-iters", "0"}} {
		var out, errs bytes.Buffer
		if code := run(context.Background(), args, &out, &errs); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	for _, csv := range []string{"", "2,1,a,b\n1,0\n", "1,2,a,b\n1,0\n", "1,1,a,b\nx,0\n", "1,1,a,b\n1,2\n"} {
		if _, err := parseCSV([]byte(csv)); err == nil {
			t.Errorf("parseCSV(%q) succeeded", csv)
		}
	}
}
