// Package reason holds the failure classes shared by errors, audit events,
// HTTP and gRPC responses across idbridge, so that one rejected token is
// described by the same word everywhere.
package reason

import "errors"

// The reason classes. Their spelling is part of the audit and wire
// contract: SIEM rules and clients match on them.
const (
	Malformed         = "malformed"
	TooLarge          = "too_large"
	Algorithm         = "algorithm"
	UnknownKey        = "unknown_key"
	Signature         = "signature"
	Expired           = "expired"
	NotYetValid       = "not_yet_valid"
	IssuedInFuture    = "issued_in_future"
	Issuer            = "issuer"
	Audience          = "audience"
	Type              = "type"
	MissingClaim      = "missing_claim"
	Tenant            = "tenant"
	Revoked           = "revoked"
	InsufficientScope = "insufficient_scope"
	InsufficientRole  = "insufficient_role"
	StepUpRequired    = "step_up_required"
	Forbidden         = "forbidden"
	IdPUnavailable    = "idp_unavailable"
)

// Error is a sentinel error that carries a reason class. Packages export
// their sentinels as *Error values and wrap them with detail.
type Error struct {
	class string
	msg   string
}

// New returns a sentinel for class with the given message. The message must
// not contain any token, secret or other caller input.
func New(class, msg string) *Error { return &Error{class: class, msg: msg} }

func (e *Error) Error() string { return e.msg }

// Reason returns the reason class.
func (e *Error) Reason() string { return e.class }

// Reasoner is implemented by every idbridge error that knows its class.
type Reasoner interface{ Reason() string }

// Of returns the reason class of the first error in err's chain that has
// one, or "" when none does.
func Of(err error) string {
	var r Reasoner
	if errors.As(err, &r) {
		return r.Reason()
	}
	return ""
}
