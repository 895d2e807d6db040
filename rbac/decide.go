package rbac

import (
	"slices"

	"github.com/idbridge/idbridge"
)

// maxHits is how many policy atoms a claims set can match before the
// evaluation spills to the heap.
const maxHits = 64

// decide is the hot path. groups replaces the token's groups when a group
// source resolved them (nil otherwise).
func (s *compiled) decide(c *idbridge.Claims, x *extras, groups []string, fromSource bool) Decision {
	var t *issuerTable
	if c != nil {
		t = s.issuerFor(c)
	}
	return s.decideFor(t, c, x, groups, fromSource)
}

// decideFor is decide with the issuer already looked up (nil: unknown).
func (s *compiled) decideFor(t *issuerTable, c *idbridge.Claims, x *extras, groups []string, fromSource bool) Decision {
	d := Decision{s: s, c: c, x: x, rule: -1}
	if fromSource {
		e := d.extension()
		e.groups, e.fromSrc = groups, true
	}
	if c == nil {
		d.status = stNoClaims
		return d
	}
	if x != nil && x.bad != "" {
		d.status = stClaimType
		d.extension().detail = x.bad
		return d
	}
	if t == nil {
		d.status = stIssuer
		if s.unlistedTenant(c) {
			d.status = stTenant
		}
		return d
	}

	var buf [maxHits]uint32
	hits, st, detail := s.collect(t, c, x, groups, fromSource, buf[:0])
	if st != stAllow {
		d.status = st
		d.extension().detail = detail
		return d
	}
	s.evaluate(&d, hits)
	return d
}

// collect appends to hits the atoms of issuer t that the claims carry.
func (s *compiled) collect(t *issuerTable, c *idbridge.Claims, x *extras, groups []string, fromSource bool, hits []uint32) ([]uint32, uint8, string) {
	if t.self != noAtom {
		hits = append(hits, t.self)
	}

	// Groups, app roles and scopes: from the typed fields for the standard
	// claim names, else from the raw claim (which must be a string list).
	if t.groups.len() > 0 {
		if !fromSource {
			if t.stdGroups {
				groups = c.Groups
			} else if v, ok := rawClaim(c, x, t.groupsClaim); ok {
				l, ok := rawList(v, false)
				if !ok {
					return hits, stClaimType, t.groupsClaim
				}
				groups = l
			}
		}
		hits = t.collectGroups(groups, hits)
	}
	var ok bool
	if hits, ok = collectValues(hits, &t.roles, c.Roles, t.stdRoles, c, x, t.rolesClaim, false); !ok {
		return hits, stClaimType, t.rolesClaim
	}
	if hits, ok = collectValues(hits, &t.scopes, c.Scopes, t.stdScopes, c, x, t.scopesClaim, true); !ok {
		return hits, stClaimType, t.scopesClaim
	}
	if len(t.tenants) > 0 {
		a, ok := t.tenants[c.TenantID]
		if !ok {
			a, ok = lookupLower(t.tenants, c.TenantID)
		}
		if ok {
			hits = append(hits, a)
		}
	}
	if len(t.acrs) > 0 {
		if a, ok := t.acrs[c.ACR]; ok {
			hits = append(hits, a)
		}
		for _, v := range c.ACRS {
			if a, ok := t.acrs[v]; ok {
				hits = append(hits, a)
			}
		}
	}
	if t.mfa != noAtom && slices.Contains(c.AMR, "mfa") {
		hits = append(hits, t.mfa)
	}
	for i := range t.claims {
		ci := &t.claims[i]
		if ci.acc != accCustom {
			hits = ci.collectTyped(c, hits)
			continue
		}
		if v, ok := rawClaim(c, x, ci.name); ok {
			if hits, ok = ci.collectRaw(v, hits); !ok {
				return hits, stClaimType, ci.name
			}
		}
	}

	return hits, stAllow, ""
}

// collectGroups appends the atoms of the groups the token or group source
// names.
func (t *issuerTable) collectGroups(groups []string, hits []uint32) []uint32 {
	gx := &t.groups
	bits, shift := gx.bits, gx.shift
	dn, guid := t.groupIDs == groupDN, t.groupIDs == groupObjectID
	for _, g := range groups {
		// The filter of strIndex.mayContain, written out: this loop
		// runs for every group of every token and the call would cost
		// as much as the check.
		if n := len(g); n >= 8 && !dn {
			k := (uint64(g[0]) | uint64(g[1])<<8 | uint64(g[2])<<16 | uint64(g[3])<<24 |
				uint64(g[4])<<32 | uint64(g[5])<<40 | uint64(g[n-1])<<48 | uint64(n)<<56) | foldMask
			b := (k * 0x9E3779B97F4A7C15) >> shift
			if bits[b>>6]&(1<<(b&63)) == 0 {
				continue
			}
		} else if !dn && !gx.mayContain(g) {
			continue
		}
		a, ok := gx.m[g]
		if !ok {
			switch {
			case guid:
				// Object IDs are GUIDs: Entra writes them in lower
				// case, but a group source or a hand-written token
				// may not.
				a, ok = lookupLower(gx.m, g)
			case dn:
				// Directory DNs come in whatever case and spacing the
				// server stores; compare them canonically.
				if n, valid := NormalizeGroupID(groupDN, g); valid {
					a, ok = gx.get(n)
				}
			}
		}
		if ok {
			hits = append(hits, a)
		}
	}
	return hits
}

