package rbac

import (
	"syscall"
	"time"
)

// threadCPU is the CPU time of the calling OS thread. Benchmarks report
// it next to wall time because on a shared machine wall time also counts
// the time other processes held the core.
func threadCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_THREAD, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
