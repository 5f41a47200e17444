package main

import "syscall"

// workerAttr puts a worker process in its own process group, so that a
// Ctrl-C in the terminal reaches the driver alone, which then stops its
// workers in order; and has the kernel send it SIGTERM if the driver dies
// without doing so, so that no worker outlives it.
func workerAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
