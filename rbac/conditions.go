package rbac

import (
	"fmt"
	"slices"
	"strings"
)

// dnf expands a condition into alternatives of leaf conjunctions.
func (c *compiler) dnf(w *cond, depth int) ([][]leaf, bool) {
	if depth > maxCondDepth {
		c.err(w.lineRec, w.path, "conditions nested deeper than %d", maxCondDepth)
		return nil, false
	}
	out := [][]leaf{slices.Clone(w.leaves)}
	product := func(alts [][]leaf) bool {
		if len(out)*len(alts) > maxClausesPerRule {
			c.err(w.lineRec, w.path, "condition expands to more than %d alternatives; split it into several mappings", maxClausesPerRule)
			return false
		}
		next := make([][]leaf, 0, len(out)*len(alts))
		for _, a := range out {
			for _, b := range alts {
				next = append(next, append(slices.Clone(a), b...))
			}
		}
		out = next
		return true
	}
	for _, sub := range w.all {
		alts, ok := c.dnf(sub, depth+1)
		if !ok || !product(alts) {
			return nil, false
		}
	}
	if len(w.any) > 0 {
		var alts [][]leaf
		for _, sub := range w.any {
			a, ok := c.dnf(sub, depth+1)
			if !ok {
				return nil, false
			}
			alts = append(alts, a...)
		}
		if !product(alts) {
			return nil, false
		}
	}
	return out, true
}

// addClauses compiles a rule's condition into clauses owned by owner.
func (c *compiler) addClauses(w *cond, owner int32) {
	alts, ok := c.dnf(w, 0)
	if !ok {
		return
	}
	for _, ls := range alts {
		c.addClause(w, ls, owner)
	}
}

func (c *compiler) addClause(w *cond, ls []leaf, owner int32) {
	if len(ls) == 0 {
		c.err(w.lineRec, w.path, "condition has an alternative with no test")
		return
	}
	iss, ok := c.clauseIssuer(w, ls)
	if !ok {
		return
	}
	t := c.out.issuerList[iss]
	var atoms []uint32
	for _, l := range ls {
		if a := c.leafAtom(t, l); a != noAtom && !slices.Contains(atoms, a) {
			atoms = append(atoms, a)
		}
	}
	if len(atoms) == 0 {
		// Only issuer: everyone this issuer vouches for.
		if t.self == noAtom {
			t.self = c.newAtom(t, leafIssuer, "", t.iss, "issuer "+t.name)
		}
		atoms = append(atoms, t.self)
	}
	if len(atoms) > maxAtomsPerClause {
		c.err(w.lineRec, w.path, "more than %d tests in one alternative", maxAtomsPerClause)
		return
	}
	slices.Sort(atoms)
	c.out.clauses = append(c.out.clauses, clauseInfo{owner: owner, atoms: atoms})
}

// clauseIssuer finds the one issuer a clause belongs to: the one named, or
// the one its groups belong to, or the only one.
func (c *compiler) clauseIssuer(w *cond, ls []leaf) (int, bool) {
	iss, issLeaf := -1, leaf{}
	bind := func(i int, l leaf) bool {
		if iss >= 0 && iss != i {
			c.err(at(l.line, l.col), l.path, "this alternative needs both issuer %q (%s) and issuer %q (%s); a token has one issuer",
				c.out.issuerList[iss].name, issLeaf.path, c.out.issuerList[i].name, l.path)
			return false
		}
		iss, issLeaf = i, l
		return true
	}
	ok := true
	for _, l := range ls {
		switch l.kind {
		case leafIssuer:
			i := c.issuerRef(l.value, at(l.line, l.col), l.path)
			if i < 0 || !bind(i, l) {
				ok = false
			}
		case leafGroup:
			gi, found := c.groupRef(l.value)
			if !found {
				c.err(at(l.line, l.col), l.path, "undeclared group %q (declare it under groups: with its ID)", l.value)
				ok = false
				continue
			}
			if !bind(c.out.groups[gi].issuer, l) {
				ok = false
			}
		}
	}
	if !ok {
		return -1, false
	}
	if iss < 0 {
		if len(c.out.issuerList) != 1 {
			c.err(w.lineRec, w.path, "say which issuer this applies to (issuer: or a group of that issuer); the policy declares several")
			return -1, false
		}
		iss = 0
	}
	return iss, true
}

