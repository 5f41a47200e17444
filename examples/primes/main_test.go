package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
)

// sieve sums the primes below n another way, to check the demo's answers.
func sieve(n int) int {
	composite := make([]bool, n)
	sum := 0
	for i := 2; i < n; i++ {
		if !composite[i] {
			sum += i
			for j := i * i; j < n; j += i {
				composite[j] = true
			}
		}
	}
	return sum
}

func TestPrimesDemo(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run(context.Background(), []string{"-upto", "20000", "-n", "16", "-jobs", "2"}, &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	for _, n := range inputs(20000, 16) {
		line := fmt.Sprintf("sum of primes below %d is %d\n", n, sieve(n))
		if !strings.Contains(out.String(), line) {
			t.Fatalf("missing %q in:\n%s", line, out.String())
		}
	}
	for _, want := range []string{"16 jobs, 0 failed", "primes.sum", "speed-up"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("missing %q in:\n%s", want, out.String())
		}
	}
}

func TestPrimesBadFlags(t *testing.T) {
	var out, errs bytes.Buffer
	for _, args := range [][]string{{"-upto", "1"}, {"-jobs", "0"}, {"-n", "x"}} {
		if code := run(context.Background(), args, &out, &errs); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
