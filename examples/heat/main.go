// Command heat solves the 2-D heat equation u_t = u_xx + u_yy on the unit
// square by explicit finite differences: a 5-point stencil on an n×n grid
// of interior points, zero (Dirichlet) boundaries, and the initial
// condition u0 = sin(πx)·sin(πy), whose exact solution decays as
// exp(-2π²t). Each time step is split across workers by rows with
// par.For. For each grid size it runs the same steps serially and in
// parallel, checks that both give the same bits and that they are close to
// the exact solution, and reports the speed-up and parallel efficiency.
//
//	go run ./examples/heat -sizes 256,1024,2048
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/par-project/par"
)

// r is the time step in units of h²: the scheme is stable for r ≤ 1/4.
const r = 0.2

// grid is the solution on (n+2)×(n+2) points, boundaries included, row
// by row: u[i*(n+2)+j] at x = j·h, y = i·h, h = 1/(n+1).
type grid struct {
	n int
	u []float64
}

func newGrid(n int) *grid {
	g := &grid{n: n, u: make([]float64, (n+2)*(n+2))}
	h := 1 / float64(n+1)
	for i := 1; i <= n; i++ {
		for j := 1; j <= n; j++ {
			g.u[i*(n+2)+j] = math.Sin(math.Pi*float64(j)*h) * math.Sin(math.Pi*float64(i)*h)
		}
	}
	return g
}

// stepRows computes interior rows lo+1 … hi of next from g: rows are
// independent, so disjoint ranges can run at once.
func stepRows(g, next *grid, lo, hi int) {
	w := g.n + 2
	for i := lo + 1; i <= hi; i++ {
		c, up, down, out := g.u[i*w:(i+1)*w], g.u[(i-1)*w:i*w], g.u[(i+1)*w:(i+2)*w], next.u[i*w:(i+1)*w]
		for j := 1; j <= g.n; j++ {
			out[j] = c[j] + r*(c[j-1]+c[j+1]+up[j]+down[j]-4*c[j])
		}
	}
}

// solve runs steps time steps from u0 on an n×n grid. With opts == nil
// it runs serially; otherwise each step is one par.For over the rows.
func solve(ctx context.Context, n, steps int, opts []par.Option) (*grid, error) {
	g, next := newGrid(n), newGrid(n)
	for range steps {
		if opts == nil {
			stepRows(g, next, 0, n)
		} else if err := par.For(ctx, n, func(lo, hi int) { stepRows(g, next, lo, hi) }, opts...); err != nil {
			return nil, err
		}
		g, next = next, g
	}
	return g, nil
}

// maxError returns the largest difference between g at time t and the
// exact solution sin(πx)·sin(πy)·exp(-2π²t).
func maxError(g *grid, t float64) float64 {
	h := 1 / float64(g.n+1)
	decay := math.Exp(-2 * math.Pi * math.Pi * t)
	worst := 0.0
	for i := 1; i <= g.n; i++ {
		for j := 1; j <= g.n; j++ {
			exact := math.Sin(math.Pi*float64(j)*h) * math.Sin(math.Pi*float64(i)*h) * decay
			worst = max(worst, math.Abs(g.u[i*(g.n+2)+j]-exact))
		}
	}
	return worst
}

// errorBound is what the scheme promises: the stencil's error and the
// time step's add up to e^(-2π²t)·2π⁴·t·h²·|1/12 - r| + O(h⁴), at most
// 0.42h² for r = 0.2 whatever t is; h²/2 leaves room for the O(h⁴).
func errorBound(n int) float64 {
	h := 1 / float64(n+1)
	return h * h / 2
}

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("heat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sizes := fs.String("sizes", "256,1024,2048", "grid sizes n (n×n interior points), comma-separated")
	steps := fs.Int("steps", 0, "time steps per size (0: about 5·10⁸ cell updates per size)")
	jobs := fs.Int("jobs", -1, "workers (-1: every CPU)")
	schedule := fs.String("schedule", "static", "how par.For splits the rows: static or guided")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var ns []int
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fmt.Fprintf(stderr, "heat: -sizes: %q is not a positive size\n", s)
			return 2
		}
		ns = append(ns, n)
	}
	if *steps < 0 || *jobs == 0 {
		fmt.Fprintln(stderr, "heat: -steps must not be negative, -jobs not 0")
		return 2
	}
	// Every row costs the same, so one chunk per worker (static) costs
	// least; guided chunks let a worker that got a CPU late catch up.
	opts := []par.Option{par.Jobs(*jobs)}
	switch *schedule {
	case "static":
		opts = append(opts, par.Static())
	case "guided":
		opts = append(opts, par.Dynamic(0))
	default:
		fmt.Fprintf(stderr, "heat: -schedule: %q is neither static nor guided\n", *schedule)
		return 2
	}
	workers := *jobs
	if workers < 0 {
		workers = max(1, runtime.GOMAXPROCS(0)+1+workers)
	}

	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "grid\tsteps\tt\tmax error\tbound\tserial\tpar.For\tspeed-up\tefficiency\t\n")
	failed := false
	for _, n := range ns {
		k := *steps
		if k == 0 {
			k = max(1, 500_000_000/(n*n))
		}
		h := 1 / float64(n+1)
		t := float64(k) * r * h * h

		t0 := time.Now()
		serial, _ := solve(ctx, n, k, nil)
		serialTime := time.Since(t0)
		t1 := time.Now()
		parallel, err := solve(ctx, n, k, opts)
		if err != nil {
			fmt.Fprintln(stderr, "heat:", err)
			return 1
		}
		parTime := time.Since(t1)

		for i, v := range serial.u {
			if math.Float64bits(v) != math.Float64bits(parallel.u[i]) {
				fmt.Fprintf(stderr, "heat: n=%d: point %d differs: serial %v, parallel %v\n", n, i, v, parallel.u[i])
				failed = true
				break
			}
		}
		e := maxError(parallel, t)
		if e > errorBound(n) {
			fmt.Fprintf(stderr, "heat: n=%d: error %.3g exceeds the bound %.3g\n", n, e, errorBound(n))
			failed = true
		}
		speedup := serialTime.Seconds() / parTime.Seconds()
		fmt.Fprintf(tw, "%d²\t%d\t%.3g\t%.2e\t%.2e\t%v\t%v\t%.2f×\t%.0f%%\t\n", n, k, t, e, errorBound(n),
			serialTime.Round(time.Millisecond), parTime.Round(time.Millisecond), speedup, 100*speedup/float64(workers))
	}
	tw.Flush()
	fmt.Fprintf(stdout, "on %d workers; efficiency is speed-up / workers\n", workers)
	if failed {
		return 1
	}
	return 0
}
