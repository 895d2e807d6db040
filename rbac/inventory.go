package rbac

import (
	"maps"
	"slices"
)

// Inventory is the current policy's structure as data: what each rule
// grants and under which conditions, in policy order. Governance tools
// build on it (rbac/catalog exports it for IGA products and diffs two
// versions; rbac/awstrust derives IAM trust policies from its AWS grants)
// without parsing the policy file a second time.
type Inventory struct {
	File    string // base name of the policy file, or Options.Name
	Version string // as [Policy.Version]

	Issuers  []InventoryIssuer
	Groups   []InventoryGroup
	Roles    []InventoryRole
	Mappings []InventoryRule
	Denies   []InventoryRule
	SoD      []InventorySoD
}

// InventoryIssuer is one declared issuer.
type InventoryIssuer struct {
	Name     string // the policy's name for it
	Issuer   string // iss as written, {tenantid} templates included
	GroupIDs string // GroupIDObjectID, GroupIDDN or GroupIDName
	Tenants  []string
	// GroupsClaim names the claim that carries the groups ("groups"
	// unless the issuer's claims: says otherwise).
	GroupsClaim string
}

// InventoryGroup is one declared group.
type InventoryGroup struct {
	ID     string // normalized (see NormalizeGroupID)
	Name   string
	Issuer string // the issuer's name
}

// InventoryRole is one role and its permissions (sorted).
type InventoryRole struct {
	Name        string
	Description string
	Permissions []string
}

// InventoryRule is a mapping or a deny rule. Its condition is a list of
// alternatives (When); the rule applies when every test of one of them
// holds.
type InventoryRule struct {
	ID          string
	Description string
	Line        int
	When        []Clause

	// Mappings only.
	Roles           []string
	AWS             []AWSRole
	DirectoryGroups []DirectoryGroup

	// Deny rules only: the reason class of the denial.
	Reason string
}

// Clause is one alternative of a rule's condition: a token of Issuer that
// is a member of every group in Groups (IDs) and passes every one of Tests.
type Clause struct {
	Issuer string   // the issuer's name
	Groups []string // group IDs, all required
	// Tests are the other conditions as the policy explains them, e.g.
	// "mfa", "scope Loans.ReadWrite", "app_role Loans.Admin", `claim
	// dept="x"`, "issuer entra" (everyone the issuer vouches for).
	Tests []string
}

// InventorySoD is one separation-of-duties constraint.
type InventorySoD struct {
	ID          string
	Description string
	Line        int
	Roles       []string
}

// Inventory returns the current policy's structure. It allocates a copy
// that the caller owns; call it for reports, not per request.
func (p *Policy) Inventory() Inventory {
	s := p.cur.Load()
	inv := Inventory{File: s.file, Version: s.version}
	for _, t := range s.issuerList {
		ii := InventoryIssuer{Name: t.name, Issuer: t.iss, GroupIDs: t.groupIDs, GroupsClaim: t.groupsClaim}
		ii.Tenants = slices.Sorted(maps.Keys(t.tenantsOK))
		inv.Issuers = append(inv.Issuers, ii)
	}
	for _, g := range s.groups {
		inv.Groups = append(inv.Groups, InventoryGroup{ID: g.id, Name: g.name, Issuer: s.issuerList[g.issuer].name})
	}
	for _, r := range s.roles {
		ir := InventoryRole{Name: r.name, Description: r.desc}
		for _, pi := range r.perms {
			ir.Permissions = append(ir.Permissions, s.perms[pi])
		}
		slices.Sort(ir.Permissions)
		inv.Roles = append(inv.Roles, ir)
	}
	for i, m := range s.mappings {
		r := InventoryRule{ID: m.id, Description: m.desc, Line: m.line, When: s.clausesOf(int32(i))}
		for _, ri := range m.roles {
			r.Roles = append(r.Roles, s.roles[ri].name)
		}
		for _, a := range m.aws {
			a.SessionTags = maps.Clone(a.SessionTags)
			r.AWS = append(r.AWS, a)
		}
		r.DirectoryGroups = slices.Clone(m.ad)
		inv.Mappings = append(inv.Mappings, r)
	}
	for i, d := range s.denies {
		inv.Denies = append(inv.Denies, InventoryRule{ID: d.id, Description: d.desc, Line: d.line, Reason: string(d.class), When: s.clausesOf(int32(-i - 1))})
	}
	for _, sd := range s.sods {
		is := InventorySoD{ID: sd.id, Description: sd.desc, Line: sd.line}
		for _, ri := range sd.roles {
			is.Roles = append(is.Roles, s.roles[ri].name)
		}
		inv.SoD = append(inv.SoD, is)
	}
	return inv
}

// clausesOf lists the alternatives of the rule owner (as clauseInfo.owner).
func (s *compiled) clausesOf(owner int32) []Clause {
	var out []Clause
	for _, cl := range s.clauses {
		if cl.owner != owner {
			continue
		}
		var c Clause
		atoms := slices.Clone(cl.atoms)
		slices.SortStableFunc(atoms, func(a, b uint32) int { return s.atoms[a].kind - s.atoms[b].kind })
		for _, a := range atoms {
			ai := s.atoms[a]
			c.Issuer = s.issuerList[ai.issuer].name
			if ai.kind == leafGroup {
				c.Groups = append(c.Groups, ai.value)
				continue
			}
			c.Tests = append(c.Tests, ai.show)
		}
		out = append(out, c)
	}
	return out
}
