package rbac

import (
	"slices"
	"strings"
)

// Declared lists what the current policy declares, sorted, for start-up
// checks of the code that uses it: a guard refuses a route that requires a
// permission or role the policy never grants, since such a route would
// deny everyone.
type Declared struct {
	Issuers     []string // iss values as written, {tenantid} templates included
	Roles       []string
	Permissions []string
	Scopes      []string // the scopes the policy's conditions test
}

// Declared returns what the current policy declares. It allocates; call it
// at start-up, not per request.
func (p *Policy) Declared() Declared {
	s := p.cur.Load()
	var d Declared
	for _, t := range s.issuerList {
		d.Issuers = append(d.Issuers, t.iss)
		if t.v1iss != "" {
			d.Issuers = append(d.Issuers, t.v1iss)
		}
		for sc := range t.scopes.m {
			d.Scopes = append(d.Scopes, sc)
		}
	}
	for _, r := range s.roles {
		d.Roles = append(d.Roles, r.name)
	}
	d.Permissions = slices.Clone(s.perms)
	for _, l := range []*[]string{&d.Issuers, &d.Roles, &d.Permissions, &d.Scopes} {
		slices.Sort(*l)
		*l = slices.Compact(*l)
	}
	return d
}

// TrustsIssuer reports whether the current policy decides on tokens whose
// iss is iss: a fixed issuer equal to it, or a {tenantid} issuer that iss
// fills with a tenant on its list. An iss written as a template itself
// matches the same template.
func (p *Policy) TrustsIssuer(iss string) bool {
	s := p.cur.Load()
	if s.issuers[iss] != nil {
		return true
	}
	for _, t := range s.templates {
		if t.iss == iss || (t.v1iss != "" && t.v1iss == iss) {
			return true
		}
		if t.v1iss != "" && len(iss) == len(t.v1prefix)+36+len(t.v1suffix) && strings.HasPrefix(iss, t.v1prefix) &&
			t.instance(iss, iss[len(t.v1prefix):len(t.v1prefix)+36]) {
			return true
		}
		const n = 36 // a tenant ID (GUID)
		if len(iss) == len(t.prefix)+n+len(t.suffix) && strings.HasPrefix(iss, t.prefix) && strings.HasSuffix(iss, t.suffix) &&
			t.instance(iss, iss[len(t.prefix):len(t.prefix)+n]) {
			return true
		}
	}
	return false
}
