package middleware

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/rbac"
)

// Principal is the authenticated caller of a request: the verified claims
// of its token and the policy's decision about them. The guard puts it in
// the request context; handlers read it with [FromContext].
//
// A Principal is read-only: the Claims are shared with the validator's
// cache. It prints without its token under every fmt verb and log/slog.
type Principal struct {
	// Claims are the token's verified claims. Identify users by
	// Claims.ObjectID and Claims.TenantID, never by PreferredUsername.
	Claims *idbridge.Claims
	// Decision is the rbac policy's decision on Claims, for checks inside
	// the handler (Decision.Allowed("loan:approve")). It is the zero
	// Decision, which denies everything, when the guard has no
	// Options.Policy.
	Decision rbac.Decision

	token string
}

// Token returns the bearer token the request carried, for the one thing a
// service legitimately does with it: exchange it for a downstream token
// (on-behalf-of, RFC 8693; see token.Exchange). Never log it or send it
// anywhere else.
func (p *Principal) Token() string { return p.token }

// String describes the principal without its token.
func (p Principal) String() string {
	c := p.Claims
	if c == nil {
		return "middleware.Principal{}"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "middleware.Principal{iss=%q sub=%q", c.Issuer, c.Subject)
	if c.ObjectID != "" {
		fmt.Fprintf(&b, " oid=%q tid=%q", c.ObjectID, c.TenantID)
	}
	if id := c.Client(); id != "" {
		fmt.Fprintf(&b, " client=%q", id)
	}
	if roles := p.roles(); len(roles) > 0 {
		fmt.Fprintf(&b, " roles=%q", roles)
	}
	if p.token != "" {
		b.WriteString(" token=[redacted]")
	}
	b.WriteString("}")
	return b.String()
}

// Format implements fmt.Formatter so that no verb (%v, %+v, %#v, %s)
// prints the token, which a struct's default formatting would.
func (p Principal) Format(f fmt.State, _ rune) { fmt.Fprint(f, p.String()) }

// LogValue implements slog.LogValuer: a logged principal shows who it is,
// never its token.
func (p Principal) LogValue() slog.Value {
	c := p.Claims
	if c == nil {
		return slog.GroupValue()
	}
	attrs := []slog.Attr{slog.String("iss", c.Issuer), slog.String("sub", c.Subject)}
	if c.ObjectID != "" {
		attrs = append(attrs, slog.String("oid", c.ObjectID), slog.String("tid", c.TenantID))
	}
	if id := c.Client(); id != "" {
		attrs = append(attrs, slog.String("azp", id))
	}
	if roles := p.roles(); len(roles) > 0 {
		attrs = append(attrs, slog.Any("roles", roles))
	}
	return slog.GroupValue(attrs...)
}

// roles returns the policy's roles when it granted any, else the token's.
func (p *Principal) roles() []string {
	if p.Decision.OK() {
		return p.Decision.Roles()
	}
	if p.Claims != nil {
		return p.Claims.Roles
	}
	return nil
}

// principalKey is the context key of the principal; unexported so that no
// other package can set or overwrite it.
type principalKey struct{}

// FromContext returns the principal the guard admitted. It reports false
// outside a guarded handler and on [SkipAuth] routes.
func FromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}

// NewContext returns ctx carrying p. The guard calls it; handler tests call
// it to run a handler without a token.
func NewContext(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}
