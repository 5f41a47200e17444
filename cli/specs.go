package cli

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// maxJobs bounds -j 0 ("as many as possible"), like GNU parallel's limit
// from free file handles.
const maxJobs = 1024

// parseJobs reads -j: N, N% of the CPUs, +N or -N CPUs, 0 for as many as
// possible. The result is at least 1.
func parseJobs(spec string, cpus int) (int, error) {
	if spec == "" {
		return cpus, nil
	}
	var n float64
	switch {
	case regexp.MustCompile(`^\+\d+$`).MatchString(spec):
		v, _ := strconv.Atoi(spec[1:])
		n = float64(cpus + v)
	case regexp.MustCompile(`^-\d+$`).MatchString(spec):
		v, _ := strconv.Atoi(spec[1:])
		n = float64(cpus - v)
	case regexp.MustCompile(`^\d+(\.\d+)?%$`).MatchString(spec):
		v, _ := strconv.ParseFloat(spec[:len(spec)-1], 64)
		n = float64(cpus) * v / 100
	case regexp.MustCompile(`^\d+$`).MatchString(spec):
		v, err := strconv.Atoi(spec)
		if err != nil {
			return 0, usagef("-j %s: number too large", spec)
		}
		if v == 0 {
			return maxJobs, nil
		}
		n = float64(v)
	default:
		return 0, usagef("cannot parse --jobs/-j %q: want N, N%%, +N, -N or 0", spec)
	}
	j := int(math.Ceil(n))
	if j < 1 {
		j = 1
	}
	if j > maxJobs*64 {
		j = maxJobs * 64
	}
	return j, nil
}

// haltWhen is when par stops after the halt condition is met.
type haltWhen uint8

const (
	haltNever haltWhen = iota
	haltSoon           // start no new jobs, wait for running ones
	haltNow            // kill running jobs
)

// haltOn is what --halt counts.
type haltOn uint8

const (
	haltFail haltOn = iota
	haltSuccess
	haltDone
)

// HaltSpec is a parsed --halt value such as now,fail=1 or soon,success=30%.
type HaltSpec struct {
	When  haltWhen
	On    haltOn
	Count int     // N jobs, when Pct is 0
	Pct   float64 // fraction of all jobs, 0 when Count is used
}

// ParseHalt reads --halt with GNU parallel's rules, including the short
// forms 0, 1, 2, -1, -2 and N%.
func ParseHalt(s string) (HaltSpec, error) {
	switch s {
	case "0":
		s = "never"
	case "1":
		s = "soon,fail=1"
	case "2":
		s = "now,fail=1"
	case "-1":
		s = "soon,success=1"
	case "-2":
		s = "now,success=1"
	}
	if regexp.MustCompile(`^\d+%$`).MatchString(s) {
		s = "soon,fail=" + s
	}
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '=' })
	var h HaltSpec
	if len(parts) == 0 {
		return h, usagef("--halt must have 'never', 'soon', or 'now'")
	}
	switch parts[0] {
	case "never":
		return h, nil
	case "soon":
		h.When = haltSoon
	case "now":
		h.When = haltNow
	default:
		return h, usagef("--halt must have 'never', 'soon', or 'now', not %q", s)
	}
	if len(parts) < 2 {
		return h, usagef("--halt %s must be followed by ,success or ,fail", parts[0])
	}
	switch parts[1] {
	case "fail":
		h.On = haltFail
	case "success":
		h.On = haltSuccess
	case "done":
		h.On = haltDone
	default:
		return h, usagef("--halt %s must be followed by ,success or ,fail, not %q", parts[0], parts[1])
	}
	if len(parts) != 3 {
		return h, usagef("--halt %s,%s must be followed by ,number or ,percent%%", parts[0], parts[1])
	}
	v := parts[2]
	if m := regexp.MustCompile(`^(\d+)%$`).FindStringSubmatch(v); m != nil {
		p, _ := strconv.Atoi(m[1])
		h.Pct = float64(p) / 100
		return h, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return h, usagef("--halt %s,%s must be followed by ,number or ,percent%%, not %q", parts[0], parts[1], v)
	}
	h.Count = n
	return h, nil
}

// TimeoutSpec is a parsed --timeout: a fixed duration, or a percentage of
// the median run time of the successful jobs so far.
type TimeoutSpec struct {
	D   time.Duration
	Pct float64 // e.g. 2 for 200%
}

// ParseTimeout reads --timeout: seconds (with optional s/m/h/d units, as
// GNU parallel's durations) or N%.
func ParseTimeout(s string) (TimeoutSpec, error) {
	if p, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || v <= 0 || math.IsInf(v, 0) {
			return TimeoutSpec{}, usagef("--timeout must be seconds or percentage, not %q", s)
		}
		return TimeoutSpec{Pct: v / 100}, nil
	}
	d, err := parseDuration(s)
	if err != nil || d <= 0 {
		return TimeoutSpec{}, usagef("--timeout must be seconds or percentage, not %q", s)
	}
	return TimeoutSpec{D: d}, nil
}

var durRe = regexp.MustCompile(`^(\d+(?:\.\d*)?|\.\d+)([smhd]?)`)

// parseDuration reads GNU parallel's durations: 1.5 is seconds, and
// units may be chained: 1h30m, 2d3s.
func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, usagef("empty duration")
	}
	var total float64
	rest := s
	for rest != "" {
		m := durRe.FindStringSubmatch(rest)
		if m == nil {
			return 0, usagef("cannot read duration %q", s)
		}
		v, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			return 0, usagef("cannot read duration %q", s)
		}
		mult := map[string]float64{"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m[2]]
		total += v * mult
		rest = rest[len(m[0]):]
	}
	if total > float64(math.MaxInt64/int64(time.Second)) {
		return 0, usagef("duration %q is too long", s)
	}
	return time.Duration(total * float64(time.Second)), nil
}

// parseSize reads --block sizes: bytes with optional k, M, G, T (powers
// of 1024), as GNU parallel.
func parseSize(s string) (int64, error) {
	m := regexp.MustCompile(`^(\d+(?:\.\d+)?)([kKmMgGtT]?)$`).FindStringSubmatch(s)
	if m == nil {
		return 0, usagef("cannot read size %q", s)
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	mult := map[string]float64{"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[strings.ToLower(m[2])]
	n := v * mult
	if n < 1 || n > 1<<40 {
		return 0, usagef("size %q out of range", s)
	}
	return int64(n), nil
}
