// Command gridsearch is a hyperparameter search in par: logistic regression
// on the Wisconsin breast-cancer data (shipped with it, see data/README.md)
// for every C in -c and penalty in -penalty, scored by k-fold
// cross-validation, with each (C, penalty, fold) a job. It runs the grid
// serially and with par.Map, checks that both give identical scores, and
// prints the mean accuracy of each setting, the best one, and the times.
//
//	go run ./examples/gridsearch
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/par-project/par"
)

// A Job is one cell of the grid, scored on one fold: the whole input of a
// job, so that it can travel to a worker that has only the binary.
type Job struct {
	C       float64
	Penalty string // "l1" or "l2"
	Fold    int    // the test fold, of Folds
	Folds   int
	Seed    uint64 // of the fold shuffle
	Iters   int    // most solver steps
	Tol     float64
}

// A Score is a job's result.
type Score struct {
	Accuracy float64 // on the test fold
	Steps    int     // solver steps taken
	NonZero  int     // coefficients not zero (l1 zeroes some)
}

// Evaluate is the job, registered so that it can run on every backend.
var Evaluate = par.Register("gridsearch.fold", evaluate)

func evaluate(ctx context.Context, j Job) (Score, error) {
	if err := ctx.Err(); err != nil {
		return Score{}, err
	}
	d, err := loadData()
	if err != nil {
		return Score{}, err
	}
	trainX, trainY, testX, testY := split(d, folds(d.y, j.Folds, j.Seed), j.Fold)
	m, steps := fit(trainX, trainY, j.C, j.Penalty == "l1", j.Iters, j.Tol)
	nz := 0
	for _, w := range m.w {
		if w != 0 {
			nz++
		}
	}
	return Score{Accuracy: m.accuracy(testX, testY), Steps: steps, NonZero: nz}, nil
}

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gridsearch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cList := fs.String("c", "0.01,0.1,1,10,100", "inverse penalty strengths C, comma-separated")
	penList := fs.String("penalty", "l1,l2", "penalties, comma-separated: l1, l2")
	k := fs.Int("folds", 5, "cross-validation folds")
	seed := fs.Uint64("seed", 1, "seed of the fold shuffle")
	iters := fs.Int("iters", 5000, "most solver steps per fit")
	tol := fs.Float64("tol", 1e-6, "stop when no coefficient moves more than this")
	jobs := fs.Int("jobs", -1, "workers (-1: every CPU)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	grid, err := makeGrid(*cList, *penList, *k, *seed, *iters, *tol)
	if err != nil || *jobs == 0 {
		fmt.Fprintln(stderr, "gridsearch:", cmpOr(err, "-jobs must not be 0"))
		return 2
	}
	// Where the jobs run: goroutines by default; one option changes it.
	opts := []par.Option{par.Jobs(*jobs), par.Bar()}

	t0 := time.Now()
	serial := make([]Score, len(grid))
	for i, j := range grid {
		if serial[i], err = evaluate(ctx, j); err != nil {
			fmt.Fprintln(stderr, "gridsearch:", err)
			return 1
		}
	}
	serialTime := time.Since(t0)

	t1 := time.Now()
	scores, err := par.Map(ctx, grid, Evaluate.Func(), opts...)
	if err != nil {
		fmt.Fprintln(stderr, "gridsearch:", err)
		return 1
	}
	parTime := time.Since(t1)
	if !slices.Equal(scores, serial) {
		fmt.Fprintln(stderr, "gridsearch: parallel scores differ from serial ones")
		return 1
	}

	rows := summarise(grid, scores)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "C\tpenalty\tmean accuracy\tstd\tnon-zero\tsteps\t")
	best := rows[0]
	for _, r := range rows {
		fmt.Fprintf(tw, "%g\t%s\t%.4f\t%.4f\t%.1f\t%.0f\t\n", r.C, r.Penalty, r.Mean, r.Std, r.NonZero, r.Steps)
		if r.Mean > best.Mean {
			best = r
		}
	}
	tw.Flush()
	fmt.Fprintf(stdout, "\nbest: C=%g penalty=%s, mean accuracy %.4f over %d folds\n", best.C, best.Penalty, best.Mean, *k)
	fmt.Fprintf(stdout, "%d fits: serial %v, par.Map %v: speed-up %.2f×\n", len(grid),
		serialTime.Round(time.Millisecond), parTime.Round(time.Millisecond), serialTime.Seconds()/parTime.Seconds())
	return 0
}

// makeGrid returns a job per (C, penalty, fold), folds varying fastest.
func makeGrid(cList, penList string, k int, seed uint64, iters int, tol float64) ([]Job, error) {
	if k < 2 || iters < 1 || tol < 0 {
		return nil, fmt.Errorf("-folds must be at least 2, -iters at least 1, -tol not negative")
	}
	var grid []Job
	for _, cs := range strings.Split(cList, ",") {
		c, err := strconv.ParseFloat(strings.TrimSpace(cs), 64)
		if err != nil || !(c > 0) || math.IsInf(c, 0) {
			return nil, fmt.Errorf("-c: %q is not a positive number", cs)
		}
		for _, p := range strings.Split(penList, ",") {
			if p = strings.TrimSpace(p); p != "l1" && p != "l2" {
				return nil, fmt.Errorf("-penalty: %q is neither l1 nor l2", p)
			}
			for f := range k {
				grid = append(grid, Job{C: c, Penalty: p, Fold: f, Folds: k, Seed: seed, Iters: iters, Tol: tol})
			}
		}
	}
	return grid, nil
}

// A row is one setting's scores over its folds.
type row struct {
	C              float64
	Penalty        string
	Mean, Std      float64
	NonZero, Steps float64 // means over the folds
}

// summarise averages the scores of consecutive jobs of the same setting.
func summarise(grid []Job, scores []Score) []row {
	var rows []row
	for i := 0; i < len(grid); i += grid[i].Folds {
		k := grid[i].Folds
		r := row{C: grid[i].C, Penalty: grid[i].Penalty}
		for _, s := range scores[i : i+k] {
			r.Mean += s.Accuracy / float64(k)
			r.NonZero += float64(s.NonZero) / float64(k)
			r.Steps += float64(s.Steps) / float64(k)
		}
		for _, s := range scores[i : i+k] {
			r.Std += (s.Accuracy - r.Mean) * (s.Accuracy - r.Mean) / float64(k)
		}
		r.Std = math.Sqrt(r.Std)
		rows = append(rows, r)
	}
	return rows
}

func cmpOr(err error, msg string) any {
	if err != nil {
		return err
	}
	return msg
}
