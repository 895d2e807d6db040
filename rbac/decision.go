package rbac

import (
	"slices"

	"github.com/idbridge/idbridge"
)

// Decision states. Only stAllow grants anything.
const (
	stAllow uint8 = iota
	stNoClaims
	stIssuer
	stClaimType
	stOverage
	stGroupSource
	stNoMatch
	stScope
	stStepUp
	stDenied
	stSoD
	stTenant
)

// inline is how many roles and mappings a Decision holds without
// allocating; realistic tokens match far fewer.
const inline = 8

// Decision is the outcome of one [Policy.Decide]: granted or not, the roles,
// permissions and per-environment grants, and enough to explain itself.
//
// A Decision is a value: it is made without allocating, pins the compiled
// policy it was made with (a later reload does not change it) and refers to
// the claims it was made from, which must not be modified afterwards. The
// zero Decision denies everything.
type Decision struct {
	s   *compiled
	c   *idbridge.Claims
	x   *extras
	ext *decisionExt // rare paths only: group sources, claim type errors, overflow

	status uint8
	flags  uint8
	nRoles uint8
	nMaps  uint8
	rule   int32  // deny rule or SoD constraint
	roleA  uint32 // SoD: the conflicting pair
	roleB  uint32
	// nearStepUp and nearScope are 1 + the first mapping that failed only
	// for lack of mfa/acr or of scopes; 0 for none.
	nearStepUp uint32
	nearScope  uint32

	roles [inline]uint32
	maps  [inline]uint32
}

// decisionExt holds what few decisions need, out of line so the common
// Decision stays small to copy.
type decisionExt struct {
	groups    []string // groups from a GroupSource
	fromSrc   bool     // groups replaced the token's (even when empty)
	srcErr    error    // the GroupSource's error
	detail    string   // claim name for stClaimType
	moreRoles []uint32 // beyond inline
	moreMaps  []uint32
}

func (d *Decision) extension() *decisionExt {
	if d.ext == nil {
		d.ext = &decisionExt{}
	}
	return d.ext
}

func (d *Decision) moreRoles() []uint32 {
	if d.ext == nil {
		return nil
	}
	return d.ext.moreRoles
}

func (d *Decision) moreMaps() []uint32 {
	if d.ext == nil {
		return nil
	}
	return d.ext.moreMaps
}

// srcGroups returns the groups a GroupSource resolved, and whether the
// decision used them instead of the token's.
func (d *Decision) srcGroups() ([]string, bool) {
	if d.ext == nil {
		return nil, false
	}
	return d.ext.groups, d.ext.fromSrc
}

// OK reports whether the decision grants access at all: a mapping matched,
// no deny rule matched and no separation-of-duties constraint is broken.
// Use [Decision.Allowed] to check a specific permission.
func (d Decision) OK() bool { return d.s != nil && d.status == stAllow }

// Allowed reports whether the decision grants permission through one of its
// roles. It is false for every permission when the decision denies.
func (d Decision) Allowed(permission string) bool {
	if !d.OK() {
		return false
	}
	p, ok := d.s.permIdx[permission]
	if !ok {
		return false
	}
	for i := 0; i < int(d.nRoles); i++ {
		if _, ok := slices.BinarySearch(d.s.roles[d.roles[i]].perms, p); ok {
			return true
		}
	}
	for _, r := range d.moreRoles() {
		if _, ok := slices.BinarySearch(d.s.roles[r].perms, p); ok {
			return true
		}
	}
	return false
}

// HasRole reports whether the decision grants the named role.
func (d Decision) HasRole(role string) bool {
	if !d.OK() {
		return false
	}
	r, ok := d.s.roleIdx[role]
	if !ok {
		return false
	}
	return d.hasRole(r)
}

func (d *Decision) hasRole(r uint32) bool {
	for i := 0; i < int(d.nRoles); i++ {
		if d.roles[i] == r {
			return true
		}
	}
	return slices.Contains(d.moreRoles(), r)
}

func (d *Decision) addRole(r uint32) {
	if d.hasRole(r) {
		return
	}
	if d.nRoles < inline {
		d.roles[d.nRoles] = r
		d.nRoles++
		return
	}
	e := d.extension()
	e.moreRoles = append(e.moreRoles, r)
}

func (d *Decision) hasMapping(m uint32) bool {
	for i := 0; i < int(d.nMaps); i++ {
		if d.maps[i] == m {
			return true
		}
	}
	return slices.Contains(d.moreMaps(), m)
}

func (d *Decision) addMapping(m uint32) {
	if d.hasMapping(m) {
		return
	}
	if d.nMaps < inline {
		d.maps[d.nMaps] = m
		d.nMaps++
		return
	}
	e := d.extension()
	e.moreMaps = append(e.moreMaps, m)
}

// roleList and mapList return the granted roles and matched mappings.
func (d *Decision) roleList() []uint32 {
	return append(slices.Clone(d.roles[:d.nRoles]), d.moreRoles()...)
}

func (d *Decision) mapList() []uint32 {
	return append(slices.Clone(d.maps[:d.nMaps]), d.moreMaps()...)
}

const (
	flagStepUp uint8 = 1 << iota // a mapping lacked only mfa/acr
	flagScope                    // a mapping lacked only scopes
)
