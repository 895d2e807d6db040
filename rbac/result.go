package rbac

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/reason"
)

// AWSRole is a per-environment grant for AWS: the IAM role a user may
// assume through STS AssumeRoleWithWebIdentity, and how.
type AWSRole struct {
	// RoleARN is the IAM role, validated at load.
	RoleARN string `json:"role_arn"`
	// Duration is the session duration to request; 0 leaves it to STS
	// (one hour). Within 15m..12h when set.
	Duration time.Duration `json:"-"`
	// SessionTags are the tags the session should carry. The map is shared
	// by every decision: do not modify it.
	SessionTags map[string]string `json:"session_tags,omitempty"`
	// SourceIdentityClaim names the claim whose value becomes the STS
	// SourceIdentity (it survives role chaining, so CloudTrail ties every
	// action to the person); "" for none.
	SourceIdentityClaim string `json:"source_identity_claim,omitempty"`
	// SourceIdentity is the value of SourceIdentityClaim in the decided
	// claims; "" when the claim is absent or not a string.
	SourceIdentity string `json:"source_identity,omitempty"`
	// Mapping is the mapping that granted the role.
	Mapping string `json:"mapping"`
}

// MarshalJSON writes Duration in seconds (duration_seconds), the unit STS
// takes, instead of nanoseconds.
func (a AWSRole) MarshalJSON() ([]byte, error) {
	type plain AWSRole
	return json.Marshal(struct {
		plain
		DurationSeconds int64 `json:"duration_seconds,omitempty"`
	}{plain(a), int64(a.Duration / time.Second)})
}

// DirectoryGroup is a per-environment grant on-premises: an AD/LDAP group
// the user should be in (for provisioning, or for an on-prem app that
// checks group membership).
type DirectoryGroup struct {
	ID      string `json:"id"`      // normalized DN (or name) as declared under groups:
	Name    string `json:"name"`    // display name
	Mapping string `json:"mapping"` // the mapping that granted it
}

// Roles returns the granted roles in policy order; nil when denied.
func (d Decision) Roles() []string {
	if !d.OK() {
		return nil
	}
	rs := d.roleList()
	slices.Sort(rs)
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = d.s.roles[r].name
	}
	return out
}

