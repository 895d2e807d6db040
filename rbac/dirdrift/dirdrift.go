// Package dirdrift compares what an rbac policy says about directory
// (AD/LDAP) groups with the directory itself, so the policy's ad_groups and
// directory-backed groups are not an unchecked claim:
//
//   - every group the policy declares for a directory issuer (group_ids:
//     dn), whether it is matched on or granted as an ad_group, must exist;
//   - every user in a granted ad_group must be granted it by the policy:
//     for at least one mapping that grants the ad_group, the user must be
//     in every group its condition names. A member the policy would not
//     grant is reported (an entitlement outside the policy).
//
// Groups of the directory issuer are compared by DN. Groups of another
// issuer (Entra groups, which Entra Connect typically syncs from AD) are
// looked up in the user's directory groups by their display name (the
// cn); a group not found that way counts as not held. Conditions other
// than groups (mfa, scopes) are ignored: the check asks whether the user
// could be granted the group, not whether today's token would.
//
// The directory is reached through [Directory], which *ldap.Directory
// (rbac/ldap) implements. Any directory failure fails the whole check: a
// report is complete or not returned.
package dirdrift

import (
	"context"
	"fmt"
	"slices"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/rbac"
)

// Directory is what the check asks of the directory.
type Directory interface {
	// Exists reports whether an entry exists at dn.
	Exists(ctx context.Context, dn string) (bool, error)
	// Members lists the users in the group at dn, nested groups expanded.
	Members(ctx context.Context, groupDN string) ([]string, error)
	// Groups returns a user's groups (normalized DNs, nested included);
	// the claims carry the directory issuer and the user's DN as Subject.
	Groups(ctx context.Context, c *idbridge.Claims) ([]string, error)
}

// Kinds of [Finding].
const (
	// MissingGroup: a group the policy declares does not exist.
	MissingGroup = "missing_group"
	// UngrantedMember: a user is in an ad_group the policy does not grant them.
	UngrantedMember = "ungranted_member"
)

// Finding is one drift between policy and directory.
type Finding struct {
	Kind   string `json:"kind"`
	Group  string `json:"group"`          // the policy's name for the group
	DN     string `json:"dn"`             // the group's DN
	User   string `json:"user,omitempty"` // the member's DN, for UngrantedMember
	Detail string `json:"detail"`
}

func (f Finding) String() string {
	if f.User != "" {
		return fmt.Sprintf("%s %s: %s (%s)", f.Kind, f.Group, f.User, f.Detail)
	}
	return fmt.Sprintf("%s %s (%s): %s", f.Kind, f.Group, f.DN, f.Detail)
}

// Report is the outcome of [Check].
type Report struct {
	Issuer        string    `json:"issuer"`         // the policy's name for the directory
	GroupsChecked int       `json:"groups_checked"` // declared directory groups looked up
	UsersChecked  int       `json:"users_checked"`  // members of granted ad_groups
	Findings      []Finding `json:"findings"`
}

// Check compares the policy's groups of the directory issuer (the
// policy's name for it, e.g. "corp-ad") with the directory.
func Check(ctx context.Context, dir Directory, inv rbac.Inventory, issuer string) (*Report, error) {
	var iss *rbac.InventoryIssuer
	for i := range inv.Issuers {
		if inv.Issuers[i].Name == issuer {
			iss = &inv.Issuers[i]
		}
	}
	if iss == nil || iss.GroupIDs != rbac.GroupIDDN {
		return nil, fmt.Errorf("dirdrift: %w: the policy declares no issuer %q with group_ids: dn", idbridge.ErrInvalidOptions, issuer)
	}
	ck := &checker{dir: dir, issuer: issuer, iss: iss, rep: &Report{Issuer: issuer, Findings: []Finding{}},
		names: map[string]rbac.InventoryGroup{}, grants: map[string][]grant{}}
	if err := ck.checkGroups(ctx, inv.Groups); err != nil {
		return nil, err
	}
	for _, dg := range ck.collectGrants(inv.Mappings) {
		if slices.ContainsFunc(ck.rep.Findings, func(f Finding) bool { return f.Kind == MissingGroup && f.DN == dg.ID }) {
			continue
		}
		if err := ck.checkMembers(ctx, dg); err != nil {
			return nil, err
		}
	}
	return ck.rep, nil
}

