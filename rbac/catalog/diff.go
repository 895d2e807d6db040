package catalog

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/idbridge/idbridge"
)

// Diff is what changes for each group between two policy versions.
type Diff struct {
	SchemaVersion int           `json:"schema_version"`
	Old           PolicyRef     `json:"old"`
	New           PolicyRef     `json:"new"`
	Groups        []GroupChange `json:"groups"` // only groups that change
	// Conflicts lists separation-of-duties combinations that appear or
	// disappear.
	NewConflicts      []SoDConflict `json:"new_conflicts,omitempty"`
	ResolvedConflicts []SoDConflict `json:"resolved_conflicts,omitempty"`
}

// GroupChange is one group's gains and losses.
type GroupChange struct {
	Issuer string `json:"issuer"`
	ID     string `json:"id"`
	Name   string `json:"name"`
	// Status is "added" (declared only in New), "removed" (only in Old)
	// or "changed".
	Status  string        `json:"status"`
	OldName string        `json:"old_name,omitempty"` // when renamed
	Gained  []Entitlement `json:"gained,omitempty"`
	Lost    []Entitlement `json:"lost,omitempty"`
}

// SoDConflict is a conflict with the constraint it breaks.
type SoDConflict struct {
	SoD string `json:"sod"`
	Conflict
}

// Compare lists per group what members gain and lose from old to new. Two
// catalogues of different schema versions are refused with
// [ErrSchemaVersion], a nil one with idbridge.ErrInvalidOptions.
func Compare(old, new *Catalog) (*Diff, error) {
	if old == nil || new == nil {
		return nil, fmt.Errorf("catalog: %w: Compare needs two catalogues", idbridge.ErrInvalidOptions)
	}
	if old.SchemaVersion != new.SchemaVersion {
		return nil, fmt.Errorf("%w: old catalogue has schema_version %d, new %d", ErrSchemaVersion, old.SchemaVersion, new.SchemaVersion)
	}
	if old.SchemaVersion != SchemaVersion {
		return nil, fmt.Errorf("%w: catalogues have schema_version %d, this build compares %d", ErrSchemaVersion, old.SchemaVersion, SchemaVersion)
	}
	d := &Diff{SchemaVersion: SchemaVersion, Old: old.Policy, New: new.Policy, Groups: []GroupChange{}}
	key := func(g Group) string { return g.Issuer + "\x00" + g.ID }
	olds := map[string]Group{}
	for _, g := range old.Groups {
		olds[key(g)] = g
	}
	news := map[string]bool{}
	for _, g := range new.Groups {
		news[key(g)] = true
		o, had := olds[key(g)]
		gc := GroupChange{Issuer: g.Issuer, ID: g.ID, Name: g.Name, Status: "changed"}
		if !had {
			gc.Status = "added"
		} else if o.Name != g.Name {
			gc.OldName = o.Name
		}
		gc.Gained, gc.Lost = minus(g.Entitlements(), o.Entitlements()), minus(o.Entitlements(), g.Entitlements())
		if !had || gc.OldName != "" || len(gc.Gained)+len(gc.Lost) > 0 {
			d.Groups = append(d.Groups, gc)
		}
	}
	for _, g := range old.Groups {
		if !news[key(g)] {
			d.Groups = append(d.Groups, GroupChange{Issuer: g.Issuer, ID: g.ID, Name: g.Name, Status: "removed", Lost: g.Entitlements()})
		}
	}
	oc, nc := conflicts(old), conflicts(new)
	d.NewConflicts, d.ResolvedConflicts = minusConflicts(nc, oc), minusConflicts(oc, nc)
	return d, nil
}

// minus returns the entitlements of a not in b (compared without Mapping).
func minus(a, b []Entitlement) []Entitlement {
	in := map[string]bool{}
	for _, e := range b {
		in[e.key()] = true
	}
	var out []Entitlement
	for _, e := range a {
		if !in[e.key()] {
			out = append(out, e)
		}
	}
	return out
}

func conflicts(c *Catalog) []SoDConflict {
	var out []SoDConflict
	for _, s := range c.SoD {
		for _, cf := range s.Conflicts {
			out = append(out, SoDConflict{SoD: s.ID, Conflict: cf})
		}
	}
	return out
}

func (c SoDConflict) key() string {
	return c.SoD + "|" + strings.Join(c.Roles, ",") + "|" + strings.Join(c.Groups, ",") + "|" + strings.Join(c.When, ",")
}

func minusConflicts(a, b []SoDConflict) []SoDConflict {
	var out []SoDConflict
	for _, c := range a {
		if !slices.ContainsFunc(b, func(o SoDConflict) bool { return o.key() == c.key() }) {
			out = append(out, c)
		}
	}
	return out
}

// Empty reports whether nothing changes.
func (d *Diff) Empty() bool {
	return len(d.Groups) == 0 && len(d.NewConflicts) == 0 && len(d.ResolvedConflicts) == 0
}

// WriteText renders the diff for people, one change per line.
func (d *Diff) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "policy %s (%s) -> %s (%s)\n", d.Old.Version, d.Old.File, d.New.Version, d.New.File)
	if d.Empty() {
		b.WriteString("no change in any group's entitlements\n")
	}
	for _, g := range d.Groups {
		fmt.Fprintf(&b, "group %s (%s, %s) %s", g.Name, g.Issuer, g.ID, g.Status)
		if g.OldName != "" {
			fmt.Fprintf(&b, ", renamed from %s", g.OldName)
		}
		b.WriteByte('\n')
		for _, e := range g.Gained {
			fmt.Fprintf(&b, "  + %s\n", e)
		}
		for _, e := range g.Lost {
			fmt.Fprintf(&b, "  - %s\n", e)
		}
	}
	for _, c := range d.NewConflicts {
		fmt.Fprintf(&b, "new SoD conflict %s\n", c)
	}
	for _, c := range d.ResolvedConflicts {
		fmt.Fprintf(&b, "resolved SoD conflict %s\n", c)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (c SoDConflict) String() string {
	s := fmt.Sprintf("%s: %s + %s through %s", c.SoD, c.Roles[0], c.Roles[1], strings.Join(c.Groups, " + "))
	if len(c.When) > 0 {
		s += " (when " + strings.Join(c.When, ", ") + ")"
	}
	if len(c.Via) > 0 {
		s += " via ad_group " + strings.Join(c.Via, ", ")
	}
	if !c.InOneDecision {
		s += " [across issuers: only the governance tool can prevent it]"
	}
	return s
}
