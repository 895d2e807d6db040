// Package guardcore is how package grpcauth runs the guard of package
// middleware without middleware importing gRPC: the guard's extraction,
// validation, policy decision, audit and error classification stay in
// middleware, and grpcauth reaches them through [Of]. Nothing here is
// for users.
package guardcore

import (
	"context"
	"time"

	"github.com/idbridge/idbridge"
)

// Route is a compiled requirement list.
type Route interface {
	// Err is why every request on the route fails closed; nil when none.
	Err() error
	// Skip reports a SkipAuth route: no token is read.
	Skip() bool
	// Stale reports a route that failed on a name its policy did not
	// declare, when the policy has been reloaded since: compile it again.
	Stale() bool
}

// Guard is the part of a *middleware.Guard that grpcauth uses. Errors it
// returns are *middleware.Error values, the answer the client gets.
type Guard interface {
	// Route compiles reqs, a []middleware.Requirement.
	Route(reqs any) Route
	// DefaultRoute is the route of methods that declare no requirement.
	DefaultRoute() Route
	// Admit extracts the bearer token from the values of the authorization
	// metadata, validates it, decides, checks rt and records the audit
	// events (remote is called only when auditing). It returns ctx carrying
	// the principal and its claims, or a *middleware.Error.
	Admit(ctx context.Context, rt Route, method string, remote func(context.Context) string, authorization []string) (context.Context, *idbridge.Claims, error)
	// Ended classifies the cause that ended an admitted stream.
	Ended(cause error) error
	// Challenge is the WWW-Authenticate value for e, or "".
	Challenge(e error) string
	// Describe is what the client is told of e: an error code and the
	// reason class.
	Describe(e error) (code, desc string)
	// ValidUntil is when the validator stops accepting c; zero for never.
	ValidUntil(c *idbridge.Claims) time.Time
	// Now is the guard's clock.
	Now() time.Time
}

// Of returns the core of a *middleware.Guard. Package middleware sets it
// when it is initialized.
var Of func(g any) Guard
