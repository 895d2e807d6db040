package revocation

import (
	"github.com/idbridge/idbridge/internal/reason"
)

// The sentinels; match with errors.Is, and idbridge.ReasonOf gives the class.
var (
	// ErrRevoked: the token matches an entry of the list. Every such error
	// is a [*RevokedError] naming the entry's kind.
	ErrRevoked = reason.New(reason.Revoked, "revocation: token revoked")
	// ErrInvalidEntry: an entry to revoke is malformed (a missing or
	// oversized identifier, a control character, a time too far ahead). It
	// is refused, not stored.
	ErrInvalidEntry = reason.New(reason.Malformed, "revocation: invalid entry")
)

// RevokedError says which kind of entry refused a token. It never carries
// the token or its identifiers.
type RevokedError struct{ Kind Kind }

// Error returns "revocation: token revoked (subject)" and the like.
func (e *RevokedError) Error() string { return ErrRevoked.Error() + " (" + e.Kind.String() + ")" }

// Unwrap returns ErrRevoked.
func (e *RevokedError) Unwrap() error { return ErrRevoked }

// Shared, immutable errors, so a refusal allocates nothing.
var revokedErrs = [...]*RevokedError{Subject: {Subject}, Token: {Token}, Session: {Session}}

// Error returns the *RevokedError for kind k (never nil for a kind other
// than None).
func errFor(k Kind) error { return revokedErrs[k] }
