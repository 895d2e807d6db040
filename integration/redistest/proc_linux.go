//go:build linux

package redistest

import "syscall"

// sysProcAttr makes the kernel kill redis-server if the test binary dies without
// running its cleanups (a panic in another goroutine, a timeout kill), so no
// orphaned redis-server keeps a port.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
