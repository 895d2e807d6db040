package middleware_test

import "github.com/idbridge/idbridge/middleware/internal/guardtest"

// The fixtures shared with grpcauth's tests.
type (
	recorder       = guardtest.Recorder
	countingSource = guardtest.CountingSource
	rotatingSource = guardtest.RotatingSource
)

var (
	newEnv       = guardtest.NewEnv
	newClock     = guardtest.NewClock
	exampleSetup = guardtest.ExampleSetup
)

const (
	audience      = guardtest.Audience
	groupRM       = guardtest.GroupRM
	groupApprover = guardtest.GroupApprover
	groupLeavers  = guardtest.GroupLeavers
)
