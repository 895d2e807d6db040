package revocation

import (
	"context"
	"fmt"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/selfaudit"
	"github.com/idbridge/idbridge/jwks"
)

// TokenValidator is what [Validator] wraps: *jwks.Validator and
// *token.Introspector are ones.
type TokenValidator interface {
	Validate(ctx context.Context, token string) (*idbridge.Claims, error)
}

// Checker is a revocation list as [Validator] uses it: *List and the
// Redis-backed list are ones.
type Checker interface {
	Check(ctx context.Context, c *idbridge.Claims) error
}

// Validator validates a token and then checks it against a revocation
// list, so anything that takes a validator — the middleware guard for
// HTTP, gRPC unary calls and stream opening — refuses revoked tokens
// after validation and before authorization. A refusal is the list's
// error (class revoked: 401 invalid_token in middleware; ErrStale of the
// Redis list: 503). Give the list the same audit handler as the validator,
// so a refusal is recorded once. Safe for concurrent use.
type Validator struct {
	v TokenValidator
	c Checker
}

// NewValidator returns v checked against c. A nil v or c makes a
// validator that refuses every token with [idbridge.ErrInvalidOptions]:
// a missing list must not let revoked tokens through.
func NewValidator(v TokenValidator, c Checker) *Validator {
	if v == nil || c == nil {
		r := refuse{errMisconfigured}
		return &Validator{v: r, c: r}
	}
	return &Validator{v: v, c: c}
}

var errMisconfigured = fmt.Errorf("revocation: %w: NewValidator was given a nil validator or list", idbridge.ErrInvalidOptions)

// refuse stands in for a missing validator or list (of NewValidator or
// Source): it refuses every call with err.
type refuse struct{ err error }

func (r refuse) Validate(context.Context, string) (*idbridge.Claims, error) { return nil, r.err }

func (r refuse) Check(context.Context, *idbridge.Claims) error { return r.err }

// Validate returns v's answer, or the list's refusal for a valid token
// that is revoked.
func (v *Validator) Validate(ctx context.Context, token string) (*idbridge.Claims, error) {
	c, err := v.v.Validate(ctx, token)
	if err != nil {
		return nil, err
	}
	if err := v.c.Check(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}

// The guard of package middleware learns through selfaudit whether the
// wrapped validator audits validation already.
func init() {
	selfaudit.Register(func(v any) (bool, bool) {
		rv, ok := v.(*Validator)
		return ok && rv != nil && selfaudit.Audits(rv.v), ok
	})
}

// ValidUntil returns when the wrapped validator stops accepting c
// (*jwks.Validator says, by exp and MaxAge), so that middleware ends a
// stream admitted through the list when its token ends; for a validator
// that does not say, exp plus its Leeway (jwks.DefaultLeeway if it has
// none), or zero without exp, as middleware assumes. For nil claims it is
// the Unix epoch, long past, as *jwks.Validator answers.
func (v *Validator) ValidUntil(c *idbridge.Claims) time.Time {
	if c == nil {
		return time.Unix(0, 0)
	}
	if vu, ok := v.v.(interface {
		ValidUntil(*idbridge.Claims) time.Time
	}); ok {
		return vu.ValidUntil(c)
	}
	if c.ExpiresAt.IsZero() {
		return time.Time{}
	}
	leeway := jwks.DefaultLeeway
	if l, ok := v.v.(interface{ Leeway() time.Duration }); ok {
		leeway = l.Leeway()
	}
	return c.ExpiresAt.Add(leeway)
}

// Issuers returns the wrapped validator's issuers (see
// jwks.Validator.Issuers), nil if it does not list them, so that the
// guard's start-up check of validator against policy still runs.
func (v *Validator) Issuers() []string {
	if is, ok := v.v.(interface{ Issuers() []string }); ok {
		return is.Issuers()
	}
	return nil
}
