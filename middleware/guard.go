package middleware

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/audit"
	"github.com/idbridge/idbridge/internal/authzhook"
	"github.com/idbridge/idbridge/internal/option"
	"github.com/idbridge/idbridge/internal/selfaudit"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/rbac"
)

// Validator is what the guard needs of a token validator; *jwks.Validator
// is one. Validate must be safe for concurrent use and return an error
// wrapping a jwks sentinel (or any error with a reason class) for a token
// it refuses.
type Validator interface {
	Validate(ctx context.Context, token string) (*idbridge.Claims, error)
}

// Policy is what the guard needs of an authorization policy; *rbac.Policy
// is one. The guard calls DecideContext once per request and records the
// authz.allowed or authz.denied event itself, so the policy's Authorize
// (which records its own) is not used and no decision is audited twice.
type Policy interface {
	DecideContext(ctx context.Context, c *idbridge.Claims) rbac.Decision
}

// defaultMaxTokenSize is the default Options.MaxTokenSize, the validator's
// own default: a header the validator would refuse is refused unread.
const defaultMaxTokenSize = jwks.DefaultMaxTokenSize

// Bounds of Options.MaxTokenSize.
const (
	minTokenSize = 1 << 10
	maxTokenSize = 64 << 10
)

// defaultStepUpClaims is the claims request (OpenID Connect Core §5.5) sent
// in a step-up challenge when Options.StepUpClaims is empty: an access
// token whose amr includes mfa.
const defaultStepUpClaims = `{"access_token":{"amr":{"essential":true,"values":["mfa"]}}}`

// Options configure a [Guard]. [New] copies them; changing them afterwards
// has no effect.
type Options struct {
	// Policy decides on verified claims; it is needed by [Require] and makes
	// [RequireRole] check the roles it grants. Nil means no policy: [Require]
	// fails closed and [Principal].Decision denies everything.
	Policy Policy
	// Default are the requirements of routes and gRPC methods (see package
	// grpcauth) that declare none. Empty means such routes are denied (403 /
	// PermissionDenied): an undeclared route is closed, not open.
	Default []Requirement
	// Realm is the realm of WWW-Authenticate challenges; "" leaves it out.
	// It must be printable ASCII without quotes or backslashes.
	Realm string
	// MaxTokenSize caps the token length in bytes, checked before the token
	// is scanned or validated. Zero means the validator's default,
	// jwks.DefaultMaxTokenSize (16 KiB); clamped to [1 KiB, 64 KiB].
	MaxTokenSize int
	// InsecureAllowQueryToken accepts a token in the access_token query
	// parameter (RFC 6750 §2.3) when the request has no Authorization
	// header, for clients that cannot set headers (EventSource, WebSocket
	// in browsers). URLs end up in proxy and server logs, browser history
	// and Referer headers, so anyone who reads those can replay the token.
	// The guard removes the parameter before calling the handler.
	InsecureAllowQueryToken bool
	// StepUpClaims is the claims request (JSON) sent, base64-encoded, in the
	// insufficient_claims challenge when the policy requires step-up
	// authentication. Empty means an access token whose amr includes mfa,
	// {"access_token":{"amr":{"essential":true,"values":["mfa"]}}}. For a Microsoft Entra
	// authentication context use
	// {"access_token":{"acrs":{"essential":true,"value":"c1"}}}.
	StepUpClaims string
	// ClaimsChallengeAlways sends the insufficient_claims challenge to every
	// client that must step up. By default only clients whose token says
	// they can handle one (xms_cc lists "cp1", which MSAL adds when the app
	// declares the capability) get it, as Microsoft Entra itself does: a
	// client that does not understand the challenge cannot answer it, and
	// some retry in a loop. The others get the standard step-up answer of
	// RFC 9470, 401 with error="insufficient_user_authentication". Set it
	// for IdPs that emit no xms_cc when you know your clients handle claims
	// challenges.
	ClaimsChallengeAlways bool
	// AuthorizationURI, when set, is sent as the authorization_uri parameter
	// of claims challenges, as Entra does, to tell the client where to
	// obtain a new token.
	AuthorizationURI string
	// ErrorHandler writes the response of a rejected HTTP request after the
	// guard has set WWW-Authenticate and Cache-Control. Nil means a small
	// JSON body {"error": ..., "error_description": ...}. It must not write
	// e.Err to the client: the cause may name claims or configuration.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, e *Error)
	// Audit receives the guard's audit events; nil means no audit. See the
	// package documentation for which step records which event.
	Audit slog.Handler
	// ValidatorAudits says that the validator records token.validated and
	// token.rejected itself, so the guard does not record them again for
	// tokens the validator checked. It is detected for the SDK's own
	// validators with an audit handler (*jwks.Validator, *token.Introspector,
	// and a *revocation.Validator wrapping either); set it for other
	// validators that audit. The guard still records token.rejected for
	// requests refused before validation.
	ValidatorAudits bool
	// Now is the clock for audit durations and gRPC stream expiry; nil
	// means time.Now.
	Now func() time.Time
}

