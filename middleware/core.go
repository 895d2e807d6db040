package middleware

import (
	"context"
	"fmt"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/reason"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/middleware/internal/guardcore"
)

// core is the Guard as package grpcauth sees it, through guardcore: the
// same steps, audit and answers as the HTTP handler, without this package
// importing gRPC.
type core Guard

func init() {
	guardcore.Of = func(g any) guardcore.Guard { return (*core)(g.(*Guard)) }
}

func (c *core) Route(reqs any) guardcore.Route { return (*Guard)(c).compile(reqs.([]Requirement)) }

func (c *core) DefaultRoute() guardcore.Route { return c.defRoute }

func (c *core) Admit(ctx context.Context, r guardcore.Route, method string, remote func(context.Context) string, authorization []string) (context.Context, *idbridge.Claims, error) {
	g := (*Guard)(c)
	var info *reqInfo
	if g.audit.Enabled(ctx) {
		info = &reqInfo{method: method, start: g.now(), remote: remote(ctx)}
	}
	tok, err := bearerFromMetadata(authorization, g.maxSize)
	if err != nil {
		return ctx, nil, g.rejectEarly(ctx, err, info)
	}
	p, e := g.admit(ctx, r.(*route), tok, info)
	if e != nil {
		return ctx, nil, e
	}
	return NewContext(ctx, p), p.Claims, nil
}

// bearerFromMetadata extracts the token from exactly one authorization
// metadata value, with the same grammar as the HTTP header.
func bearerFromMetadata(vs []string, maxSize int) (string, error) {
	switch len(vs) {
	case 0:
		return "", fmt.Errorf("%w: no authorization metadata", ErrNoToken)
	case 1:
		return parseAuthorization(vs[0], maxSize)
	default:
		return "", fmt.Errorf("%w: %d authorization metadata values", ErrMultipleTokens, len(vs))
	}
}

func (c *core) Ended(cause error) error {
	st := stageValidate
	switch reason.Of(cause) {
	case reason.InsufficientScope, reason.InsufficientRole, reason.StepUpRequired, reason.Forbidden:
		st = stageAuthorize
	}
	return classify(st, cause)
}

func (c *core) Challenge(err error) string {
	if e, ok := err.(*Error); ok {
		return (*Guard)(c).challenge(e)
	}
	return ""
}

func (c *core) Describe(err error) (code, desc string) {
	if e, ok := err.(*Error); ok {
		return e.describe()
	}
	return "server_error", ""
}

// ValidUntil returns when a stream admitted with claims must end: when
// the validator stops accepting them (*jwks.Validator says, by exp and
// MaxAge), else at exp plus jwks.DefaultLeeway, the validator default, or
// the validator's own Leeway(); zero for none.
func (c *core) ValidUntil(claims *idbridge.Claims) time.Time {
	if vu, ok := c.v.(interface {
		ValidUntil(*idbridge.Claims) time.Time
	}); ok {
		return vu.ValidUntil(claims)
	}
	if claims.ExpiresAt.IsZero() {
		return time.Time{}
	}
	leeway := jwks.DefaultLeeway
	if l, ok := c.v.(interface{ Leeway() time.Duration }); ok {
		leeway = l.Leeway()
	}
	return claims.ExpiresAt.Add(leeway)
}

func (c *core) Now() time.Time { return c.now() }

// Err and Skip make a route a guardcore.Route.
func (rt *route) Err() error { return rt.err }
func (rt *route) Skip() bool { return rt.skip }

// Stale reports a route that failed on an undeclared name when its policy
// has been reloaded since (a later version may declare it).
func (rt *route) Stale() bool {
	return rt.policy != nil && rt.policy.Version() != rt.failedOn
}
