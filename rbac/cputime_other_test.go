//go:build !linux

package rbac

import "time"

func threadCPU() (time.Duration, bool) { return 0, false }
