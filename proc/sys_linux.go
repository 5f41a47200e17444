//go:build linux

package proc

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sysProcAttr puts a worker in its own process group, so that a terminal's
// Ctrl-C reaches the parent alone (which then stops its workers), and has
// the kernel kill it when the parent dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}

// killGroup kills a worker and anything its jobs started.
func killGroup(pid int) error {
	err := syscall.Kill(-pid, syscall.SIGKILL)
	if err != nil {
		err = syscall.Kill(pid, syscall.SIGKILL)
	}
	return err
}

// progress is one word of memory shared by the parent and a worker: the
// worker stores batch<<progressBits | jobs started, before each job, and
// the parent reads it to see which job is running (for timeouts) and which
// job a worker died in. Storing costs a nanosecond; no system call.
type progress struct {
	f   *os.File
	mem []byte
}

const progressBits = 21 // a batch holds at most 2^20 jobs (wire.MaxArrayElements)

func newProgress() (*progress, error) {
	fd, err := unix.MemfdCreate("par-progress", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("proc: progress page: %w", err)
	}
	f := os.NewFile(uintptr(fd), "par-progress")
	if err := f.Truncate(int64(os.Getpagesize())); err != nil {
		f.Close()
		return nil, fmt.Errorf("proc: progress page: %w", err)
	}
	p, err := mapProgress(f)
	if err != nil {
		f.Close()
	}
	return p, err
}

func mapProgress(f *os.File) (*progress, error) {
	mem, err := unix.Mmap(int(f.Fd()), 0, os.Getpagesize(), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("proc: progress page: %w", err)
	}
	return &progress{f: f, mem: mem}, nil
}

func (p *progress) word() *uint64 { return (*uint64)(unsafe.Pointer(&p.mem[0])) }

func (p *progress) load() uint64   { return atomic.LoadUint64(p.word()) }
func (p *progress) store(v uint64) { atomic.StoreUint64(p.word(), v) }

// started returns how many jobs of batch id had started, going by v.
func started(v, id uint64) int {
	if v>>progressBits != id {
		return 0
	}
	return int(v & (1<<progressBits - 1))
}

func (p *progress) close() {
	unix.Munmap(p.mem)
	p.f.Close()
}

// rss returns the resident memory of process pid, in bytes.
func rss(pid int) (int64, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/statm")
	if err != nil {
		return 0, err
	}
	f := bytes.Fields(data)
	if len(f) < 2 {
		return 0, fmt.Errorf("proc: unexpected statm %q", data)
	}
	pages, err := strconv.ParseInt(string(f[1]), 10, 64)
	return pages * int64(os.Getpagesize()), err
}

// pipeSize is the buffer the jobs and results pipes ask for: a batch of a
// few thousand tiny jobs then crosses in one write instead of sixteen of
// the default 64 KiB, each a wake-up of the other side. Linux grants up
// to /proc/sys/fs/pipe-max-size (1 MiB by default) without privileges.
const pipeSize = 1 << 20

// growPipe enlarges the buffer of pipe f; it is only a speed-up, so a
// refusal is ignored.
func growPipe(f *os.File) {
	unix.FcntlInt(f.Fd(), unix.F_SETPIPE_SZ, pipeSize)
}
