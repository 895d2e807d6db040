// Package benchcpu adds a cpu-ns/op metric to benchmarks: the CPU time of
// the benchmark's OS thread per operation. On a shared machine wall time
// also counts other processes' turns on the core; thread CPU time does not
// (nor GC work done on other threads).
package benchcpu

import (
	"runtime"
	"testing"
)

// Start pins the benchmark goroutine to its thread and returns a function
// that reports cpu-ns/op and unpins it. Call it after setup, before the
// timed loop:
//
//	defer benchcpu.Start(b)()
//	for b.Loop() { ... }
func Start(b *testing.B) (report func()) {
	runtime.LockOSThread()
	start, ok := threadTime()
	return func() {
		end, ok2 := threadTime()
		runtime.UnlockOSThread()
		if ok && ok2 && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}