// Permissions returns every permission the granted roles carry, sorted;
// nil when denied.
func (d Decision) Permissions() []string {
	if !d.OK() {
		return nil
	}
	set := map[string]struct{}{}
	for _, r := range d.roleList() {
		for _, p := range d.s.roles[r].perms {
			set[d.s.perms[p]] = struct{}{}
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// Mappings returns the IDs of the mappings that matched, in policy order.
// They are reported even when a deny rule or SoD constraint then denied,
// which is what an explanation needs.
func (d Decision) Mappings() []string {
	if d.s == nil {
		return nil
	}
	ms := d.mapList()
	slices.Sort(ms)
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = d.s.mappings[m].id
	}
	return out
}

// AWSRoles returns the AWS grants of the matched mappings in policy order,
// one per role ARN (the first mapping granting an ARN wins); nil when
// denied.
func (d Decision) AWSRoles() []AWSRole {
	if !d.OK() {
		return nil
	}
	ms := d.mapList()
	slices.Sort(ms)
	var out []AWSRole
	for _, m := range ms {
		for _, a := range d.s.mappings[m].aws {
			if slices.ContainsFunc(out, func(b AWSRole) bool { return b.RoleARN == a.RoleARN }) {
				continue
			}
			if a.SourceIdentityClaim != "" {
				a.SourceIdentity = d.claimString(a.SourceIdentityClaim)
			}
			out = append(out, a)
		}
	}
	return out
}

// DirectoryGroups returns the on-prem group grants of the matched mappings,
// one per group, in policy order; nil when denied.
func (d Decision) DirectoryGroups() []DirectoryGroup {
	if !d.OK() {
		return nil
	}
	ms := d.mapList()
	slices.Sort(ms)
	var out []DirectoryGroup
	for _, m := range ms {
		for _, g := range d.s.mappings[m].ad {
			if !slices.ContainsFunc(out, func(h DirectoryGroup) bool { return h.ID == g.ID }) {
				out = append(out, g)
			}
		}
	}
	return out
}

func (d *Decision) claimString(name string) string {
	if d.c == nil {
		return ""
	}
	if acc := accessorFor(name); acc != accCustom && !multiClaim(acc) {
		return stringClaim(d.c, acc)
	}
	v, ok := rawClaim(d.c, d.x, name)
	if !ok {
		return ""
	}
	b, s, ok := rawString(v)
	if !ok {
		return ""
	}
	if b != nil {
		return string(b)
	}
	return s
}

// Reason returns the reason class of a denial ("insufficient_role",
// "forbidden", "revoked", "step_up_required", ...), or "" when the decision
// grants access. It does not allocate.
func (d Decision) Reason() idbridge.Reason {
	if d.s == nil {
		return reason.Forbidden
	}
	switch d.status {
	case stAllow:
		return ""
	case stNoClaims:
		return reason.MissingClaim
	case stIssuer:
		return reason.Issuer
	case stTenant:
		return reason.Tenant
	case stClaimType:
		return reason.Forbidden
	case stOverage:
		return reason.MissingClaim
	case stGroupSource:
		if r := reason.Of(d.srcErr()); r != "" {
			return r
		}
		return reason.IdPUnavailable
	case stNoMatch:
		return reason.InsufficientRole
	case stScope:
		return reason.InsufficientScope
	case stStepUp:
		return reason.StepUpRequired
	case stDenied:
		return d.s.denies[d.rule].class
	case stSoD:
		return reason.Forbidden
	}
	return reason.Forbidden
}

// Err returns nil when the decision grants access, else an error wrapping
// one of the sentinels (match with errors.Is; [*DeniedError] names the
// rule). Its reason class equals [Decision.Reason].
func (d Decision) Err() error {
	if d.s == nil {
		return &DeniedError{Err: ErrNoMatch, class: reason.Forbidden, Detail: "zero decision"}
	}
	switch d.status {
	case stAllow:
		return nil
	case stNoClaims:
		return ErrNoClaims
	case stIssuer:
		return &DeniedError{Err: ErrIssuer, class: reason.Issuer, Detail: fmt.Sprintf("iss %q", d.c.Issuer)}
	case stTenant:
		return &DeniedError{Err: ErrTenant, class: reason.Tenant, Detail: fmt.Sprintf("tid %q", d.c.TenantID)}
	case stClaimType:
		return &DeniedError{Err: ErrClaimType, class: reason.Forbidden, Detail: fmt.Sprintf("claim %q", d.ext.detail)}
	case stOverage:
		return ErrGroupsOverage
	case stGroupSource:
		err := d.srcErr()
		if err == nil {
			return ErrGroupSource
		}
		// The source's own class wins (a disabled directory account is
		// "revoked", not "idp_unavailable").
		if reason.Of(err) != "" {
			return fmt.Errorf("%w: %w", err, ErrGroupSource)
		}
		return fmt.Errorf("%w: %w", ErrGroupSource, err)
	case stNoMatch:
		return ErrNoMatch
	case stScope:
		return ErrScope
	case stStepUp:
		return ErrStepUp
	case stDenied:
		r := d.s.denies[d.rule]
		return &DeniedError{Err: ErrDenied, Rule: r.id, class: r.class, Detail: r.desc}
	case stSoD:
		r := d.s.sods[d.rule]
		return &DeniedError{Err: ErrSoD, Rule: r.id, class: reason.Forbidden,
			Detail: fmt.Sprintf("roles %s and %s may not be held together", d.s.roles[d.roleA].name, d.s.roles[d.roleB].name)}
	}
	return ErrNoMatch
}

// Rule returns the ID of the deny rule or separation-of-duties constraint
// that denied the decision, or "".
func (d Decision) Rule() string {
	if d.s == nil {
		return ""
	}
	switch d.status {
	case stDenied:
		return d.s.denies[d.rule].id
	case stSoD:
		return d.s.sods[d.rule].id
	}
	return ""
}

// PolicyVersion identifies the policy the decision was made with: the first
// 12 hex digits of the SHA-256 of its file.
func (d Decision) PolicyVersion() string {
	if d.s == nil {
		return ""
	}
	return d.s.version
}

// Check returns nil when the decision grants permission, else why not: the
// decision's own error when it denies outright, [ErrStepUp] or [ErrScope]
// when a mapping granting the permission failed only for lack of MFA/acr or
// of scopes (so the client knows what to ask for), else [ErrPermission].
func (d Decision) Check(permission string) error {
	if err := d.Err(); err != nil {
		return err
	}
	if d.Allowed(permission) {
		return nil
	}
	if d.grantsVia(d.nearStepUp, permission) {
		return &DeniedError{Err: ErrStepUp, Rule: d.s.mappings[d.nearStepUp-1].id, class: reason.StepUpRequired, Detail: fmt.Sprintf("permission %q needs MFA", permission)}
	}
	if d.grantsVia(d.nearScope, permission) {
		return &DeniedError{Err: ErrScope, Rule: d.s.mappings[d.nearScope-1].id, class: reason.InsufficientScope, Detail: fmt.Sprintf("permission %q needs more scopes", permission)}
	}
	return &DeniedError{Err: ErrPermission, class: reason.InsufficientRole, Detail: fmt.Sprintf("permission %q", permission)}
}

// grantsVia reports whether mapping m-1 grants permission.
func (d *Decision) grantsVia(m uint32, permission string) bool {
	if m == 0 {
		return false
	}
	p, ok := d.s.permIdx[permission]
	if !ok {
		return false
	}
	for _, r := range d.s.mappings[m-1].roles {
		if _, ok := slices.BinarySearch(d.s.roles[r].perms, p); ok {
			return true
		}
	}
	return false
}

func (d *Decision) srcErr() error {
	if d.ext == nil {
		return nil
	}
	return d.ext.srcErr
}