// checker holds one Check's state.
type checker struct {
	dir    Directory
	issuer string // the policy's name for the directory issuer
	iss    *rbac.InventoryIssuer
	rep    *Report
	names  map[string]rbac.InventoryGroup // issuer+"\x00"+ID
	grants map[string][]grant             // ad_group ID -> mappings granting it
}

// grant is a mapping that grants an ad_group, with its condition.
type grant struct {
	mapping string
	clauses []rbac.Clause
}

// checkGroups checks that the groups of the directory issuer exist.
func (ck *checker) checkGroups(ctx context.Context, groups []rbac.InventoryGroup) error {
	for _, g := range groups {
		ck.names[g.Issuer+"\x00"+g.ID] = g
		if g.Issuer != ck.issuer {
			continue
		}
		ok, err := ck.dir.Exists(ctx, g.ID)
		if err != nil {
			return fmt.Errorf("dirdrift: group %s: %w", g.Name, err)
		}
		ck.rep.GroupsChecked++
		if !ok {
			ck.rep.Findings = append(ck.rep.Findings, Finding{Kind: MissingGroup, Group: g.Name, DN: g.ID, Detail: "no such entry in the directory"})
		}
	}
	return nil
}

// collectGrants records which mappings grant each ad_group and returns the
// ad_groups in policy order.
func (ck *checker) collectGrants(mappings []rbac.InventoryRule) []rbac.DirectoryGroup {
	var order []rbac.DirectoryGroup
	for _, m := range mappings {
		for _, dg := range m.DirectoryGroups {
			if _, seen := ck.grants[dg.ID]; !seen {
				order = append(order, dg)
			}
			ck.grants[dg.ID] = append(ck.grants[dg.ID], grant{m.ID, m.When})
		}
	}
	return order
}

// checkMembers reports the members of an ad_group the policy does not
// grant it to.
func (ck *checker) checkMembers(ctx context.Context, dg rbac.DirectoryGroup) error {
	members, err := ck.dir.Members(ctx, dg.ID)
	if err != nil {
		return fmt.Errorf("dirdrift: members of %s: %w", dg.Name, err)
	}
	var who []string
	for _, g := range ck.grants[dg.ID] {
		for _, cl := range g.clauses {
			var gs []string
			for _, id := range cl.Groups {
				gs = append(gs, ck.names[cl.Issuer+"\x00"+id].Name)
			}
			who = append(who, strings.Join(gs, " and "))
		}
	}
	for _, u := range members {
		ck.rep.UsersChecked++
		groups, err := ck.dir.Groups(ctx, &idbridge.Claims{Issuer: ck.iss.Issuer, Subject: u})
		if err != nil {
			return fmt.Errorf("dirdrift: groups of a member of %s: %w", dg.Name, err)
		}
		if !ck.granted(dg, heldGroups(groups)) {
			ck.rep.Findings = append(ck.rep.Findings, Finding{Kind: UngrantedMember, Group: dg.Name, DN: dg.ID, User: u,
				Detail: "the policy grants it only to members of " + strings.Join(who, "; or ")})
		}
	}
	return nil
}

// heldGroups indexes a user's directory groups by DN ("dn:" + DN) and by
// the value of a single-valued first RDN, usually the cn ("name:" + value
// in lower case), which is how groups of other issuers are matched.
func heldGroups(groups []string) map[string]bool {
	held := map[string]bool{}
	for _, g := range groups {
		held["dn:"+g] = true
		if dn, err := goldap.ParseDN(g); err == nil && len(dn.RDNs) > 0 && len(dn.RDNs[0].Attributes) == 1 {
			held["name:"+strings.ToLower(dn.RDNs[0].Attributes[0].Value)] = true
		}
	}
	return held
}

// granted reports whether a user holding held is in every group of at
// least one condition that grants dg.
func (ck *checker) granted(dg rbac.DirectoryGroup, held map[string]bool) bool {
	has := func(issuerName, id string) bool {
		if issuerName == ck.issuer {
			return held["dn:"+id]
		}
		return held["name:"+strings.ToLower(ck.names[issuerName+"\x00"+id].Name)]
	}
	for _, g := range ck.grants[dg.ID] {
		for _, cl := range g.clauses {
			all := len(cl.Groups) > 0
			for _, id := range cl.Groups {
				all = all && has(cl.Issuer, id)
			}
			if all {
				return true
			}
		}
	}
	return false
}
