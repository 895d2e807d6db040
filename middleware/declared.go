package middleware

import (
	"fmt"
	"slices"
	"strings"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/rbac"
)

// declarer is what the start-up checks need of a policy; *rbac.Policy is
// one. A policy without it is not checked.
type declarer interface {
	Declared() rbac.Declared
	TrustsIssuer(iss string) bool
}

// issuerLister is what the start-up check needs of a validator;
// *jwks.Validator is one.
type issuerLister interface {
	Issuers() []string
}

// checkIssuers returns an error naming the issuers v trusts that p has no
// issuer for: every token of theirs would be denied as issuer, and each
// caller blamed for the operator's mistake.
func checkIssuers(v Validator, p Policy) error {
	vi, ok1 := v.(issuerLister)
	pd, ok2 := p.(declarer)
	if !ok1 || !ok2 {
		return nil
	}
	var missing []string
	for _, iss := range vi.Issuers() {
		if !pd.TrustsIssuer(iss) {
			missing = append(missing, iss)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("middleware: %w: the policy has no issuer for %s, which the validator trusts, so every token from it would be denied; "+
		"declare it under issuers: in the policy (it declares %s) or stop trusting it in the validator",
		idbridge.ErrInvalidOptions, quoteList(missing), quoteList(pd.Declared().Issuers))
}

// checkDeclared returns an error for the first requirement that names a
// permission, role or scope the policy does not declare: such a route
// would deny every caller, a typo the client would be blamed for.
// Scopes are checked only against a policy that tests scopes at all: a
// policy that never mentions one is not the list of the API's scopes.
func (g *Guard) checkDeclared(reqs []Requirement) error {
	pd, ok := g.policy.(declarer)
	if !ok {
		return nil
	}
	var d *rbac.Declared
	for _, r := range reqs {
		if r.err != nil || (r.kind != kindPermission && r.kind != kindRole && r.kind != kindScope) {
			continue
		}
		if d == nil {
			dd := pd.Declared()
			d = &dd
		}
		var have []string
		var fn, what string
		switch r.kind {
		case kindPermission:
			have, fn, what = d.Permissions, "Require", "permission"
		case kindRole:
			have, fn, what = d.Roles, "RequireRole", "role"
		case kindScope:
			if len(d.Scopes) == 0 {
				continue
			}
			have, fn, what = d.Scopes, "RequireScope", "scope"
		}
		for _, n := range r.names {
			if _, found := slices.BinarySearch(have, n); !found {
				return fmt.Errorf("%w: %s(%s) names %s %q, which the policy does not declare (it declares %s)",
					ErrMisconfigured, fn, quoteList(r.names), what, n, quoteList(have))
			}
		}
	}
	return nil
}

// quoteList quotes up to ten names, comma-separated, for a message.
func quoteList(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	var b strings.Builder
	for i, n := range names {
		if i == 10 {
			fmt.Fprintf(&b, " and %d more", len(names)-i)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", n)
	}
	return b.String()
}
