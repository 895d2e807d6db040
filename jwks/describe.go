package jwks

import (
	"slices"
	"time"

	"github.com/idbridge/idbridge"
)

// Leeway returns the clock skew the validator tolerates for exp, nbf and
// iat, after defaults and clamping. A guard ends a gRPC stream at the
// token's exp plus this, the last moment the validator would accept it.
func (v *Validator) Leeway() time.Duration { return v.leeway }

// Issuers returns, sorted, the iss values whose tokens the validator can
// accept: fixed issuers as configured, and a {tenantid} issuer filled with
// each tenant of its allow-list (Issuer.Tenants, else Options.Tenants), or
// the template itself when it has no list (SkipTenantCheck). Start-up
// checks compare it with what a policy trusts.
func (v *Validator) Issuers() []string {
	out := make([]string, 0, len(v.exact)+len(v.templates))
	for iss := range v.exact {
		out = append(out, iss)
	}
	for _, e := range v.templates {
		tenants := e.tenants
		if len(tenants) == 0 {
			tenants = v.tenants
		}
		if len(tenants) == 0 {
			out = append(out, e.iss)
		}
		for _, tid := range tenants {
			out = append(out, e.pre+tid+e.suf)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// ValidUntil returns when the validator stops accepting the verified
// claims c by time alone: exp plus the leeway, or, with Options.MaxAge,
// iat plus MaxAge plus the leeway if that comes first; zero when neither
// bounds it. A guard ends a gRPC stream then. For nil claims it is an
// instant long past (the Unix epoch), so that a caller ends at once.
func (v *Validator) ValidUntil(c *idbridge.Claims) time.Time {
	if c == nil {
		return time.Unix(0, 0)
	}
	var t time.Time
	if !c.ExpiresAt.IsZero() {
		t = c.ExpiresAt.Add(v.leeway)
	}
	if v.maxAge > 0 && !c.IssuedAt.IsZero() {
		// checkTimes accepts an age of exactly maxAge+leeway, refuses beyond.
		if byAge := c.IssuedAt.Add(v.maxAge + v.leeway + 1); t.IsZero() || byAge.Before(t) {
			t = byAge
		}
	}
	return t
}
