package middleware

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/reason"
	"github.com/idbridge/idbridge/rbac"
)

type reqKind uint8

const (
	kindAuthenticated reqKind = iota + 1
	kindPermission
	kindScope
	kindRole
	kindFunc
	kindSkip
)

// Requirement is one condition a request must meet once its token is
// valid. A route or gRPC method lists its requirements; all of them must
// hold. Build them with [Require], [RequireScope], [RequireRole],
// [RequireFunc], [Authenticated] or [SkipAuth]; the zero Requirement is
// invalid and fails closed.
type Requirement struct {
	kind  reqKind
	names []string
	label string
	fn    func(ctx context.Context, p *Principal) error
	err   error // a construction problem: the route fails closed
}

// String names the requirement as audit events show it in the permission
// field, for example "loan:read" or "scope:Orders.Read".
func (r Requirement) String() string { return r.label }

// Authenticated is met by any valid token. Use it for routes every signed-in
// caller may use; without it (or another requirement) a route is denied.
func Authenticated() Requirement {
	return Requirement{kind: kindAuthenticated, label: "authenticated"}
}

// Require is met when the rbac policy (Options.Policy) grants permission
// through one of the caller's roles. A denial names its cause: no role
// carries the permission (insufficient_role), a mapping would grant it with
// more scopes (insufficient_scope) or with MFA (step_up_required, answered
// with a claims challenge). A guard without Options.Policy fails closed.
func Require(permission string) Requirement {
	r := Requirement{kind: kindPermission, names: []string{permission}, label: permission}
	if permission == "" {
		r.err = fmt.Errorf("%w: Require with an empty permission", ErrMisconfigured)
	}
	return r
}

// RequireScope is met when the token's delegated scopes (scp) contain at
// least one of scopes. Scopes are what the user consented to let the client
// do; they say nothing about what the user may do, so pair RequireScope
// with [Require] or [RequireRole] for user data. A denial is answered with
// insufficient_scope and the scopes in the challenge's scope parameter, so
// the client knows what to ask for.
func RequireScope(scopes ...string) Requirement {
	r := Requirement{kind: kindScope, names: slices.Clone(scopes), label: "scope:" + strings.Join(scopes, " ")}
	if len(scopes) == 0 {
		r.err = fmt.Errorf("%w: RequireScope without scopes", ErrMisconfigured)
	}
	for _, s := range scopes {
		if !isScopeToken(s) {
			r.err = fmt.Errorf("%w: scope %q cannot be sent in a challenge (RFC 6749 §3.3)", ErrMisconfigured, s)
		}
	}
	return r
}

// RequireRole is met when the caller holds at least one of roles. When the
// guard has Options.Policy, the policy is the only authority: the roles
// are those its decision grants, so deny rules and separation of duties
// apply. Without a policy they are the token's app roles (the roles claim,
// assigned in the IdP to users and to applications).
func RequireRole(roles ...string) Requirement {
	r := Requirement{kind: kindRole, names: slices.Clone(roles), label: "role:" + strings.Join(roles, " ")}
	if len(roles) == 0 {
		r.err = fmt.Errorf("%w: RequireRole without roles", ErrMisconfigured)
	}
	return r
}

// RequireFunc is a custom check, named for audit events. fn runs after the
// token is validated and the policy has decided; returning nil admits the
// request. An error's reason class picks the answer: step_up_required gives
// a claims challenge (401), idp_unavailable 503, anything else 403. The
// error is never sent to the client.
func RequireFunc(name string, fn func(ctx context.Context, p *Principal) error) Requirement {
	r := Requirement{kind: kindFunc, label: name, fn: fn}
	if fn == nil || name == "" {
		r.err = fmt.Errorf("%w: RequireFunc needs a name and a function", ErrMisconfigured)
	}
	return r
}

// SkipAuth opens a route or gRPC method to everyone: no token is read or
// checked and no principal is put in the context. Anyone on the network can
// call it, so use it only for what must answer unauthenticated callers,
// such as health checks. It cannot be combined with other requirements.
func SkipAuth() Requirement { return Requirement{kind: kindSkip, label: "skip_auth"} }

// isScopeToken reports whether s is an RFC 6749 scope-token, which also
// makes it safe inside the quoted scope parameter of a challenge.
func isScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c == 0x22 || c == 0x5c || c > 0x7e {
			return false
		}
	}
	return true
}

