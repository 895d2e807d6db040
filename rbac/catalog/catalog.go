package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/reason"
	"github.com/idbridge/idbridge/rbac"
)

// SchemaVersion is the version of the JSON document [Catalog] writes. It
// changes whenever a field changes meaning or goes away; fields may be
// added within a version.
const SchemaVersion = 1

// Errors. Each is wrapped with detail; match with errors.Is.
var (
	// ErrSchemaVersion (class malformed): a catalogue written with another
	// schema version.
	ErrSchemaVersion = reason.New(reason.Malformed, "catalog: schema version mismatch")
	// ErrMalformed (class malformed): a catalogue document, or claims
	// given to [WhatIf], that do not decode.
	ErrMalformed = reason.New(reason.Malformed, "catalog: malformed catalogue")
	// ErrTooLarge (class too_large): the report would exceed its bound: a
	// catalogue document over 64 MiB, or a policy with more than 10,000
	// separation-of-duties group combinations, which is refused rather than
	// reported in part.
	ErrTooLarge = reason.New(reason.TooLarge, "catalog: too large")
)

// maxConflicts bounds the group combinations listed per catalogue.
const maxConflicts = 10000

// Catalog is a policy's entitlements as a governance tool reads them.
type Catalog struct {
	SchemaVersion int       `json:"schema_version"`
	Policy        PolicyRef `json:"policy"`
	Issuers       []Issuer  `json:"issuers"`
	Groups        []Group   `json:"groups"`
	Roles         []Role    `json:"roles"`
	// OtherGrants are mappings (alternatives) that name no group: they
	// apply to every token of their issuer that passes When.
	OtherGrants []Grant `json:"other_grants,omitempty"`
	SoD         []SoD   `json:"separation_of_duties"`
}

// PolicyRef names the policy a catalogue was made from.
type PolicyRef struct {
	File    string `json:"file"`
	Version string `json:"version"` // first 12 hex digits of the file's SHA-256
}

// Issuer is one environment the policy trusts: an IdP or the directory.
type Issuer struct {
	Name     string   `json:"name"`
	Issuer   string   `json:"issuer"`
	GroupIDs string   `json:"group_ids"` // object_id | dn | name
	Tenants  []string `json:"tenants,omitempty"`
}

// Group is one business group and everything membership in it grants.
type Group struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Issuer   string   `json:"issuer"`
	Grants   []Grant  `json:"grants"`
	DeniedBy []Denial `json:"denied_by,omitempty"`
}

// Grant is what one mapping gives a member of the group.
type Grant struct {
	Mapping     string `json:"mapping"`
	Description string `json:"description,omitempty"`
	Issuer      string `json:"issuer"`
	// When lists what must hold besides membership in the group: other
	// groups ("group Credit_Officers"), "mfa", "scope Loans.ReadWrite", ...
	When            []string         `json:"when,omitempty"`
	Roles           []string         `json:"roles,omitempty"`
	Permissions     []string         `json:"permissions,omitempty"` // of Roles, sorted
	AWS             []AWSRole        `json:"aws,omitempty"`
	DirectoryGroups []DirectoryGroup `json:"directory_groups,omitempty"`
}

// AWSRole is an IAM role the grant lets the user assume.
type AWSRole struct {
	RoleARN             string            `json:"role_arn"`
	DurationSeconds     int64             `json:"duration_seconds,omitempty"` // 0: STS default (1h)
	SessionTags         map[string]string `json:"session_tags,omitempty"`
	SourceIdentityClaim string            `json:"source_identity_claim,omitempty"`
}

// DirectoryGroup is an AD/LDAP group the grant places the user in.
type DirectoryGroup struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Roles are what membership in the directory group grants in turn,
	// through the policy's own mappings on it.
	Roles []string `json:"roles,omitempty"`
}

// Denial is a deny rule that membership in the group triggers.
type Denial struct {
	Rule   string   `json:"rule"`
	Reason string   `json:"reason"`
	When   []string `json:"when,omitempty"`
}

