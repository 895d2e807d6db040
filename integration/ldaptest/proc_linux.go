//go:build linux

package ldaptest

import "syscall"

// sysProcAttr makes the kernel kill slapd if the test binary dies without
// running its cleanups (a panic in another goroutine, a timeout kill), so no
// orphaned slapd keeps a port.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
