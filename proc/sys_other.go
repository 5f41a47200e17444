//go:build !linux

package proc

import (
	"errors"
	"os"
	"syscall"
)

// The process backend needs Linux: parent-death signals, shared memory for
// progress and /proc for memory use.
var errUnsupported = errors.New("proc: the process backend runs on Linux only")

func sysProcAttr() *syscall.SysProcAttr { return nil }

func killGroup(pid int) error { return errUnsupported }

type progress struct{ f *os.File }

const progressBits = 21

func newProgress() (*progress, error)         { return nil, errUnsupported }
func mapProgress(*os.File) (*progress, error) { return nil, errUnsupported }
func (p *progress) load() uint64              { return 0 }
func (p *progress) store(uint64)              {}
func (p *progress) close()                    {}
func started(v, id uint64) int                { return 0 }
func rss(pid int) (int64, error)              { return 0, errUnsupported }
func growPipe(*os.File)                       {}
