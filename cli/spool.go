package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// spoolMem is how much of one job's output stream stays in memory; the
// rest goes to a temporary file, so jobs that write gigabytes do not grow
// par's memory.
const spoolMem = 64 << 10

// spool holds one output stream of a job until it is printed. It is
// written by one goroutine (os/exec's copier) and read after the job
// ended. A failed write to the temporary file (a full disk) is kept and
// reported when the output is printed: output is never silently cut.
type spool struct {
	dir string
	mem bytes.Buffer
	f   *os.File
	n   int64
	err error
}

func (s *spool) Write(p []byte) (int, error) {
	s.n += int64(len(p))
	if s.err != nil {
		return len(p), nil // keep draining so the job does not block
	}
	if s.f == nil && s.mem.Len()+len(p) <= spoolMem {
		s.mem.Write(p)
		return len(p), nil
	}
	if s.f == nil {
		f, err := tempFile(s.dir)
		if err != nil {
			s.err = fmt.Errorf("spooling output: %w", err)
			return len(p), nil
		}
		s.f = f
	}
	if _, err := s.f.Write(p); err != nil {
		s.err = fmt.Errorf("spooling output: %w", err)
	}
	return len(p), nil
}

// WriteTo copies the spooled output to w; it may be called again.
func (s *spool) WriteTo(w io.Writer) (int64, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := w.Write(s.mem.Bytes())
	total := int64(n)
	if err != nil || s.f == nil {
		return total, err
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return total, err
	}
	buf := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(buf)
	m, err := io.CopyBuffer(onlyWriter{w}, s.f, *buf)
	return total + m, err
}

// Close frees the memory and the temporary file.
func (s *spool) Close() {
	if s == nil {
		return
	}
	s.mem = bytes.Buffer{}
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
}

// onlyWriter hides ReadFrom so io.CopyBuffer uses the pooled buffer.
type onlyWriter struct{ io.Writer }

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// tempFile opens a temporary file that has no name: O_TMPFILE where the
// file system has it, else a named file unlinked at once. Either way it
// is gone when par exits, even by SIGKILL.
func tempFile(dir string) (*os.File, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	fd, err := syscall.Open(dir, syscall.O_RDWR|unix.O_TMPFILE|syscall.O_CLOEXEC, 0o600)
	if err == nil {
		return os.NewFile(uintptr(fd), dir+"/(par spool)"), nil
	}
	f, err := os.CreateTemp(dir, "par-*.out")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name())
	return f, nil
}
