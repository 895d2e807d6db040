//go:build !linux

package benchcpu

import "time"

func threadTime() (time.Duration, bool) { return 0, false }
