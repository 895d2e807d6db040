package rbac

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Explanation says why a decision came out as it did, for logs, support
// tickets and access reviews: which mapping granted what because of which
// claims, and which rule denied.
type Explanation struct {
	Allowed bool   `json:"allowed"`
	Reason  string `json:"reason,omitempty"` // reason class of a denial; "" when allowed
	Error   string `json:"error,omitempty"`  // the denial as an error message; "" when allowed
	Policy  string `json:"policy"`           // policy version
	Issuer  string `json:"issuer,omitempty"` // the policy's name for the claims' issuer; "" if unknown

	// Matched lists every mapping whose condition held, even when a deny
	// rule or SoD constraint then denied.
	Matched []Match `json:"matched,omitempty"`
	// DeniedBy is the deny rule or SoD constraint that denied, if any.
	DeniedBy *Rule `json:"denied_by,omitempty"`

	Roles           []string         `json:"roles,omitempty"`
	Permissions     []string         `json:"permissions,omitempty"`
	AWSRoles        []AWSRole        `json:"aws_roles,omitempty"`
	DirectoryGroups []DirectoryGroup `json:"directory_groups,omitempty"`
}

// Match is one mapping that matched.
type Match struct {
	Mapping string   `json:"mapping"`
	Line    int      `json:"line"`    // where the mapping starts in the policy file
	Because []string `json:"because"` // the tests that held, e.g. `group Lending_RM`, `mfa`
	Roles   []string `json:"roles"`   // the roles it grants
}

// Rule is the rule that denied a decision.
type Rule struct {
	ID      string   `json:"id"`
	Kind    string   `json:"kind"` // "deny" or "separation_of_duties"
	Line    int      `json:"line"`
	Because []string `json:"because,omitempty"` // for deny rules: the tests that held
	Detail  string   `json:"detail,omitempty"`
}

// Explain describes the decision. Unlike Decide it allocates; call it when
// a person will read the answer.
func (d Decision) Explain() Explanation {
	e := Explanation{Allowed: d.OK(), Reason: string(d.Reason())}
	if err := d.Err(); err != nil {
		e.Error = err.Error()
	}
	if d.s == nil {
		return e
	}
	s := d.s
	e.Policy = s.version
	var t *issuerTable
	if d.c != nil {
		t = s.issuerFor(d.c)
	}
	if t == nil {
		return e
	}
	e.Issuer = t.name
	groups, fromSrc := d.srcGroups()
	hits, _, _ := s.collect(t, d.c, d.x, groups, fromSrc, nil)
	because := func(owner int32) []string {
		var out []string
		for _, cl := range s.clauses {
			if cl.owner != owner || !allIn(cl.atoms, hits) {
				continue
			}
			atoms := slices.Clone(cl.atoms)
			slices.SortStableFunc(atoms, func(a, b uint32) int { return s.atoms[a].kind - s.atoms[b].kind })
			var parts []string
			for _, a := range atoms {
				parts = append(parts, s.atoms[a].show)
			}
			out = append(out, strings.Join(parts, " and "))
		}
		return out
	}
	ms := d.mapList()
	slices.Sort(ms)
	for _, m := range ms {
		mi := s.mappings[m]
		match := Match{Mapping: mi.id, Line: mi.line, Because: because(int32(m))}
		for _, r := range mi.roles {
			match.Roles = append(match.Roles, s.roles[r].name)
		}
		e.Matched = append(e.Matched, match)
	}
	switch d.status {
	case stDenied:
		r := s.denies[d.rule]
		e.DeniedBy = &Rule{ID: r.id, Kind: "deny", Line: r.line, Because: because(-d.rule - 1), Detail: r.desc}
	case stSoD:
		r := s.sods[d.rule]
		e.DeniedBy = &Rule{ID: r.id, Kind: "separation_of_duties", Line: r.line,
			Detail: fmt.Sprintf("roles %s and %s may not be held together", s.roles[d.roleA].name, s.roles[d.roleB].name)}
	}
	e.Roles, e.Permissions = d.Roles(), d.Permissions()
	e.AWSRoles, e.DirectoryGroups = d.AWSRoles(), d.DirectoryGroups()
	return e
}

func allIn(atoms, hits []uint32) bool {
	for _, a := range atoms {
		if !slices.Contains(hits, a) {
			return false
		}
	}
	return true
}

// String renders the explanation for people, one fact per line.
func (e Explanation) String() string {
	var b strings.Builder
	if e.Allowed {
		fmt.Fprintf(&b, "ALLOW (policy %s, issuer %s)\n", e.Policy, e.Issuer)
	} else {
		fmt.Fprintf(&b, "DENY %s: %s (policy %s)\n", e.Reason, e.Error, e.Policy)
	}
	for _, m := range e.Matched {
		fmt.Fprintf(&b, "  mapping %s (line %d) grants [%s] because %s\n", m.Mapping, m.Line, strings.Join(m.Roles, ", "), strings.Join(m.Because, "; or "))
	}
	if r := e.DeniedBy; r != nil {
		fmt.Fprintf(&b, "  %s %s (line %d) denies", r.Kind, r.ID, r.Line)
		if len(r.Because) > 0 {
			fmt.Fprintf(&b, " because %s", strings.Join(r.Because, "; or "))
		}
		if r.Detail != "" {
			fmt.Fprintf(&b, ": %s", r.Detail)
		}
		b.WriteByte('\n')
	}
	if e.Allowed {
		fmt.Fprintf(&b, "  roles: %s\n", strings.Join(e.Roles, ", "))
		fmt.Fprintf(&b, "  permissions: %s\n", strings.Join(e.Permissions, ", "))
		for _, a := range e.AWSRoles {
			fmt.Fprintf(&b, "  aws: %s", a.RoleARN)
			if a.Duration > 0 {
				fmt.Fprintf(&b, " for %s", shortDuration(a.Duration))
			}
			if a.SourceIdentity != "" {
				fmt.Fprintf(&b, " as %s", a.SourceIdentity)
			}
			b.WriteByte('\n')
		}
		for _, g := range e.DirectoryGroups {
			fmt.Fprintf(&b, "  directory group: %s (%s)\n", g.Name, g.ID)
		}
	}
	return b.String()
}

// shortDuration prints 1h rather than 1h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