// Role is one application role.
type Role struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Permissions []string `json:"permissions"`
}

// SoD is a separation-of-duties constraint and the group combinations
// that violate it.
type SoD struct {
	ID          string     `json:"id"`
	Description string     `json:"description,omitempty"`
	Roles       []string   `json:"roles"`
	Conflicts   []Conflict `json:"conflicts"`
}

// Conflict is one set of groups (plus conditions) whose members would hold
// two roles of a constraint.
type Conflict struct {
	Roles  []string `json:"roles"`  // the two roles
	Groups []string `json:"groups"` // group names, sorted
	When   []string `json:"when,omitempty"`
	// InOneDecision is true when all groups belong to one issuer: rbac
	// then denies the token (forbidden). When false the roles come from
	// different environments (say Entra and the directory), no single
	// decision sees both, and only the governance tool can prevent the
	// combination.
	InOneDecision bool `json:"in_one_decision"`
	// Via names the ad_groups through which a role is reached: a group
	// grants the directory group (provisioning), which in turn grants the
	// role on-premises.
	Via []string `json:"via,omitempty"`
}

// New builds the catalogue of the policy's current version.
func New(p *rbac.Policy) (*Catalog, error) {
	if p == nil {
		return nil, fmt.Errorf("catalog: %w: nil policy", idbridge.ErrInvalidOptions)
	}
	return fromInventory(p.Inventory())
}

// fromInventory builds the catalogue of an inventory.
func fromInventory(inv rbac.Inventory) (*Catalog, error) {
	b := newBuilder(inv)
	for _, m := range inv.Mappings {
		b.mapping(m)
	}
	b.denies()
	if err := b.sods(); err != nil {
		return nil, err
	}
	return b.c, nil
}

// builder holds a catalogue being built and the lookups it needs.
type builder struct {
	inv   rbac.Inventory
	c     *Catalog
	perms map[string][]string // role -> permissions
	names map[string]string   // issuer+"\x00"+ID -> group name
	index map[string]int      // issuer+"\x00"+ID -> index in c.Groups
}

// newBuilder starts a catalogue with the inventory's roles, issuers and
// groups.
func newBuilder(inv rbac.Inventory) *builder {
	b := &builder{
		inv:   inv,
		c:     &Catalog{SchemaVersion: SchemaVersion, Policy: PolicyRef{File: inv.File, Version: inv.Version}},
		perms: map[string][]string{}, names: map[string]string{}, index: map[string]int{},
	}
	c := b.c
	for _, r := range inv.Roles {
		c.Roles = append(c.Roles, Role{Name: r.Name, Description: r.Description, Permissions: nonNil(r.Permissions)})
		b.perms[r.Name] = r.Permissions
	}
	for _, is := range inv.Issuers {
		c.Issuers = append(c.Issuers, Issuer{Name: is.Name, Issuer: is.Issuer, GroupIDs: is.GroupIDs, Tenants: is.Tenants})
	}
	for _, g := range inv.Groups {
		k := g.Issuer + "\x00" + g.ID
		b.names[k] = g.Name
		b.index[k] = len(c.Groups)
		c.Groups = append(c.Groups, Group{ID: g.ID, Name: g.Name, Issuer: g.Issuer, Grants: []Grant{}})
	}
	return b
}

// when renders a clause's conditions other than the group skip.
func (b *builder) when(cl rbac.Clause, skip string) []string {
	var out []string
	for _, id := range cl.Groups {
		if id != skip {
			out = append(out, "group "+b.names[cl.Issuer+"\x00"+id])
		}
	}
	return append(out, cl.Tests...)
}