// leafAtom returns the atom a leaf tests on issuer t, or noAtom for an
// issuer leaf (the clause's issuer says it) and for an invalid leaf, which
// it reports.
func (c *compiler) leafAtom(t *issuerTable, l leaf) uint32 {
	switch l.kind {
	case leafGroup:
		gi, _ := c.groupRef(l.value)
		g := c.out.groups[gi]
		return c.atom(t, leafGroup, "", g.id, "group "+g.name, t.groups.m)
	case leafAppRole:
		if c.tokenValue(l, "app role") {
			return c.atom(t, leafAppRole, "", l.value, "app_role "+l.value, t.roles.m)
		}
	case leafScope:
		if c.tokenValue(l, "scope") {
			return c.atom(t, leafScope, "", l.value, "scope "+l.value, t.scopes.m)
		}
	case leafTenant:
		if !guidRe.MatchString(l.value) {
			c.err(at(l.line, l.col), l.path, "tenant %q must be a tenant ID (GUID)", l.value)
			return noAtom
		}
		return c.atom(t, leafTenant, "", strings.ToLower(l.value), "tenant "+l.value, t.tenants)
	case leafACR:
		if c.tokenValue(l, "acr") {
			return c.atom(t, leafACR, "", l.value, "acr "+l.value, t.acrs)
		}
	case leafMFA:
		if t.mfa == noAtom {
			t.mfa = c.newAtom(t, leafMFA, "", "mfa", "mfa")
		}
		return t.mfa
	case leafClaim:
		if c.claimLeaf(t, l) {
			return c.claimAtom(t, l.name, l.value)
		}
	}
	return noAtom
}

// tokenValue reports whether l's value is a valid app role, scope or acr
// value, reporting it if not.
func (c *compiler) tokenValue(l leaf, what string) bool {
	if !tokenValueRe.MatchString(l.value) {
		c.err(at(l.line, l.col), l.path, "%s %q must be 1-256 printable characters without spaces", what, l.value)
		return false
	}
	return true
}

// claimLeaf reports whether a claim: test is valid on issuer t, reporting
// it if not.
func (c *compiler) claimLeaf(t *issuerTable, l leaf) bool {
	switch {
	case !claimNameRe.MatchString(l.name):
		c.err(at(l.line, l.col), l.path+".name", "claim name %q must be 1-128 letters, digits or _:./-", l.name)
	case l.name == t.groupsClaim || l.name == t.rolesClaim || l.name == t.scopesClaim:
		c.err(at(l.line, l.col), l.path+".name", "use group:, app_role: or scope: to test the %q claim", l.name)
	case l.value == "":
		c.err(at(l.line, l.col), l.path+".equals", "equals must be a non-empty string")
	default:
		return true
	}
	return false
}

func (c *compiler) atom(t *issuerTable, kind int, name, value, show string, m map[string]uint32) uint32 {
	if a, ok := m[value]; ok {
		return a
	}
	a := c.newAtom(t, kind, name, value, show)
	m[value] = a
	return a
}

func (c *compiler) newAtom(t *issuerTable, kind int, name, value, show string) uint32 {
	a := uint32(len(c.out.atoms))
	c.out.atoms = append(c.out.atoms, atomInfo{issuer: t.idx, kind: kind, name: name, value: value, show: show})
	return a
}

func (c *compiler) claimAtom(t *issuerTable, name, value string) uint32 {
	var ci *claimIndex
	for i := range t.claims {
		if t.claims[i].name == name {
			ci = &t.claims[i]
		}
	}
	if ci == nil {
		t.claims = append(t.claims, claimIndex{name: name, acc: accessorFor(name), values: map[string]uint32{}})
		ci = &t.claims[len(t.claims)-1]
	}
	return c.atom(t, leafClaim, name, value, fmt.Sprintf("claim %s=%q", name, value), ci.values)
}
