package main

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
)

// The data set travels inside the binary, so every worker that runs this
// program, in another process or on another machine, has it.
//
//go:embed data/breast_cancer.csv
var breastCancerCSV []byte

// dataset is the parsed CSV: one row of features per sample, label 0 or 1.
type dataset struct {
	X [][]float64
	y []float64
}

// loadData parses the embedded CSV once per process.
var loadData = sync.OnceValues(func() (*dataset, error) { return parseCSV(breastCancerCSV) })

// parseCSV reads scikit-learn's format: a header "rows,features,names…",
// then features and an integer label per line.
func parseCSV(b []byte) (*dataset, error) {
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = -1 // the header is shorter than the rows
	recs, err := r.ReadAll()
	if err != nil {
		return nil, err
	}
	if len(recs) < 2 || len(recs[0]) < 2 {
		return nil, fmt.Errorf("data: no header")
	}
	rows, err1 := strconv.Atoi(recs[0][0])
	cols, err2 := strconv.Atoi(recs[0][1])
	if err1 != nil || err2 != nil || rows != len(recs)-1 {
		return nil, fmt.Errorf("data: header %v does not match %d rows", recs[0][:2], len(recs)-1)
	}
	d := &dataset{X: make([][]float64, rows), y: make([]float64, rows)}
	for i, rec := range recs[1:] {
		if len(rec) != cols+1 {
			return nil, fmt.Errorf("data: line %d has %d fields, want %d", i+2, len(rec), cols+1)
		}
		d.X[i] = make([]float64, cols)
		for j := range cols {
			if d.X[i][j], err = strconv.ParseFloat(rec[j], 64); err != nil {
				return nil, fmt.Errorf("data: line %d: %w", i+2, err)
			}
		}
		if d.y[i], err = strconv.ParseFloat(rec[cols], 64); err != nil || (d.y[i] != 0 && d.y[i] != 1) {
			return nil, fmt.Errorf("data: line %d: label %q is not 0 or 1", i+2, rec[cols])
		}
	}
	return d, nil
}

// folds deals the samples into k stratified folds: each class is shuffled
// with a PCG seeded by seed and dealt round-robin, so every fold has about
// the same share of each class and the same seed gives the same folds.
func folds(y []float64, k int, seed uint64) [][]int {
	r := rand.New(rand.NewPCG(seed, 0))
	out := make([][]int, k)
	next := 0
	for _, class := range []float64{0, 1} {
		var idx []int
		for i, v := range y {
			if v == class {
				idx = append(idx, i)
			}
		}
		r.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
		for _, i := range idx {
			out[next%k] = append(out[next%k], i)
			next++
		}
	}
	return out
}

// split returns fold f as the test set and the rest as the training set,
// standardised with the training set's mean and standard deviation.
func split(d *dataset, parts [][]int, f int) (trainX [][]float64, trainY []float64, testX [][]float64, testY []float64) {
	for p, idx := range parts {
		for _, i := range idx {
			if p == f {
				testX, testY = append(testX, d.X[i]), append(testY, d.y[i])
			} else {
				trainX, trainY = append(trainX, d.X[i]), append(trainY, d.y[i])
			}
		}
	}
	cols := len(d.X[0])
	mean, std := make([]float64, cols), make([]float64, cols)
	for _, x := range trainX {
		for j, v := range x {
			mean[j] += v / float64(len(trainX))
		}
	}
	for _, x := range trainX {
		for j, v := range x {
			std[j] += (v - mean[j]) * (v - mean[j]) / float64(len(trainX))
		}
	}
	for j := range std {
		if std[j] = math.Sqrt(std[j]); std[j] == 0 {
			std[j] = 1
		}
	}
	scale := func(xs [][]float64) [][]float64 {
		out := make([][]float64, len(xs))
		for i, x := range xs {
			out[i] = make([]float64, cols)
			for j, v := range x {
				out[i][j] = (v - mean[j]) / std[j]
			}
		}
		return out
	}
	return scale(trainX), trainY, scale(testX), testY
}