// mapping adds the grants of one mapping to the groups it names, or to
// OtherGrants for alternatives that name none.
func (b *builder) mapping(m rbac.InventoryRule) {
	base := Grant{Mapping: m.ID, Description: m.Description, Roles: m.Roles}
	for _, r := range m.Roles {
		base.Permissions = append(base.Permissions, b.perms[r]...)
	}
	slices.Sort(base.Permissions)
	base.Permissions = slices.Compact(base.Permissions)
	for _, a := range m.AWS {
		base.AWS = append(base.AWS, AWSRole{RoleARN: a.RoleARN, DurationSeconds: int64(a.Duration.Seconds()),
			SessionTags: maps.Clone(a.SessionTags), SourceIdentityClaim: a.SourceIdentityClaim})
	}
	for _, d := range m.DirectoryGroups {
		base.DirectoryGroups = append(base.DirectoryGroups, b.directoryGroup(d))
	}
	for _, cl := range m.When {
		g := base
		g.Issuer = cl.Issuer
		if len(cl.Groups) == 0 {
			g.When = b.when(cl, "")
			b.c.OtherGrants = append(b.c.OtherGrants, g)
			continue
		}
		for _, id := range cl.Groups {
			g.When = b.when(cl, id)
			gi := b.index[cl.Issuer+"\x00"+id]
			b.c.Groups[gi].Grants = append(b.c.Groups[gi].Grants, g)
		}
	}
}

// directoryGroup describes an ad_group a mapping provisions, with the
// roles that membership alone grants.
func (b *builder) directoryGroup(d rbac.DirectoryGroup) DirectoryGroup {
	dg := DirectoryGroup{ID: d.ID, Name: d.Name}
	for _, pm := range b.inv.Mappings {
		for _, cl := range pm.When {
			if len(cl.Groups) == 1 && cl.Groups[0] == d.ID && len(cl.Tests) == 0 {
				dg.Roles = append(dg.Roles, pm.Roles...)
			}
		}
	}
	return dg
}

// denies adds the deny rules to the groups they name.
func (b *builder) denies() {
	for _, d := range b.inv.Denies {
		for _, cl := range d.When {
			for _, id := range cl.Groups {
				gi := b.index[cl.Issuer+"\x00"+id]
				b.c.Groups[gi].DeniedBy = append(b.c.Groups[gi].DeniedBy, Denial{Rule: d.ID, Reason: d.Reason, When: b.when(cl, id)})
			}
		}
	}
}

// sods lists, for each separation-of-duties rule, the group combinations
// that would grant two of its roles; at most maxConflicts in all.
func (b *builder) sods() error {
	total := 0
	for _, s := range b.inv.SoD {
		sod := SoD{ID: s.ID, Description: s.Description, Roles: s.Roles, Conflicts: []Conflict{}}
		seen := map[string]bool{}
		for i, ra := range s.Roles {
			for _, rb := range s.Roles[i+1:] {
				for _, ca := range clausesGranting(b.inv, ra) {
					for _, cb := range clausesGranting(b.inv, rb) {
						cf := combine(ra, rb, ca, cb, b.names)
						k := strings.Join(cf.Roles, ",") + "|" + strings.Join(cf.Groups, ",") + "|" + strings.Join(cf.When, ",") + "|" + strings.Join(cf.Via, ",")
						if seen[k] {
							continue
						}
						seen[k] = true
						if total++; total > maxConflicts {
							return fmt.Errorf("%w: more than %d separation-of-duties group combinations", ErrTooLarge, maxConflicts)
						}
						sod.Conflicts = append(sod.Conflicts, cf)
					}
				}
			}
		}
		b.c.SoD = append(b.c.SoD, sod)
	}
	return nil
}

// path is a way to a role: a clause, and the ad_group it goes through
// when the role is granted on a directory group that another mapping
// provisions.
type path struct {
	rbac.Clause
	via string
}

