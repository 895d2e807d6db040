//go:build linux

package testenv

import "syscall"

// SysProcAttr makes the kernel kill a server the tests started if the test
// binary dies without running its cleanups (a panic in another goroutine, a
// timeout kill), so no orphaned server keeps a port.
func SysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
