//go:build !linux

package jwks_test

import "testing"

type threadCPU struct{}

func startThreadCPU() *threadCPU         { return &threadCPU{} }
func (t *threadCPU) report(b *testing.B) {}