// route is the compiled form of a requirement list, built once per
// Handler call or per gRPC method.
type route struct {
	reqs []Requirement
	skip bool
	err  error // fails every request closed
	// undeclared: err is a name the policy does not declare, which
	// Handler refuses outright
	undeclared bool
	// failedOn: the reloadable policy, and its version, that undeclared
	// was found against; see Stale
	failedOn string
	policy   *rbac.Policy
	label    string   // for the permission field of audit events
	scopes   []string // for the scope parameter of a challenge
}

// compile checks a requirement list against the guard's configuration. An
// empty list denies every request.
func (g *Guard) compile(reqs []Requirement) *route {
	rt := &route{reqs: reqs}
	if len(reqs) == 0 {
		rt.err = ErrNoRequirement
		rt.label = "none"
		return rt
	}
	labels := make([]string, 0, len(reqs))
	for _, r := range reqs {
		labels = append(labels, r.label)
		switch {
		case r.err != nil:
			rt.err = r.err
		case r.kind == 0:
			rt.err = fmt.Errorf("%w: zero Requirement", ErrMisconfigured)
		case r.kind == kindSkip:
			rt.skip = true
		case r.kind == kindPermission && g.policy == nil:
			rt.err = fmt.Errorf("%w: Require(%q) needs Options.Policy", ErrMisconfigured, r.names[0])
		case r.kind == kindScope:
			rt.scopes = append(rt.scopes, r.names...)
		}
	}
	if rt.skip && len(reqs) > 1 {
		rt.skip, rt.err = false, fmt.Errorf("%w: SkipAuth combined with other requirements", ErrMisconfigured)
	}
	if rt.err == nil {
		if err := g.checkRoute(reqs, &rt.failedOn); err != nil {
			rt.err, rt.undeclared = err, true
			if rt.failedOn != "" {
				rt.policy = g.policy.(*rbac.Policy)
			}
		}
	}
	rt.label = strings.Join(labels, ",")
	return rt
}

// authorize checks the requirements of rt for p. It returns the first
// failure; a route whose policy decision was denied by a rule fails here
// whatever its requirements.
func (g *Guard) authorize(ctx context.Context, rt *route, p *Principal) error {
	if rt.err != nil {
		return rt.err
	}
	if g.policy != nil {
		if err := p.Decision.Err(); err != nil && !noGrant(err) {
			// A deny rule, a separation-of-duties conflict or an undecidable
			// decision (overage without group source, a failed group source,
			// an issuer the policy does not know) denies every route:
			// deny rules are how leavers lose access before their tokens
			// expire.
			return err
		}
	}
	for i := range rt.reqs {
		if err := g.check(ctx, &rt.reqs[i], p); err != nil {
			return err
		}
	}
	return nil
}

// noGrant reports whether a decision error only means "nothing granted",
// which fails the requirements that need a grant but not the others.
func noGrant(err error) bool {
	switch reason.Of(err) {
	case reason.InsufficientRole, reason.InsufficientScope, reason.StepUpRequired:
		return true
	}
	return false
}

func (g *Guard) check(ctx context.Context, r *Requirement, p *Principal) error {
	switch r.kind {
	case kindAuthenticated:
		return nil
	case kindPermission:
		return p.Decision.Check(r.names[0])
	case kindScope:
		for _, s := range r.names {
			if p.Claims.HasScope(s) {
				return nil
			}
		}
		return ErrInsufficientScope
	case kindRole:
		for _, role := range r.names {
			if g.policy != nil && p.Decision.HasRole(role) || g.policy == nil && p.Claims.HasRole(role) {
				return nil
			}
		}
		return ErrInsufficientRole
	case kindFunc:
		err := r.fn(ctx, p)
		if err != nil && reason.Of(err) == "" && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			err = &classed{err: err, class: reason.Forbidden}
		}
		return err
	}
	return fmt.Errorf("%w: unknown requirement", ErrMisconfigured)
}

// classed gives a custom requirement's plain error the forbidden class.
type classed struct {
	err   error
	class idbridge.Reason
}

func (c *classed) Error() string           { return c.err.Error() }
func (c *classed) Unwrap() error           { return c.err }
func (c *classed) Reason() idbridge.Reason { return c.class }