// collectRaw appends the atoms named by a custom claim's raw JSON value, a
// string or a list of strings; it reports false for any other type.
func (ci *claimIndex) collectRaw(v []byte, hits []uint32) ([]uint32, bool) {
	if b, str, ok := rawString(v); ok {
		a, found := uint32(0), false
		if b != nil {
			a, found = ci.values[string(b)] // no allocation: map lookup
		} else {
			a, found = ci.values[str]
		}
		if found {
			hits = append(hits, a)
		}
		return hits, true
	}
	l, ok := rawList(v, false)
	if !ok {
		return hits, false
	}
	for _, e := range l {
		if a, ok := ci.values[e]; ok {
			hits = append(hits, a)
		}
	}
	return hits, true
}

// collectTyped appends the atoms named by a claim the claims set holds in
// a typed field.
func (ci *claimIndex) collectTyped(c *idbridge.Claims, hits []uint32) []uint32 {
	if multiClaim(ci.acc) {
		for _, e := range listClaim(c, ci.acc) {
			if a, ok := ci.values[e]; ok {
				hits = append(hits, a)
			}
		}
		return hits
	}
	if v := stringClaim(c, ci.acc); v != "" {
		if a, ok := ci.values[v]; ok {
			hits = append(hits, a)
		}
	}
	return hits
}

// evaluate checks the clauses anchored on the hit atoms.
func (s *compiled) evaluate(d *Decision, hits []uint32) {
	deny := int32(-1)
	for _, h := range hits {
		for _, ci := range s.anchorList[s.anchorOff[h]:s.anchorOff[h+1]] {
			cl := &s.clauses[ci]
			missing := s.missing(cl, h, hits)
			switch {
			case missing != 0:
				d.near(cl.owner, missing)
			case cl.owner >= 0:
				if m := uint32(cl.owner); d.ext != nil || d.nMaps >= inline {
					d.addMapping(m)
				} else if !slices.Contains(d.maps[:d.nMaps], m) {
					d.maps[d.nMaps] = m
					d.nMaps++
				}
			case -cl.owner-1 < deny || deny < 0:
				deny = -cl.owner - 1
			}
		}
	}
	if deny >= 0 {
		d.status, d.rule = stDenied, deny
		return
	}
	if d.nMaps == 0 {
		switch {
		case d.flags&flagStepUp != 0:
			d.status = stStepUp
		case d.flags&flagScope != 0:
			d.status = stScope
		default:
			d.status = stNoMatch
		}
		return
	}
	for i := 0; i < int(d.nMaps); i++ {
		for _, r := range s.mapRoles[d.maps[i]] {
			if d.ext != nil || d.nRoles >= inline {
				d.addRole(r)
			} else if !slices.Contains(d.roles[:d.nRoles], r) {
				d.roles[d.nRoles] = r
				d.nRoles++
			}
		}
	}
	for _, m := range d.moreMaps() {
		for _, r := range s.mapRoles[m] {
			d.addRole(r)
		}
	}
	if len(s.sods) > 0 && s.separationOfDuties(d) {
		return
	}
	d.status = stAllow
}

// missing returns the kinds of the atoms of clause cl, anchored on h, that
// are not among hits (0: the clause holds).
func (s *compiled) missing(cl *clauseInfo, h uint32, hits []uint32) uint16 {
	var missing uint16
	if len(cl.atoms) > 1 {
		for _, a := range cl.atoms {
			if a != h && !slices.Contains(hits, a) {
				missing |= 1 << s.atoms[a].kind
			}
		}
	}
	return missing
}

// near notes a mapping (owner >= 0) that only step-up or a scope is
// missing for.
func (d *Decision) near(owner int32, missing uint16) {
	if owner < 0 {
		return
	}
	switch {
	case missing&^(1<<leafMFA|1<<leafACR) == 0:
		d.flags |= flagStepUp
		if d.nearStepUp == 0 {
			d.nearStepUp = uint32(owner) + 1
		}
	case missing&^(1<<leafScope) == 0:
		d.flags |= flagScope
		if d.nearScope == 0 {
			d.nearScope = uint32(owner) + 1
		}
	}
}

// separationOfDuties denies d when it grants two roles listed together,
// and reports whether it did.
func (s *compiled) separationOfDuties(d *Decision) bool {
	all := d.roles[:d.nRoles]
	for _, lst := range [2][]uint32{all, d.moreRoles()} {
		for _, r := range lst {
			for _, cf := range s.conflicts[r] {
				if d.hasRole(cf.other) {
					d.status, d.rule, d.roleA, d.roleB = stSoD, int32(cf.sod), r, cf.other
					return true
				}
			}
		}
	}
	return false
}

// collectValues appends the atoms of ix named by the values of one claim:
// std (the typed roles or scopes) when the issuer uses the standard claim
// name, else the raw claim name, a list or (spaced) a space-separated
// string. It reports false when that claim has the wrong JSON type.
func collectValues(hits []uint32, ix *strIndex, std []string, useStd bool, c *idbridge.Claims, x *extras, name string, spaced bool) ([]uint32, bool) {
	if ix.len() == 0 {
		return hits, true
	}
	values := std
	if !useStd {
		values = nil
		if v, ok := rawClaim(c, x, name); ok {
			l, ok := rawList(v, spaced)
			if !ok {
				return hits, false
			}
			values = l
		}
	}
	for _, v := range values {
		if !ix.mayContain(v) {
			continue
		}
		if a, ok := ix.m[v]; ok {
			hits = append(hits, a)
		}
	}
	return hits, true
}
