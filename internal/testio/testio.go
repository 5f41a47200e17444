// Package testio holds what par's tests share for capturing output.
package testio

import (
	"bytes"
	"sync"
)

// Buffer is a bytes.Buffer that several writers (a command's pipes, worker
// processes' copied standard error) may write while a test reads it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
