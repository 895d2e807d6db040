//go:build linux

package mototest

import "syscall"

// sysProcAttr makes the kernel kill moto_server if the test binary dies
// without running its cleanups.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
