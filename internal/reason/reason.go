// Package reason makes the sentinels of idbridge's packages: errors that
// carry one of the reason classes of the root package ([idbridge.Reason]),
// so that one rejected token is described by the same word everywhere.
package reason

import "github.com/idbridge/idbridge"

// The reason classes, as in the root package.
const (
	Malformed         = idbridge.ReasonMalformed
	TooLarge          = idbridge.ReasonTooLarge
	Algorithm         = idbridge.ReasonAlgorithm
	UnknownKey        = idbridge.ReasonUnknownKey
	Signature         = idbridge.ReasonSignature
	Expired           = idbridge.ReasonExpired
	NotYetValid       = idbridge.ReasonNotYetValid
	IssuedInFuture    = idbridge.ReasonIssuedInFuture
	Issuer            = idbridge.ReasonIssuer
	Audience          = idbridge.ReasonAudience
	Type              = idbridge.ReasonType
	MissingClaim      = idbridge.ReasonMissingClaim
	Tenant            = idbridge.ReasonTenant
	Revoked           = idbridge.ReasonRevoked
	InsufficientScope = idbridge.ReasonInsufficientScope
	InsufficientRole  = idbridge.ReasonInsufficientRole
	StepUpRequired    = idbridge.ReasonStepUpRequired
	Forbidden         = idbridge.ReasonForbidden
	IdPUnavailable    = idbridge.ReasonIdPUnavailable
	InvalidOptions    = idbridge.ReasonInvalidOptions
	Closed            = idbridge.ReasonClosed
)

// Error is a sentinel error that carries a reason class. Packages export
// their sentinels as *Error values and wrap them with detail.
type Error struct {
	class idbridge.Reason
	msg   string
}

// New returns a sentinel for class with the given message. The message must
// not contain any token, secret or other caller input.
func New(class idbridge.Reason, msg string) *Error { return &Error{class: class, msg: msg} }

func (e *Error) Error() string { return e.msg }

// Reason returns the reason class.
func (e *Error) Reason() idbridge.Reason { return e.class }

// Reasoner is implemented by every idbridge error that knows its class.
type Reasoner interface{ Reason() idbridge.Reason }

// Of returns the reason class of the first error in err's chain that has
// one, or "" when none does: [idbridge.ReasonOf].
func Of(err error) idbridge.Reason { return idbridge.ReasonOf(err) }
