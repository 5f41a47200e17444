package cli

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// joblogHeader is the first line of a joblog, exactly as GNU parallel
// writes it, so tools that read one read the other.
const joblogHeader = "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n"

// LogEntry is one finished job in a joblog.
type LogEntry struct {
	Seq     int64
	Host    string
	Start   time.Time
	Runtime time.Duration
	Send    int64
	Receive int64
	Exitval int // -1 when killed (timeout, signal, halt)
	Signal  int
	Command string
}

// Format renders the entry as a joblog line in GNU parallel's format:
// start time with milliseconds, run time right-aligned in ten columns,
// newlines in the command written as NUL so one job is one line.
func (e LogEntry) Format() string {
	start := float64(e.Start.UnixMilli()) / 1000
	return fmt.Sprintf("%d\t%s\t%.3f\t%10.3f\t%d\t%d\t%d\t%d\t%s\n",
		e.Seq, e.Host, start, e.Runtime.Seconds(), e.Send, e.Receive,
		e.Exitval, e.Signal, strings.ReplaceAll(e.Command, "\n", "\x00"))
}

var (
	// a job that neither failed nor was killed: exit value 0, signal 0
	joblogOK = regexp.MustCompile(`^(\d+)(?:\t[^\t]+){5}\t0\t0\t`)
	// any well-formed line
	joblogAny = regexp.MustCompile(`^(\d+)\s+\S+(?:\s+[-0-9.]+){6}\s`)
)

// ReadJobLog reads a joblog written by par or GNU parallel and returns the
// sequence numbers --resume skips: every job in the log, or with
// failedOnly (--resume-failed) only the jobs that succeeded. A log with
// no header or no lines is fine; a malformed line is an error.
func ReadJobLog(r io.Reader, failedOnly bool) (map[int64]bool, error) {
	done := map[int64]bool{}
	br := bufio.NewReader(r)
	first := true
	for n := 1; ; n++ {
		line, err := br.ReadString('\n')
		if line != "" {
			if first && strings.HasPrefix(line, "Seq\t") {
				first = false
				continue
			}
			first = false
			if err := readLogLine(line, failedOnly, done); err != nil {
				return nil, fmt.Errorf("joblog line %d: %w", n, err)
			}
		}
		if err == io.EOF {
			return done, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func readLogLine(line string, failedOnly bool, done map[int64]bool) error {
	body := strings.TrimSuffix(line, "\n")
	if strings.TrimSpace(body) == "" {
		return nil
	}
	// GNU parallel also accepts a line ending right after the signal.
	if !joblogAny.MatchString(body + "\t") {
		return fmt.Errorf("format is wrong: %.80q", body)
	}
	m := joblogAny.FindStringSubmatch(body + "\t")
	seq, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return fmt.Errorf("bad sequence number %q", m[1])
	}
	if !failedOnly || joblogOK.MatchString(body+"\t") {
		done[seq] = true
	}
	return nil
}
