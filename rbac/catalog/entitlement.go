package catalog

import (
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Kinds of [Entitlement].
const (
	KindRole       = "role"
	KindPermission = "permission"
	KindAWSRole    = "aws_role"
	KindADGroup    = "ad_group"
	KindDeny       = "deny"
)

// Entitlement is one thing a group gives (or, for KindDeny, takes away),
// flattened for review rows and diffs.
type Entitlement struct {
	Kind   string   `json:"kind"`
	Name   string   `json:"name"`             // role, permission, role ARN, AD group name or deny rule
	Detail string   `json:"detail,omitempty"` // duration and tags, AD group DN, deny reason
	When   []string `json:"when,omitempty"`
	// Mapping is the rule that grants (or denies). It is not part of the
	// entitlement's identity: moving a grant between mappings changes no
	// one's access.
	Mapping string `json:"mapping,omitempty"`
}

func (e Entitlement) key() string {
	return e.Kind + "\x00" + e.Name + "\x00" + e.Detail + "\x00" + strings.Join(e.When, "\x01")
}

// String renders the entitlement for people: `role LoanOriginator (when
// mfa, scope Loans.ReadWrite)`.
func (e Entitlement) String() string {
	s := e.Kind + " " + e.Name
	if e.Detail != "" {
		s += " [" + e.Detail + "]"
	}
	if len(e.When) > 0 {
		s += " (when " + strings.Join(e.When, ", ") + ")"
	}
	return s
}

// Entitlements flattens what the group grants and denies, without
// repeats, sorted by kind and name.
func (g Group) Entitlements() []Entitlement {
	var out []Entitlement
	for _, gr := range g.Grants {
		out = append(out, gr.entitlements()...)
	}
	for _, d := range g.DeniedBy {
		out = append(out, Entitlement{Kind: KindDeny, Name: d.Rule, Detail: "reason " + d.Reason, When: d.When, Mapping: d.Rule})
	}
	return sortUnique(out)
}

func (gr Grant) entitlements() []Entitlement {
	var out []Entitlement
	add := func(kind, name, detail string) {
		out = append(out, Entitlement{Kind: kind, Name: name, Detail: detail, When: gr.When, Mapping: gr.Mapping})
	}
	for _, r := range gr.Roles {
		add(KindRole, r, "")
	}
	for _, p := range gr.Permissions {
		add(KindPermission, p, "")
	}
	for _, a := range gr.AWS {
		add(KindAWSRole, a.RoleARN, a.detail())
	}
	for _, d := range gr.DirectoryGroups {
		add(KindADGroup, d.Name, d.ID)
	}
	return out
}

func (a AWSRole) detail() string {
	var parts []string
	if a.DurationSeconds > 0 {
		parts = append(parts, fmt.Sprintf("duration_seconds %d", a.DurationSeconds))
	}
	if len(a.SessionTags) > 0 {
		var tags []string
		for k, v := range a.SessionTags {
			tags = append(tags, k+"="+v)
		}
		slices.Sort(tags)
		parts = append(parts, "tags "+strings.Join(tags, ","))
	}
	if a.SourceIdentityClaim != "" {
		parts = append(parts, "source_identity "+a.SourceIdentityClaim)
	}
	return strings.Join(parts, "; ")
}

var kindOrder = map[string]int{KindDeny: 0, KindRole: 1, KindPermission: 2, KindAWSRole: 3, KindADGroup: 4}

func sortUnique(es []Entitlement) []Entitlement {
	slices.SortStableFunc(es, func(a, b Entitlement) int {
		if d := kindOrder[a.Kind] - kindOrder[b.Kind]; d != 0 {
			return d
		}
		return strings.Compare(a.key(), b.key())
	})
	return slices.CompactFunc(es, func(a, b Entitlement) bool { return a.key() == b.key() })
}

// csvHeader is the first row [Catalog.WriteCSV] writes.
var csvHeader = []string{"schema_version", "issuer", "group_id", "group_name", "kind", "name", "detail", "when", "mapping"}

// WriteCSV writes one row per group and entitlement, for
// spreadsheet review. Grants that name no group have empty group columns.
// Separation-of-duties conflicts are in [Catalog.WriteConflictsCSV].
func (c *Catalog) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	v := fmt.Sprint(c.SchemaVersion)
	_ = cw.Write(csvHeader)
	for _, g := range c.Groups {
		for _, e := range g.Entitlements() {
			_ = cw.Write([]string{v, g.Issuer, g.ID, g.Name, e.Kind, csvSafe(e.Name), csvSafe(e.Detail), csvSafe(strings.Join(e.When, "; ")), e.Mapping})
		}
	}
	for _, gr := range c.OtherGrants {
		for _, e := range sortUnique(gr.entitlements()) {
			_ = cw.Write([]string{v, gr.Issuer, "", "", e.Kind, csvSafe(e.Name), csvSafe(e.Detail), csvSafe(strings.Join(e.When, "; ")), e.Mapping})
		}
	}
	cw.Flush()
	return cw.Error()
}

// conflictsCSVHeader is the first row [Catalog.WriteConflictsCSV] writes.
var conflictsCSVHeader = []string{"schema_version", "sod", "role_a", "role_b", "groups", "when", "in_one_decision", "via"}

// WriteConflictsCSV writes one row per separation-of-duties conflict.
func (c *Catalog) WriteConflictsCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	v := fmt.Sprint(c.SchemaVersion)
	_ = cw.Write(conflictsCSVHeader)
	for _, s := range c.SoD {
		for _, cf := range s.Conflicts {
			_ = cw.Write([]string{v, s.ID, cf.Roles[0], cf.Roles[1], csvSafe(strings.Join(cf.Groups, "; ")),
				csvSafe(strings.Join(cf.When, "; ")), fmt.Sprint(cf.InOneDecision), csvSafe(strings.Join(cf.Via, "; "))})
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe keeps a spreadsheet from reading a cell as a formula (CSV
// injection): values from the policy starting with = + - @ get a quote.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
