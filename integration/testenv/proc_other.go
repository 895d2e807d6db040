//go:build !linux

package testenv

import "syscall"

// SysProcAttr has no parent-death signal outside Linux; t.Cleanup still stops
// the server on every normal test exit.
func SysProcAttr() *syscall.SysProcAttr { return nil }
