package middleware

import (
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"weak"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/reloadcheck"
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
func checkIssuers(v Validator, p any) error {
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

// declaredKind reports whether r is checked against what the policy
// declares.
func declaredKind(r *Requirement) bool {
	return r.err == nil && (r.kind == kindPermission || r.kind == kindRole || r.kind == kindScope)
}

// checkDeclared returns an error for the first requirement that names a
// permission, role or scope the policy does not declare: such a route
// would deny every caller, a typo the client would be blamed for.
// Scopes are checked only against a policy that tests scopes at all: a
// policy that never mentions one is not the list of the API's scopes.
func checkDeclared(pd declarer, reqs []Requirement) error {
	var d *rbac.Declared
	for i := range reqs {
		if !declaredKind(&reqs[i]) {
			continue
		}
		if d == nil {
			dd := pd.Declared()
			d = &dd
		}
		if err := undeclared(d, &reqs[i]); err != nil {
			return err
		}
	}
	return nil
}

// undeclared returns the error for r if it names what d does not declare.
func undeclared(d *rbac.Declared, r *Requirement) error {
	var have []string
	var fn, what string
	switch r.kind {
	case kindPermission:
		have, fn, what = d.Permissions, "Require", "permission"
	case kindRole:
		have, fn, what = d.Roles, "RequireRole", "role"
	case kindScope:
		if len(d.Scopes) == 0 {
			return nil
		}
		have, fn, what = d.Scopes, "RequireScope", "scope"
	}
	for _, n := range r.names {
		if _, found := slices.BinarySearch(have, n); !found {
			return fmt.Errorf("%w: %s(%s) names %s %q, which the policy does not declare (it declares %s)",
				ErrMisconfigured, fn, quoteList(r.names), what, n, quoteList(have))
		}
	}
	return nil
}

// reloadGuard keeps what a guard was checked for at start-up, so that a
// reload of its policy is checked for the same: the issuers its validator
// trusts, and the requirements of the routes compiled so far. The policy
// holds its check through a weak pointer, and the check is removed when
// the guard is collected (see watchReloads).
type reloadGuard struct {
	v      Validator
	locked func(fn func()) // runs fn under the policy's reload lock
	drop   func()          // unregisters the check at once, for a New that fails

	mu   sync.Mutex
	reqs map[string]Requirement // by kind and names
}

// watchReloads checks at once that the policy has an issuer for every
// issuer v trusts, then registers a check that refuses a reload of the
// policy that would break g. A policy that does not reload (not an
// *rbac.Policy) is checked once, here.
func (g *Guard) watchReloads(v Validator) error {
	checks, locked := reloadcheck.Of(g.policy)
	if checks == nil {
		return checkIssuers(v, g.policy)
	}
	var err error
	locked(func() {
		if err = checkIssuers(v, g.policy); err != nil {
			return
		}
		g.reload = &reloadGuard{v: v, locked: locked, reqs: map[string]Requirement{}}
		w := weak.Make(g.reload)
		remove := checks.Add(func(candidate any) error {
			if rg := w.Value(); rg != nil {
				return rg.check(candidate)
			}
			return nil
		})
		cleanup := runtime.AddCleanup(g, func(remove func()) { remove() }, remove)
		g.reload.drop = func() { cleanup.Stop(); remove() }
	})
	return err
}

// unwatch unregisters the reload check of a guard that New does not
// return: a guard nobody can use must not veto reloads while it waits to
// be collected.
func (g *Guard) unwatch() {
	if g.reload != nil {
		g.reload.drop()
	}
}

// checkRoute checks reqs against the current policy and, if they pass,
// remembers them for the checks of later reloads. Both happen under the
// policy's reload lock, so no reload can slip in between. When they fail
// on a reloadable policy, *version is set to the policy's version they
// failed against.
func (g *Guard) checkRoute(reqs []Requirement, version *string) (err error) {
	pd, ok := g.policy.(declarer)
	if !ok {
		return nil
	}
	if g.reload == nil {
		return checkDeclared(pd, reqs)
	}
	g.reload.locked(func() {
		if err = checkDeclared(pd, reqs); err == nil {
			g.reload.add(reqs)
		} else if rp, ok := g.policy.(*rbac.Policy); ok {
			*version = rp.Version()
		}
	})
	return err
}

func (rg *reloadGuard) add(reqs []Requirement) {
	rg.mu.Lock()
	defer rg.mu.Unlock()
	for _, r := range reqs {
		if declaredKind(&r) {
			rg.reqs[fmt.Sprint(r.kind, "\x00", strings.Join(r.names, "\x00"))] = r
		}
	}
}

// check refuses a candidate policy that lacks an issuer the validator
// trusts or a permission, role or scope a route requires; the errors are
// those the guard gives at start-up.
func (rg *reloadGuard) check(candidate any) error {
	pd, ok := candidate.(declarer)
	if !ok {
		return nil
	}
	errs := []error{checkIssuers(rg.v, pd)}
	rg.mu.Lock()
	keys := slices.Sorted(maps.Keys(rg.reqs))
	reqs := make([]Requirement, len(keys))
	for i, k := range keys {
		reqs[i] = rg.reqs[k]
	}
	rg.mu.Unlock()
	if len(reqs) > 0 {
		d := pd.Declared()
		for i := range reqs {
			errs = append(errs, undeclared(&d, &reqs[i]))
		}
	}
	return errors.Join(errs...)
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
