package middleware_test

import (
	"time"

	"github.com/idbridge/idbridge/middleware/internal/guardtest"
)

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

// The guard's defaults, as its documentation states them.
const (
	defaultStepUpClaims = `{"access_token":{"amr":{"essential":true,"values":["mfa"]}}}`
	renewInterval       = 30 * time.Second
)

const (
	audience      = guardtest.Audience
	groupRM       = guardtest.GroupRM
	groupApprover = guardtest.GroupApprover
	groupLeavers  = guardtest.GroupLeavers
)
