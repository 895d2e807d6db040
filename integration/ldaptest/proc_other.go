//go:build !linux

package ldaptest

import "syscall"

// sysProcAttr has no parent-death signal outside Linux; t.Cleanup still
// stops slapd on every normal test exit.
func sysProcAttr() *syscall.SysProcAttr { return nil }