// Guard admits HTTP requests and gRPC calls that carry a valid bearer token
// meeting their route's requirements, and rejects the rest with RFC 6750
// answers. Build one per API with [New]; it is safe for concurrent use by
// multiple goroutines, runs no goroutines and needs no Close.
type Guard struct {
	v          Validator
	policy     Policy
	quiet      func(context.Context, *idbridge.Claims) rbac.Decision // see quietDecider
	defaults   []Requirement
	defRoute   *route
	realm      string
	maxSize    int
	allowQuery bool
	stepUp     string // base64 claims request
	claimsAll  bool   // claims challenge without cp1
	authzURI   string
	errHandler func(http.ResponseWriter, *http.Request, *Error)
	audit      *audit.Logger
	tokenAudit bool
	now        func() time.Time
	reload     *reloadGuard // nil unless the policy reloads (*rbac.Policy)
}

// New builds a Guard around v. It refuses options that cannot work, so a
// misconfigured service fails at start: a nil validator, a nil
// *rbac.Policy, a realm or authorization URI that cannot be quoted,
// step-up claims that are not a JSON object, default requirements that
// cannot be evaluated or that name a permission, role or scope the policy
// does not declare, and a
// validator that trusts an issuer the policy has no issuer for (checked
// when the validator lists its issuers and the policy answers which it
// trusts, as *jwks.Validator and *rbac.Policy do), whose tokens would all
// be denied.
func New(v Validator, optFns ...func(*Options)) (*Guard, error) {
	o := option.New(optFns)
	if v == nil {
		return nil, invalidOptions("a validator is required")
	}
	if err := o.check(); err != nil {
		return nil, err
	}
	o.setDefaults()
	if selfaudit.Audits(v) {
		o.ValidatorAudits = true
	}
	g := &Guard{
		v:          v,
		policy:     o.Policy,
		quiet:      quietDecider(o.Policy),
		defaults:   append([]Requirement(nil), o.Default...),
		realm:      o.Realm,
		maxSize:    o.MaxTokenSize,
		allowQuery: o.InsecureAllowQueryToken,
		stepUp:     base64.StdEncoding.EncodeToString([]byte(o.StepUpClaims)),
		claimsAll:  o.ClaimsChallengeAlways,
		authzURI:   o.AuthorizationURI,
		errHandler: o.ErrorHandler,
		audit:      audit.New(o.Audit),
		tokenAudit: !o.ValidatorAudits,
		now:        o.Now,
	}
	if o.Policy != nil {
		if err := g.watchReloads(v); err != nil {
			return nil, err
		}
	}
	g.defRoute = g.compile(g.defaults)
	if len(g.defaults) > 0 && g.defRoute.err != nil {
		g.unwatch()
		return nil, invalidOptions("Default: %v", g.defRoute.err)
	}
	return g, nil
}

// invalidOptions is the error of a constructor refusing its options.
func invalidOptions(format string, args ...any) error {
	return fmt.Errorf("middleware: %w: "+format, append([]any{idbridge.ErrInvalidOptions}, args...)...)
}

// check refuses a nil *rbac.Policy and the options that cannot be quoted
// or parsed.
func (o *Options) check() error {
	if p, ok := o.Policy.(*rbac.Policy); ok && p == nil {
		return invalidOptions("Policy is a nil *rbac.Policy")
	}
	if !quotable(o.Realm) {
		return invalidOptions("Realm must be printable ASCII without quotes or backslashes")
	}
	if !quotable(o.AuthorizationURI) {
		return invalidOptions("AuthorizationURI must be printable ASCII without quotes or backslashes")
	}
	if o.StepUpClaims != "" {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal([]byte(o.StepUpClaims), &obj); err != nil || obj == nil {
			return invalidOptions("StepUpClaims must be a JSON object")
		}
	}
	return nil
}

// setDefaults fills in the zero options and clamps MaxTokenSize.
func (o *Options) setDefaults() {
	option.Default(&o.StepUpClaims, defaultStepUpClaims)
	option.Default(&o.MaxTokenSize, defaultMaxTokenSize)
	option.Clamp(&o.MaxTokenSize, minTokenSize, maxTokenSize)
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ErrorHandler == nil {
		o.ErrorHandler = WriteError
	}
}

// quotable reports whether s can go inside a quoted-string unescaped.
func quotable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c > 0x7e {
			return false
		}
	}
	return true
}

// reqInfo describes a request for audit events; nil when audit is off.
type reqInfo struct {
	route, method, remote string
	start                 time.Time
}

