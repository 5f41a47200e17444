package main

import "math"

// model is a fitted logistic regression: P(y=1|x) = σ(b + w·x).
type model struct {
	b float64
	w []float64
}

// fit minimises C·Σ logloss(yᵢ, b + w·xᵢ) + R(w), scikit-learn's
// LogisticRegression objective, with R(w) = ½‖w‖² (l2) or ‖w‖₁ (l1) and
// the intercept b unpenalised. Dividing by C·n, it runs accelerated
// proximal gradient descent (FISTA) on the mean log-loss plus R(w)/(C·n):
// a gradient step on the smooth part, then, for l1, a soft-threshold. The
// step is 1/L with L bounding the gradient's Lipschitz constant. It stops
// when no coefficient moves by more than tol, or after iters steps, and
// returns the model and the steps taken.
func fit(X [][]float64, y []float64, c float64, l1 bool, iters int, tol float64) (model, int) {
	n, d := len(X), len(X[0])
	lambda := 1 / (c * float64(n))  // penalty weight per sample
	lipschitz := 0.25 * maxEigen(X) // of the mean log-loss's gradient
	if !l1 {
		lipschitz += lambda // the l2 term's
	}
	step := 1 / lipschitz

	// theta[0] is b, theta[1:] is w; z is FISTA's extrapolated point.
	theta, prev, z := make([]float64, d+1), make([]float64, d+1), make([]float64, d+1)
	grad := make([]float64, d+1)
	t := 1.0
	k := 0
	for k < iters {
		k++
		clear(grad)
		for i, x := range X {
			r := sigmoid(dot(z, x)) - y[i]
			grad[0] += r
			for j, v := range x {
				grad[j+1] += r * v
			}
		}
		copy(prev, theta)
		moved := 0.0
		for j := range theta {
			g := grad[j] / float64(n)
			if j > 0 && !l1 {
				g += lambda * z[j]
			}
			v := z[j] - step*g
			if j > 0 && l1 {
				v = softThreshold(v, step*lambda)
			}
			theta[j] = v
			moved = max(moved, math.Abs(v-prev[j]))
		}
		tNext := (1 + math.Sqrt(1+4*t*t)) / 2
		for j := range z {
			z[j] = theta[j] + (t-1)/tNext*(theta[j]-prev[j])
		}
		t = tNext
		if moved < tol {
			break
		}
	}
	return model{b: theta[0], w: theta[1:]}, k
}

// accuracy is the share of samples whose predicted class is right.
func (m model) accuracy(X [][]float64, y []float64) float64 {
	right := 0
	for i, x := range X {
		p := 0.0
		if m.b+dotW(m.w, x) > 0 {
			p = 1
		}
		if p == y[i] {
			right++
		}
	}
	return float64(right) / float64(len(X))
}

// dot returns theta[0] + theta[1:]·x.
func dot(theta, x []float64) float64 { return theta[0] + dotW(theta[1:], x) }

func dotW(w, x []float64) float64 {
	s := 0.0
	for j, v := range x {
		s += w[j] * v
	}
	return s
}

func sigmoid(v float64) float64 { return 1 / (1 + math.Exp(-v)) }

func softThreshold(v, t float64) float64 {
	switch {
	case v > t:
		return v - t
	case v < -t:
		return v + t
	}
	return 0
}

// maxEigen estimates the largest eigenvalue of AᵀA/n, where A is X with a
// column of ones, by 100 steps of power iteration, with 1% to spare.
func maxEigen(X [][]float64) float64 {
	d := len(X[0]) + 1
	v := make([]float64, d)
	for j := range v {
		v[j] = 1 / math.Sqrt(float64(d))
	}
	lambda := 0.0
	for range 100 {
		av := make([]float64, d)
		for _, x := range X {
			s := dot(v, x)
			av[0] += s
			for j, xv := range x {
				av[j+1] += s * xv
			}
		}
		norm := 0.0
		for j := range av {
			av[j] /= float64(len(X))
			norm += av[j] * av[j]
		}
		lambda = math.Sqrt(norm)
		for j := range v {
			v[j] = av[j] / lambda
		}
	}
	return lambda * 1.01
}
