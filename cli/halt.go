package cli

import (
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// account counts a finished job and applies --halt, as GNU parallel's
// should_we_halt: the exit status is fixed when the condition is first met.
func (r *runner) account(res *result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.haltNow {
		res.suppress = true
		return
	}
	r.done++
	failed := res.failed()
	if failed {
		r.failed++
	} else if r.timeout.Pct > 0 {
		r.med.add(res.dur)
	}
	if r.halt.When == haltNever {
		return
	}
	var limit int
	switch {
	case r.halt.On == haltDone:
		limit = r.done
	case r.halt.On == haltFail && failed:
		limit = r.failed
	case r.halt.On == haltSuccess && !failed:
		limit = r.done - r.failed
	default:
		return
	}
	// Like GNU parallel, name every job that counts towards the halt.
	what := map[haltOn]string{haltFail: "failed", haltSuccess: "succeeded", haltDone: "finished"}[r.halt.On]
	res.haltMsg = "par: This job " + what + ":\n" + res.cmd + "\n"
	if r.halted {
		return
	}
	need := float64(r.halt.Count)
	if r.halt.Pct > 0 {
		need = r.halt.Pct * float64(max(r.total, 0))
	}
	if float64(limit) < need {
		return
	}
	r.halted = true
	r.stopNew = true
	switch {
	case r.halt.On == haltSuccess:
		r.haltRC = 0
	case r.halt.Pct > 0:
		r.haltRC = ceilDiv(r.failed*100, max(1, r.total))
	case r.halt.Count == 1:
		r.haltRC = res.exit
		if res.exit <= 0 && res.signal != 0 {
			r.haltRC = res.signal + 128
		}
	case r.failed == 0:
		// GNU parallel's min() skips its never-set failure counter, so
		// done=N with no failures exits 101; scripts see that, so par does too.
		r.haltRC = 101
	default:
		r.haltRC = min(r.failed, 101)
	}
	if r.halt.When == haltNow {
		r.haltNow = true
		r.kill()
	} else if running := r.started - r.done; running > 0 {
		res.haltMsg += "par: Starting no more jobs. Waiting for " + strconv.Itoa(running) + " jobs to finish.\n"
	}
}

// parseTermSeq reads --termseq: signal names and milliseconds, such as
// TERM,200,TERM,100,KILL,25.
func parseTermSeq(s string) ([]termStep, error) {
	parts := strings.Split(s, ",")
	var seq []termStep
	for i := 0; i < len(parts); i += 2 {
		sig, ok := signals[strings.TrimPrefix(strings.ToUpper(parts[i]), "SIG")]
		if !ok {
			return nil, usagef("--termseq: unknown signal %q", parts[i])
		}
		st := termStep{sig: sig, wait: 0}
		if i+1 < len(parts) {
			ms, err := strconv.Atoi(parts[i+1])
			if err != nil || ms < 0 {
				return nil, usagef("--termseq: %q is not milliseconds", parts[i+1])
			}
			st.wait = time.Duration(ms) * time.Millisecond
		}
		seq = append(seq, st)
	}
	return seq, nil
}

var signals = map[string]syscall.Signal{"TERM": syscall.SIGTERM, "KILL": syscall.SIGKILL,
	"INT": syscall.SIGINT, "HUP": syscall.SIGHUP, "QUIT": syscall.SIGQUIT,
	"USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2, "ALRM": syscall.SIGALRM}

// remedian keeps run times for the median --timeout N% is relative to.
// It keeps the last 1,000 values: enough for a stable median, bounded.
type remedian struct {
	vals []time.Duration
	next int
}

func (m *remedian) add(d time.Duration) {
	if len(m.vals) < 1000 {
		m.vals = append(m.vals, d)
		return
	}
	m.vals[m.next] = d
	m.next = (m.next + 1) % len(m.vals)
}

func (m *remedian) median() time.Duration {
	if len(m.vals) == 0 {
		return 0
	}
	s := slices.Clone(m.vals)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}
