package jwks

import (
	"fmt"

	"github.com/idbridge/idbridge"

	"github.com/idbridge/idbridge/internal/reason"
)

// The sentinels, one per reason class. Every error returned by
// [Validator.Validate] wraps exactly one of them (usually inside a
// [*ValidationError] carrying detail), so callers match with errors.Is and
// map the class with idbridge.ReasonOf. None of them, and no detail, ever
// contains the token.
var (
	// ErrMalformed: not a compact JWS, non-canonical base64url, bad JSON, duplicate
	// or wrong-typed claims or header parameters, unknown critical headers.
	ErrMalformed = reason.New(reason.Malformed, "jwks: malformed token")
	// ErrTooLarge: the token exceeds Options.MaxTokenSize; checked before
	// any splitting or decoding so huge inputs cost nothing.
	ErrTooLarge = reason.New(reason.TooLarge, "jwks: token too large")
	// ErrAlgorithm: alg is none, HMAC, not in the allow-list, or does not
	// fit the key (family, the JWK's own alg, use).
	ErrAlgorithm = reason.New(reason.Algorithm, "jwks: algorithm not allowed")
	// ErrUnknownKey: no key with the token's kid, even after the rate-limited
	// refresh; typical after a hard key rotation or for forged kids.
	ErrUnknownKey = reason.New(reason.UnknownKey, "jwks: unknown signing key")
	// ErrSignature: the signature does not verify with the selected key.
	ErrSignature = reason.New(reason.Signature, "jwks: invalid signature")
	// ErrExpired: exp is in the past (beyond the leeway).
	ErrExpired = reason.New(reason.Expired, "jwks: token expired")
	// ErrNotYetValid: nbf is in the future (beyond the leeway).
	ErrNotYetValid = reason.New(reason.NotYetValid, "jwks: token not yet valid")
	// ErrIssuedInFuture: iat is in the future (beyond the leeway).
	ErrIssuedInFuture = reason.New(reason.IssuedInFuture, "jwks: token issued in the future")
	// ErrIssuer: iss is not trusted, or the key's own issuer does not match.
	// An untrusted issuer is rejected before any network call.
	ErrIssuer = reason.New(reason.Issuer, "jwks: untrusted issuer")
	// ErrAudience: no aud value is an accepted audience (or, for ID tokens
	// with several audiences, azp is missing or not accepted).
	ErrAudience = reason.New(reason.Audience, "jwks: audience not accepted")
	// ErrType: the header typ is not one of Options.Types, or the token is
	// of the other kind (an ID token given to Validate, an access token to
	// ValidateIDToken; see the package documentation).
	ErrType = reason.New(reason.Type, "jwks: token type not accepted")
	// ErrMissingClaim: a required claim (exp, iss, tid for tenant templates,
	// nonce in ID-token mode) is absent, or the nonce does not match.
	ErrMissingClaim = reason.New(reason.MissingClaim, "jwks: required claim missing")
	// ErrTenant: tid is not in the tenant allow-list.
	ErrTenant = reason.New(reason.Tenant, "jwks: tenant not allowed")
	// ErrUnavailable: the key set could not be loaded at all (the IdP is
	// unreachable and no keys were ever fetched). Once keys are cached a
	// failing IdP does not produce this error: the last good keys are used.
	// Middleware maps it to 503 rather than 401.
	ErrUnavailable = reason.New(reason.IdPUnavailable, "jwks: key set unavailable")
)

// errClosed is returned by a [RemoteKeySet] — and so by a [Validator] using
// one — that would have to fetch keys after Close: it wraps
// [idbridge.ErrClosed] (class closed). Keys already loaded keep answering,
// so requests still in flight during shutdown validate.
var errClosed = fmt.Errorf("jwks: %w", idbridge.ErrClosed)

// ValidationError is the detailed form of a rejection. It keeps the class
// and the sentinel separate from a human detail such as "exp 2024-05-01T10:00:00Z
// before now", so logs explain the failure without ever quoting the token.
// Match it with errors.Is against a sentinel, or errors.As to read Detail.
type ValidationError struct {
	// Err is the sentinel (ErrExpired, ...).
	Err error
	// Detail says what exactly failed. It never contains the token, a
	// signature or a secret; it may contain claim names and times.
	Detail string
}

// Reason returns the reason class of Err, for example
// [idbridge.ReasonExpired].
func (e *ValidationError) Reason() idbridge.Reason { return reason.Of(e.Err) }

// Error returns the sentinel's message followed by the detail.
func (e *ValidationError) Error() string {
	if e.Detail == "" {
		return e.Err.Error()
	}
	return e.Err.Error() + ": " + e.Detail
}

// Unwrap returns the sentinel so errors.Is and reason.Of see the class.
func (e *ValidationError) Unwrap() error { return e.Err }

// fail builds a *ValidationError for sentinel s.
func fail(s *reason.Error, detail string) error {
	return &ValidationError{Err: s, Detail: detail}
}
