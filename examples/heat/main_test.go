package main

import (
	"bytes"
	"context"
	"math"
	"strings"
	"testing"

	"github.com/par-project/par"
)

// TestAgainstExact runs to t = 0.05 on two grids and checks the error
// against the bound and its second order: halving h quarters it.
func TestAgainstExact(t *testing.T) {
	errs := map[int]float64{}
	for _, n := range []int{15, 31} {
		h := 1 / float64(n+1)
		steps := int(math.Round(0.05 / (r * h * h)))
		g, err := solve(context.Background(), n, steps, []par.Option{par.Jobs(2), par.Static()})
		if err != nil {
			t.Fatal(err)
		}
		errs[n] = maxError(g, 0.05)
		if errs[n] > errorBound(n) {
			t.Errorf("n=%d: error %.3g exceeds %.3g", n, errs[n], errorBound(n))
		}
		// The solution has decayed by e^(-2π²·0.05) ≈ 0.37, not vanished.
		if peak := g.u[(n/2+1)*(n+2)+n/2+1]; peak < 0.3 || peak > 0.4 {
			t.Errorf("n=%d: centre value %v, want about 0.37", n, peak)
		}
	}
	if ratio := errs[15] / errs[31]; ratio < 3.5 || ratio > 4.5 {
		t.Errorf("error ratio %.2f for h halved, want about 4 (errors %v)", ratio, errs)
	}
}

func TestParallelBitsEqualSerial(t *testing.T) {
	ctx := context.Background()
	serial, _ := solve(ctx, 37, 50, nil)
	for _, opts := range [][]par.Option{{par.Jobs(3), par.Static()}, {par.Jobs(3), par.Dynamic(0)}, {par.Jobs(2), par.Dynamic(5)}} {
		parallel, err := solve(ctx, 37, 50, opts)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range serial.u {
			if math.Float64bits(v) != math.Float64bits(parallel.u[i]) {
				t.Fatalf("point %d: serial %v, parallel %v", i, v, parallel.u[i])
			}
		}
	}
}

func TestRun(t *testing.T) {
	for _, schedule := range []string{"static", "guided"} {
		var out, errs bytes.Buffer
		args := []string{"-sizes", "16,24", "-steps", "20", "-jobs", "2", "-schedule", schedule}
		if code := run(context.Background(), args, &out, &errs); code != 0 {
			t.Fatalf("exit %d: %s", code, errs.String())
		}
		for _, want := range []string{"16²", "24²", "speed-up", "on 2 workers"} {
			if !strings.Contains(out.String(), want) {
				t.Fatalf("missing %q in:\n%s", want, out.String())
			}
		}
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-sizes", "0"}, {"-sizes", "a"}, {"-steps", "-1"}, {"-jobs", "0"}, {"-schedule", "x"}} {
		var out, errs bytes.Buffer
		if code := run(context.Background(), args, &out, &errs); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
