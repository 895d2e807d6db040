package catalog

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/reason"
	"github.com/idbridge/idbridge/rbac"
)

// ErrUnknownGroup (class malformed): a group to add or remove is not
// declared for the claims' issuer.
var ErrUnknownGroup = reason.New(reason.Malformed, "catalog: unknown group")

// Move is the mover question: what a user gains and loses when groups are
// added or removed, before the change is made.
type Move struct {
	Policy  PolicyRef     `json:"policy"`
	Added   []string      `json:"added,omitempty"`   // group names
	Removed []string      `json:"removed,omitempty"` // group names
	Before  Access        `json:"before"`
	After   Access        `json:"after"`
	Gained  []Entitlement `json:"gained,omitempty"`
	Lost    []Entitlement `json:"lost,omitempty"`
	// NewConflicts are separation-of-duties constraints the matched roles
	// break after the move and did not before (whether or not the
	// decision names them: a deny rule may win first).
	NewConflicts []string `json:"new_conflicts,omitempty"`
}

// Access is one decision, summarised.
type Access struct {
	Allowed     bool            `json:"allowed"`
	Reason      string          `json:"reason,omitempty"`
	DeniedBy    string          `json:"denied_by,omitempty"`
	Roles       []string        `json:"roles,omitempty"`
	Permissions []string        `json:"permissions,omitempty"`
	AWSRoles    []string        `json:"aws_roles,omitempty"`
	ADGroups    []string        `json:"ad_groups,omitempty"`
	Conflicts   []string        `json:"sod_conflicts,omitempty"` // constraints the matched roles break
	matched     map[string]bool // roles of every matched mapping
}

// WhatIf decides claims (a JSON object, unverified, as policycheck decide
// takes) as they are and with the groups changed, and compares. Groups
// are named by display name or ID and must be declared for the claims'
// issuer. A nil policy is refused with idbridge.ErrInvalidOptions.
func WhatIf(p *rbac.Policy, claims []byte, add, remove []string) (*Move, error) {
	if p == nil {
		return nil, fmt.Errorf("catalog: %w: nil policy", idbridge.ErrInvalidOptions)
	}
	inv := p.Inventory()
	m, issuer, groups, err := whatIfClaims(p, inv, claims)
	if err != nil {
		return nil, err
	}
	mv := &Move{Policy: PolicyRef{File: inv.File, Version: inv.Version}}
	after, err := mv.regroup(inv, issuer, groups, add, remove)
	if err != nil {
		return nil, err
	}
	if mv.Before, err = access(p, inv, claims); err != nil {
		return nil, err
	}
	ga, _ := json.Marshal(after)
	m[issuer.GroupsClaim] = ga
	changed, _ := json.Marshal(m)
	if mv.After, err = access(p, inv, changed); err != nil {
		return nil, err
	}
	be, ae := mv.Before.entitlements(), mv.After.entitlements()
	mv.Gained, mv.Lost = minus(ae, be), minus(be, ae)
	for _, c := range mv.After.Conflicts {
		if !slices.Contains(mv.Before.Conflicts, c) {
			mv.NewConflicts = append(mv.NewConflicts, c)
		}
	}
	return mv, nil
}

// whatIfClaims reads the claims WhatIf is given: the object, the policy's
// issuer for its iss, and its groups.
func whatIfClaims(p *rbac.Policy, inv rbac.Inventory, claims []byte) (map[string]json.RawMessage, *rbac.InventoryIssuer, []string, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(claims, &m); err != nil || m == nil {
		return nil, nil, nil, fmt.Errorf("%w: claims must be a JSON object", ErrMalformed)
	}
	var iss string
	if err := json.Unmarshal(m["iss"], &iss); err != nil || iss == "" {
		return nil, nil, nil, fmt.Errorf("%w: claims have no iss string", ErrMalformed)
	}
	var issuer *rbac.InventoryIssuer
	for i, is := range inv.Issuers {
		if is.Issuer == iss || (strings.Contains(is.Issuer, "{tenantid}") && p.TrustsIssuer(iss)) {
			issuer = &inv.Issuers[i]
		}
	}
	if issuer == nil {
		return nil, nil, nil, fmt.Errorf("catalog: %w: %q", rbac.ErrIssuer, iss)
	}
	var groups []string
	if raw, ok := m[issuer.GroupsClaim]; ok {
		if err := json.Unmarshal(raw, &groups); err != nil {
			return nil, nil, nil, fmt.Errorf("%w: claim %q is not a list of strings", ErrMalformed, issuer.GroupsClaim)
		}
	}
	return m, issuer, groups, nil
}

// regroup returns groups with the groups remove names taken out and those
// add names put in, and records both in mv.
func (mv *Move) regroup(inv rbac.Inventory, issuer *rbac.InventoryIssuer, groups, add, remove []string) ([]string, error) {
	resolve := func(ref string) (rbac.InventoryGroup, error) {
		for _, g := range inv.Groups {
			if g.Issuer != issuer.Name {
				continue
			}
			if id, ok := rbac.NormalizeGroupID(issuer.GroupIDs, ref); g.Name == ref || (ok && id == g.ID) {
				return g, nil
			}
		}
		return rbac.InventoryGroup{}, fmt.Errorf("%w %q for issuer %s", ErrUnknownGroup, ref, issuer.Name)
	}
	after := slices.Clone(groups)
	for _, ref := range remove {
		g, err := resolve(ref)
		if err != nil {
			return nil, err
		}
		mv.Removed = append(mv.Removed, g.Name)
		after = slices.DeleteFunc(after, func(s string) bool {
			id, ok := rbac.NormalizeGroupID(issuer.GroupIDs, s)
			return ok && id == g.ID
		})
	}
	for _, ref := range add {
		g, err := resolve(ref)
		if err != nil {
			return nil, err
		}
		mv.Added = append(mv.Added, g.Name)
		after = append(after, g.ID)
	}
	return after, nil
}

func access(p *rbac.Policy, inv rbac.Inventory, claims []byte) (Access, error) {
	d, err := p.DecideJSON(claims)
	if err != nil {
		return Access{}, fmt.Errorf("catalog: %w", err)
	}
	e := d.Explain()
	a := Access{Allowed: e.Allowed, Reason: e.Reason, Roles: e.Roles, Permissions: e.Permissions, matched: map[string]bool{}}
	if e.DeniedBy != nil {
		a.DeniedBy = e.DeniedBy.ID
	}
	for _, r := range e.AWSRoles {
		a.AWSRoles = append(a.AWSRoles, r.RoleARN)
	}
	for _, g := range e.DirectoryGroups {
		a.ADGroups = append(a.ADGroups, g.Name)
	}
	for _, m := range e.Matched {
		for _, r := range m.Roles {
			a.matched[r] = true
		}
	}
	for _, s := range inv.SoD {
		n := 0
		for _, r := range s.Roles {
			if a.matched[r] {
				n++
			}
		}
		if n >= 2 {
			a.Conflicts = append(a.Conflicts, s.ID)
		}
	}
	return a, nil
}

func (a Access) entitlements() []Entitlement {
	var out []Entitlement
	for _, r := range a.Roles {
		out = append(out, Entitlement{Kind: KindRole, Name: r})
	}
	for _, p := range a.Permissions {
		out = append(out, Entitlement{Kind: KindPermission, Name: p})
	}
	for _, r := range a.AWSRoles {
		out = append(out, Entitlement{Kind: KindAWSRole, Name: r})
	}
	for _, g := range a.ADGroups {
		out = append(out, Entitlement{Kind: KindADGroup, Name: g})
	}
	return sortUnique(out)
}