// admit runs steps 2 and 3 for an extracted token: validate, decide, check
// the requirements, recording their audit events when info is not nil.
func (g *Guard) admit(ctx context.Context, rt *route, tok string, info *reqInfo) (*Principal, *Error) {
	claims, err := g.v.Validate(ctx, tok)
	if err == nil && claims == nil {
		// A validator that neither accepts nor refuses (a custom one with a
		// bug) must not let the request through with no one behind it.
		err = errNoClaims
	}
	if info != nil && g.tokenAudit {
		g.emitToken(ctx, claims, err, info, g.now().Sub(info.start))
	}
	if err != nil {
		return nil, classify(stageValidate, err)
	}
	p := &Principal{Claims: claims, token: tok}
	if g.policy != nil {
		if info != nil && g.quiet != nil {
			p.Decision = g.quiet(ctx, claims) // emitAuthz records the decision
		} else {
			p.Decision = g.policy.DecideContext(ctx, claims)
		}
	}
	err = g.authorize(ctx, rt, p)
	if info != nil {
		g.emitAuthz(ctx, p, rt, err, info, g.now().Sub(info.start))
	}
	if err != nil {
		e := classify(stageAuthorize, err)
		if errors.Is(err, ErrInsufficientScope) {
			e.Scope = slices.Clone(rt.scopes) // the handler may keep or change it
		}
		if e.Code == CodeInsufficientClaims && !g.claimsAll && !slices.Contains(claims.ClientCapabilities, "cp1") {
			e.Code = CodeInsufficientUserAuthentication
		}
		return nil, e
	}
	return p, nil
}

// rejectEarly records the audit event of a request refused before
// validation.
func (g *Guard) rejectEarly(ctx context.Context, err error, info *reqInfo) *Error {
	e := classify(stageExtract, err)
	if info != nil {
		cls := e.class
		if errors.Is(err, ErrNoToken) {
			// Anonymous traffic (browsers, probes before a challenge) is
			// normal: class "missing", written at INFO, not WARN malformed.
			cls = idbridge.ReasonMissing
		}
		g.audit.Emit(ctx, audit.Event{
			Name: audit.TokenRejected, Outcome: audit.Failure, Reason: cls,
			Route: info.route, Method: info.method, RemoteAddr: info.remote,
			Duration: g.now().Sub(info.start),
		})
	}
	return e
}

// emitToken records step 2 for validators that do not audit themselves.
func (g *Guard) emitToken(ctx context.Context, c *idbridge.Claims, err error, info *reqInfo, d time.Duration) {
	e := audit.Event{
		Name: audit.TokenValidated, Outcome: audit.Success,
		Route: info.route, Method: info.method, RemoteAddr: info.remote, Duration: d,
	}
	if err != nil {
		e.Name, e.Outcome, e.Reason = audit.TokenRejected, audit.Failure, classify(stageValidate, err).class
	} else if c != nil {
		identify(&e, c)
		e.KeyID, e.Algorithm = c.Header.KeyID, c.Header.Algorithm
		e.Roles = c.Roles
	}
	g.audit.Emit(ctx, e)
}

// emitAuthz records step 3.
func (g *Guard) emitAuthz(ctx context.Context, p *Principal, rt *route, err error, info *reqInfo, d time.Duration) {
	e := audit.Event{
		Name: audit.AuthzAllowed, Outcome: audit.Success, Permission: rt.label,
		Route: info.route, Method: info.method, RemoteAddr: info.remote, Duration: d,
		Roles: p.roles(),
	}
	if err != nil {
		e.Name, e.Outcome, e.Reason = audit.AuthzDenied, audit.Failure, classify(stageAuthorize, err).class
	}
	identify(&e, p.Claims)
	if g.policy != nil {
		attrs := []slog.Attr{slog.String("policy_version", p.Decision.PolicyVersion())}
		if r := p.Decision.Rule(); r != "" {
			attrs = append(attrs, slog.String("rule", r))
		}
		e.Attrs = attrs
	}
	g.audit.Emit(ctx, e)
}

// identify copies the identity of verified claims into an event.
func identify(e *audit.Event, c *idbridge.Claims) {
	e.Issuer, e.TenantID, e.Subject, e.ObjectID, e.Client = c.Issuer, c.TenantID, c.Subject, c.ObjectID, c.Client()
	id := c.ID
	if id == "" {
		id = c.UTI
	}
	e.TokenID = audit.TokenID(id)
}

// quietDecider returns how the guard decides with an *rbac.Policy when it
// records the request's authz event itself: without the policy's own event
// for the same decision, so that each decision is recorded once. nil for
// other policies.
func quietDecider(p Policy) func(context.Context, *idbridge.Claims) rbac.Decision {
	rp, ok := p.(*rbac.Policy)
	if !ok || rp == nil {
		return nil
	}
	return func(ctx context.Context, c *idbridge.Claims) rbac.Decision {
		return rp.DecideContext(authzhook.Quiet(ctx), c)
	}
}
