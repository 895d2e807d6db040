package idbridge

import "errors"

// Reason is a failure class shared by errors, audit events ([FieldReason])
// and HTTP/gRPC responses, so that one rejected token is described by the
// same word everywhere. Its spelling is part of the audit and wire
// contract: SIEM rules and clients match on it. AUDIT.md lists the classes.
type Reason string

// The reason classes.
const (
	ReasonMalformed         Reason = "malformed"
	ReasonTooLarge          Reason = "too_large"
	ReasonAlgorithm         Reason = "algorithm"
	ReasonUnknownKey        Reason = "unknown_key"
	ReasonSignature         Reason = "signature"
	ReasonExpired           Reason = "expired"
	ReasonNotYetValid       Reason = "not_yet_valid"
	ReasonIssuedInFuture    Reason = "issued_in_future"
	ReasonIssuer            Reason = "issuer"
	ReasonAudience          Reason = "audience"
	ReasonType              Reason = "type"
	ReasonMissingClaim      Reason = "missing_claim"
	ReasonTenant            Reason = "tenant"
	ReasonRevoked           Reason = "revoked"
	ReasonInsufficientScope Reason = "insufficient_scope"
	ReasonInsufficientRole  Reason = "insufficient_role"
	ReasonStepUpRequired    Reason = "step_up_required"
	ReasonForbidden         Reason = "forbidden"
	ReasonIdPUnavailable    Reason = "idp_unavailable"
	// ReasonInvalidOptions is the class of a constructor refusing its
	// options: a programming or configuration error, not a property of any
	// token ([ErrInvalidOptions]).
	ReasonInvalidOptions Reason = "invalid_options"
	// ReasonClosed is the class of a call to something already closed
	// ([ErrClosed]).
	ReasonClosed Reason = "closed"
	// ReasonMissing is the class of a request that carried no credential at
	// all. It is not an error class of any package: the guards record it at
	// INFO so that anonymous traffic does not look like an attack.
	ReasonMissing Reason = "missing"
)

// ReasonOf returns the reason class of an idbridge error, such as
// [ReasonExpired], [ReasonUnknownKey] or [ReasonIdPUnavailable]: the class
// of the first error in err's chain that has one (a Reason() Reason
// method). It returns "" when err is nil or not an idbridge error.
func ReasonOf(err error) Reason {
	var r interface{ Reason() Reason }
	if errors.As(err, &r) {
		return r.Reason()
	}
	return ""
}

// The sentinels shared by every package. Packages wrap them with their own
// detail, for example fmt.Errorf("token: %w: TokenURL is empty",
// idbridge.ErrInvalidOptions), and callers match them with errors.Is.
var (
	// ErrInvalidOptions (class invalid_options): a constructor refused its
	// options. The detail names the option, never a secret.
	ErrInvalidOptions error = &sentinel{ReasonInvalidOptions, "invalid options"}
	// ErrClosed (class closed): the call reached something already closed.
	ErrClosed error = &sentinel{ReasonClosed, "closed"}
	// ErrMalformed (class malformed): a token or claims object that
	// [ParseClaims] (or the SDK's unverified JWT reader) refuses; always
	// inside a [*ParseError].
	ErrMalformed error = &sentinel{ReasonMalformed, "idbridge: malformed claims"}
)

// sentinel is the root package's own classed error. Other packages make
// theirs with internal/reason, which imports this package.
type sentinel struct {
	class Reason
	msg   string
}

func (e *sentinel) Error() string  { return e.msg }
func (e *sentinel) Reason() Reason { return e.class }
