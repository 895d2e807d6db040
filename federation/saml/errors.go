package saml

import (
	"errors"
	"fmt"

	crewjam "github.com/crewjam/saml"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/reason"
)

// The sentinels, one per failure class. Every error of this package wraps
// exactly one, matched with errors.Is; idbridge.ReasonOf gives its class. No
// error carries the response, the assertion or an attribute value.
var (
	// ErrMalformed: not base64, not well-formed XML, a DTD, comment or
	// processing instruction, not a samlp:Response, no assertion, an
	// encrypted element other than one EncryptedAssertion, a status other
	// than Success, or an element the schema requires is missing.
	ErrMalformed = reason.New(reason.Malformed, "saml: malformed response")
	// ErrDecryption: an encrypted assertion arrived and no decryption key
	// is configured, or it could not be opened; or a plain one arrived and
	// Options.RequireEncryption is set. Every failure to open one
	// (wrong key, bad OAEP or padding, GCM tag, an algorithm not accepted,
	// a plaintext that is not one well-formed signed assertion, a
	// signature that does not verify on it or on the response carrying it)
	// has the same message, so that no padding or format oracle is
	// offered. Class signature: the ciphertext failed a cryptographic check.
	ErrDecryption = reason.New(reason.Signature, "saml: encrypted assertion could not be decrypted")
	// ErrTooLarge: the response exceeds Options.MaxResponseBytes, nests
	// deeper than maxDepth or has more than maxElements elements.
	ErrTooLarge = reason.New(reason.TooLarge, "saml: response too large")
	// ErrSignature: a signature is invalid, missing where Options.Signed
	// requires one, or does not cover what is read (several assertions, an
	// assertion outside the signed element: signature wrapping), or uses
	// SHA-1.
	ErrSignature = reason.New(reason.Signature, "saml: invalid or missing signature")
	// ErrAlgorithm: signed with a SHA-1 based algorithm (rsa-sha1, sha1
	// digests), which Entra has not used since 2020 and which is refused.
	ErrAlgorithm = reason.New(reason.Algorithm, "saml: signature algorithm not accepted")
	// ErrUnknownKey: signed with a certificate that is not in the IdP's
	// metadata (after one metadata refresh, for a rollover).
	ErrUnknownKey = reason.New(reason.UnknownKey, "saml: signing certificate is not in the IdP metadata")
	// ErrExpired: NotOnOrAfter (Conditions or SubjectConfirmationData) has
	// passed, beyond the leeway, or the response was issued too long ago.
	ErrExpired = reason.New(reason.Expired, "saml: assertion expired")
	// ErrNotYetValid: NotBefore or IssueInstant is in the future, beyond the
	// leeway.
	ErrNotYetValid = reason.New(reason.NotYetValid, "saml: assertion not yet valid")
	// ErrIssuer: the Issuer is not the metadata's entityID.
	ErrIssuer = reason.New(reason.Issuer, "saml: issuer is not the IdP's")
	// ErrAudience: the AudienceRestriction does not name this SP.
	ErrAudience = reason.New(reason.Audience, "saml: assertion is for another audience")
	// ErrRecipient: the Destination or Recipient is not this SP's ACS URL.
	// Class audience: the response was addressed to someone else.
	ErrRecipient = reason.New(reason.Audience, "saml: response is addressed to another recipient")
	// ErrInResponseTo: InResponseTo names no request this SP made, or an
	// unsolicited (IdP-initiated) response arrived while
	// Options.AllowIdPInitiated is off.
	ErrInResponseTo = reason.New(reason.Forbidden, "saml: response answers no request of this SP")
	// ErrReplayed: the assertion was already accepted once. Class revoked:
	// a used one-time assertion is spent, and the user signs in again.
	ErrReplayed = reason.New(reason.Revoked, "saml: assertion already used")
	// ErrMissingClaim: a claim the SDK needs (a NameID) is absent.
	ErrMissingClaim = reason.New(reason.MissingClaim, "saml: assertion lacks a required claim")
	// ErrIdPUnavailable: the IdP's metadata could not be fetched and no
	// earlier copy is kept, or the replay cache could not record.
	ErrIdPUnavailable = reason.New(reason.IdPUnavailable, "saml: IdP metadata unavailable")
)

// badOptions is a constructor's refusal of its options.
func badOptions(format string, args ...any) error {
	return fmt.Errorf("saml: %w: "+format, append([]any{idbridge.ErrInvalidOptions}, args...)...)
}

// fail wraps sentinel with a detail that never quotes the response.
func fail(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)
}

// classify maps crewjam/saml's classified errors to our sentinels. The
// library's message is kept as detail (cut short): it names elements and
// configured values, never the response itself, which *InvalidResponseError
// holds and which is not wrapped.
func classify(err error) error {
	var s error
	switch {
	case errors.Is(err, crewjam.ErrDecryptionFailed):
		// validate decrypted it already: the library cannot fail here.
		return errUndecryptable
	case errors.Is(err, crewjam.ErrUntrustedCertificate):
		s = ErrUnknownKey
	case errors.Is(err, crewjam.ErrUnsupported) && errors.Is(err, crewjam.ErrInvalidSignature):
		// RejectSHA1Signatures: a SHA-1 signature method or digest.
		s = ErrAlgorithm
	case errors.Is(err, crewjam.ErrInvalidSignature), errors.Is(err, crewjam.ErrInvalidCertificate):
		s = ErrSignature
	case errors.Is(err, crewjam.ErrExpired):
		s = ErrExpired
	case errors.Is(err, crewjam.ErrNotYetValid):
		s = ErrNotYetValid
	case errors.Is(err, crewjam.ErrIssuerMismatch):
		s = ErrIssuer
	case errors.Is(err, crewjam.ErrAudienceMismatch):
		s = ErrAudience
	case errors.Is(err, crewjam.ErrDestinationMismatch):
		s = ErrRecipient
	case errors.Is(err, crewjam.ErrRequestIDMismatch):
		s = ErrInResponseTo
	case errors.Is(err, crewjam.ErrAssertionReplayed):
		s = ErrReplayed
	case errors.Is(err, crewjam.ErrUnsupported):
		// SAML versions other than 2.0, unknown conditions.
		s = ErrMalformed
	default:
		s = ErrMalformed
	}
	var ire *crewjam.InvalidResponseError
	if errors.As(err, &ire) && ire.PrivateErr != nil {
		err = ire.PrivateErr
	}
	var bad crewjam.ErrBadStatus
	if errors.As(err, &bad) {
		return fail(ErrMalformed, "IdP answered status %s", cut(bad.Status, 100))
	}
	return fail(s, "%s", cut(err.Error(), 200))
}

// cut shortens s for an error detail.
func cut(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
