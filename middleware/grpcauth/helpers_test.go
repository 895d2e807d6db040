package grpcauth_test

import (
	"testing"

	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/middleware/grpcauth"
	"github.com/idbridge/idbridge/middleware/internal/guardtest"
)

// The fixtures shared with middleware's tests.
type (
	env            = guardtest.Env
	recorder       = guardtest.Recorder
	countingSource = guardtest.CountingSource
	rotatingSource = guardtest.RotatingSource
	stubValidator  = guardtest.StubValidator
)

var (
	newEnv       = guardtest.NewEnv
	exampleSetup = guardtest.ExampleSetup
)

const (
	groupRM       = guardtest.GroupRM
	groupApprover = guardtest.GroupApprover
	groupLeavers  = guardtest.GroupLeavers
)

// newServer returns the gRPC side of g with fns.
func newServer(tb testing.TB, g *middleware.Guard, fns ...func(*grpcauth.ServerOptions)) *grpcauth.Server {
	tb.Helper()
	s, err := grpcauth.NewServer(g, fns...)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}