// clausesGranting lists the ways to hold role: each alternative of each
// mapping granting it, and, one level deep, for an alternative that needs
// a directory group D, each alternative of a mapping that provisions D
// (ad_groups) in place of D.
func clausesGranting(inv rbac.Inventory, role string) []path {
	var out []path
	for _, m := range inv.Mappings {
		if !slices.Contains(m.Roles, role) {
			continue
		}
		for _, cl := range m.When {
			out = append(out, path{Clause: cl})
			for _, id := range cl.Groups {
				for _, pm := range inv.Mappings {
					for _, dg := range pm.DirectoryGroups {
						if dg.ID != id {
							continue
						}
						for _, pc := range pm.When {
							d := rbac.Clause{Issuer: pc.Issuer, Groups: slices.Clone(pc.Groups), Tests: slices.Clone(pc.Tests)}
							for _, other := range cl.Groups {
								if other != id {
									d.Groups = append(d.Groups, other)
								}
							}
							d.Tests = append(d.Tests, cl.Tests...)
							if len(d.Groups) > len(pc.Groups) {
								d.Issuer = "" // groups of two issuers: held together only across environments
							}
							out = append(out, path{Clause: d, via: dg.Name})
						}
					}
				}
			}
		}
	}
	return out
}

func combine(a, b string, ca, cb path, names map[string]string) Conflict {
	// Only a role reached directly under the same issuer meets the other
	// in one decision; a provisioned directory group is decided on-premises.
	cf := Conflict{Roles: []string{a, b}, InOneDecision: ca.Issuer != "" && ca.Issuer == cb.Issuer && ca.via == "" && cb.via == ""}
	for _, cl := range []path{ca, cb} {
		for _, id := range cl.Groups {
			cf.Groups = append(cf.Groups, groupName(names, id))
		}
		cf.When = append(cf.When, cl.Tests...)
		if cl.via != "" && !slices.Contains(cf.Via, cl.via) {
			cf.Via = append(cf.Via, cl.via)
		}
	}
	slices.Sort(cf.Groups)
	cf.Groups = slices.Compact(cf.Groups)
	slices.Sort(cf.When)
	cf.When = slices.Compact(cf.When)
	return cf
}

// groupName finds a group's name by its ID under any issuer (IDs of
// different kinds do not collide: GUIDs, DNs, names).
func groupName(names map[string]string, id string) string {
	for k, n := range names {
		if strings.HasSuffix(k, "\x00"+id) {
			return n
		}
	}
	return id
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// WriteJSON writes the catalogue as indented JSON.
func (c *Catalog) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(c)
}

// maxDocumentSize bounds a catalogue document read by [Read].
const maxDocumentSize = 64 << 20

// Read decodes a catalogue written by [Catalog.WriteJSON]. A document of
// another schema version fails with [ErrSchemaVersion], one that does not
// decode (unknown fields included) with [ErrMalformed].
func Read(r io.Reader) (*Catalog, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxDocumentSize+1))
	if err != nil {
		return nil, fmt.Errorf("catalog: read: %w", err)
	}
	if len(data) > maxDocumentSize {
		return nil, fmt.Errorf("%w: document larger than %d bytes", ErrTooLarge, maxDocumentSize)
	}
	var head struct {
		SchemaVersion *int `json:"schema_version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrMalformed, jsonMsg(err))
	}
	if head.SchemaVersion == nil {
		return nil, fmt.Errorf("%w: no schema_version", ErrMalformed)
	}
	if *head.SchemaVersion != SchemaVersion {
		return nil, fmt.Errorf("%w: document has schema_version %d, this build reads %d", ErrSchemaVersion, *head.SchemaVersion, SchemaVersion)
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	var c Catalog
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrMalformed, jsonMsg(err))
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the document", ErrMalformed)
	}
	for _, s := range c.SoD {
		for i, cf := range s.Conflicts {
			if len(cf.Roles) != 2 {
				return nil, fmt.Errorf("%w: separation_of_duties %q conflict %d has %d roles, want 2", ErrMalformed, s.ID, i, len(cf.Roles))
			}
		}
	}
	return &c, nil
}

// jsonMsg keeps a decoding error's position and type, never the input.
func jsonMsg(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q: expected %s", te.Field, te.Type)
	}
	return err.Error()
}
