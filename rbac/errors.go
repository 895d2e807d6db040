package rbac

import (
	"fmt"
	"strings"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/reason"
)

// The sentinels. Every denial and every error of this package wraps exactly
// one of them (unusable options: idbridge.ErrInvalidOptions), so callers
// match with errors.Is and read the class with idbridge.ReasonOf
// (middleware turns the class into 401/403/503).
var (
	// ErrInvalidPolicy: the policy file is not valid (YAML syntax, unknown
	// fields, duplicate IDs, undeclared references, malformed ARNs or group
	// IDs). Each problem is a [*PolicyError] with its line; a policy that
	// fails to load never replaces a working one.
	ErrInvalidPolicy = reason.New(reason.Malformed, "rbac: invalid policy")

	// ErrNoMatch: no mapping granted anything (default deny).
	ErrNoMatch = reason.New(reason.InsufficientRole, "rbac: no mapping grants access")
	// ErrPermission: the decision grants roles, but none of them carries
	// the permission asked for.
	ErrPermission = reason.New(reason.InsufficientRole, "rbac: permission not granted")
	// ErrScope: no mapping matched, and one would have if the token carried
	// more delegated scopes; the client should ask for them.
	ErrScope = reason.New(reason.InsufficientScope, "rbac: insufficient scope")
	// ErrStepUp: no mapping matched, and one would have with multi-factor
	// authentication or a stronger acr; the client should re-authenticate.
	ErrStepUp = reason.New(reason.StepUpRequired, "rbac: step-up authentication required")
	// ErrDenied: a deny rule matched. Deny rules win over every grant. The
	// class is the rule's own (forbidden by default, revoked for leavers).
	ErrDenied = reason.New(reason.Forbidden, "rbac: denied by rule")
	// ErrSoD: the roles granted together break a separation-of-duties
	// constraint; the whole decision is denied rather than picking one.
	ErrSoD = reason.New(reason.Forbidden, "rbac: separation of duties violated")
	// ErrIssuer: the claims come from an issuer the policy does not declare.
	ErrIssuer = reason.New(reason.Issuer, "rbac: issuer not in policy")
	// ErrTenant: the claims come from a multi-tenant ({tenantid}) issuer of
	// the policy, but from a tenant its tenants list does not hold.
	ErrTenant = reason.New(reason.Tenant, "rbac: tenant not allowed")
	// ErrClaimType: a claim the policy reads has an unexpected JSON type
	// (groups as a string, a null claim compared with equals, ...). Such
	// claims are never guessed at: the decision is denied.
	ErrClaimType = reason.New(reason.Forbidden, "rbac: claim of unexpected type")
	// ErrNoClaims: Decide was called with nil claims.
	ErrNoClaims = reason.New(reason.MissingClaim, "rbac: no claims")
	// ErrGroupsOverage: the token omits its groups (Entra overage) and no
	// [GroupSource] is configured, so the decision fails closed.
	ErrGroupsOverage = reason.New(reason.MissingClaim, "rbac: groups overage and no group source")
	// ErrGroupSource: the configured [GroupSource] failed; the decision
	// fails closed rather than deciding on partial groups.
	ErrGroupSource = reason.New(reason.IdPUnavailable, "rbac: group source unavailable")
)

// PolicyError is one problem in a policy file, with its position so a
// reviewer can jump to it. A load that fails returns all problems found
// (up to a limit) joined with errors.Join; each unwraps to
// [ErrInvalidPolicy].
type PolicyError struct {
	File   string // file name as given, or "policy" for bytes
	Line   int    // 1-based; 0 when the problem is the whole file
	Column int    // 1-based; 0 when unknown
	Path   string // where in the document, e.g. "mappings[2].grant.roles[0]"
	Msg    string
}

// Error formats the problem as file:line:col: path: message, the form
// editors and CI annotations understand.
func (e *PolicyError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns [ErrInvalidPolicy].
func (e *PolicyError) Unwrap() error { return ErrInvalidPolicy }

// DeniedError says which rule denied a decision. It unwraps to its sentinel
// ([ErrDenied], [ErrSoD], ...) and carries the rule's reason class, so a
// deny rule for leavers can surface as "revoked" while still matching
// errors.Is(err, ErrDenied).
type DeniedError struct {
	Err    error  // the sentinel
	Rule   string // deny rule, SoD constraint or issuer; "" for default deny
	Detail string // human detail; never contains a token or secret
	class  idbridge.Reason
}

// Error returns the sentinel's message, the rule and the detail.
func (e *DeniedError) Error() string {
	s := e.Err.Error()
	if e.Rule != "" {
		s += " " + quote(e.Rule)
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap returns the sentinel.
func (e *DeniedError) Unwrap() error { return e.Err }

// Reason returns the reason class, which for deny rules may differ from
// the sentinel's (a leaver rule reports "revoked").
func (e *DeniedError) Reason() idbridge.Reason { return e.class }

func quote(s string) string { return fmt.Sprintf("%q", s) }
