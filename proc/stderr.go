package proc

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"sync"
)

// tailLines is how many of a worker's last stderr lines a
// par.WorkerLostError carries, and maxLine the longest line kept whole.
const (
	tailLines = 20
	maxLine   = 1024
)

// copyStderr copies a worker's standard error to dst, each line prefixed
// with prefix, keeping the last lines in t, until r ends. mu serialises the
// writes of all workers so that lines do not interleave.
func copyStderr(dst io.Writer, mu *sync.Mutex, prefix string, r io.Reader, t *tail) {
	br := bufio.NewReaderSize(r, 64<<10)
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if err == bufio.ErrBufferFull && len(line) < 1<<20 {
			continue
		}
		if len(line) > 0 {
			if line[len(line)-1] != '\n' {
				line = append(line, '\n')
			}
			t.add(line)
			mu.Lock()
			dst.Write(append([]byte(prefix), line...))
			mu.Unlock()
			line = line[:0]
		}
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
	}
}

// tail keeps the last lines written to it.
type tail struct {
	mu    sync.Mutex
	lines []string
	next  int
}

func (t *tail) add(line []byte) {
	line = bytes.TrimRight(line, "\r\n")
	if len(line) > maxLine {
		line = append(line[:maxLine:maxLine], "…"...)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) < tailLines {
		t.lines = append(t.lines, string(line))
		return
	}
	t.lines[t.next] = string(line)
	t.next = (t.next + 1) % tailLines
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	ordered := append(append([]string(nil), t.lines[t.next:]...), t.lines[:t.next]...)
	return strings.Join(ordered, "\n")
}
