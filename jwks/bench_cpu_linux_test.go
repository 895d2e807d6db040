//go:build linux

package jwks_test

import (
	"runtime"
	"syscall"
	"testing"
	"time"
)

// threadCPU measures the CPU time of the calling thread, which excludes time
// spent waiting for a CPU: on a busy machine it is a steadier per-op figure
// than wall time. Work the runtime does on other threads (most of GC) is not
// counted.
type threadCPU struct{ start time.Duration }

func startThreadCPU() *threadCPU {
	runtime.LockOSThread()
	return &threadCPU{start: threadTime()}
}

// report adds cpu-ns/op to b and unlocks the thread.
func (t *threadCPU) report(b *testing.B) {
	d := threadTime() - t.start
	runtime.UnlockOSThread()
	b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

func threadTime() time.Duration {
	var ru syscall.Rusage
	const rusageThread = 1 // RUSAGE_THREAD
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
