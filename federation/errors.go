package federation

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/reason"
)

// The sentinels, one per failure class. Every error of this package wraps
// exactly one (usually inside an [*Error] with the STS code and request ID),
// so callers match with errors.Is and map the reason class with
// idbridge.ReasonOf. No error ever contains the identity token or a secret.
var (
	// A constructor that refuses its options (a malformed role ARN, no
	// token source, a missing IRSA variable) fails with
	// idbridge.ErrInvalidOptions, and so does Retrieve when the IRSA token
	// file named by AWS_WEB_IDENTITY_TOKEN_FILE is missing or unreadable: a
	// configuration error, not retried, not blamed on the IdP. A closed
	// Provider without valid credentials fails with idbridge.ErrClosed.

	// ErrTokenSource: the token source could not supply a token. The reason
	// class is the source's own (revoked when the user must sign in again,
	// idp_unavailable when the IdP is down).
	ErrTokenSource = reason.New(reason.IdPUnavailable, "federation: token source failed")

	// ErrNoIdentityToken: the source returned no token of the configured
	// [TokenKind] — typically an ID token was asked for but the flow (client
	// credentials, or a scope set without openid) returns none.
	ErrNoIdentityToken = reason.New(reason.MissingClaim, "federation: no identity token of the configured kind")

	// ErrMalformedToken: the identity token is not a JWS compact JWT with a
	// JSON payload; STS would refuse it, so it is not sent.
	ErrMalformedToken = reason.New(reason.Malformed, "federation: identity token is not a JWT")

	// ErrTooLarge: the identity token exceeds STS's 20000 characters, or STS
	// answered PackedPolicyTooLarge (session policy plus session tags) or
	// JWTPayloadSizeExceededException.
	ErrTooLarge = reason.New(reason.TooLarge, "federation: token or session policy too large")

	// ErrTokenExpired: the identity token expired — seen locally from its exp
	// before any call, or answered by STS as ExpiredTokenException — and the
	// source had no fresher one.
	ErrTokenExpired = reason.New(reason.Expired, "federation: identity token expired")

	// ErrInvalidIdentityToken: STS answered InvalidIdentityToken — AWS does
	// not trust the token: no IAM OIDC provider for its exact iss, aud not in
	// the provider's client list, a signature or key AWS cannot verify.
	// Class forbidden, not revoked: AWS knows nothing of revocation, it
	// refuses a token it was never configured to trust, and only a change
	// of configuration (or a token with the right aud) fixes it.
	ErrInvalidIdentityToken = reason.New(reason.Forbidden, "federation: STS does not trust the identity token")

	// ErrClaimRejected: STS answered IDPRejectedClaim — the identity
	// provider, or AWS on its behalf, refused a claim of the token.
	ErrClaimRejected = reason.New(reason.Forbidden, "federation: a claim of the identity token was rejected")

	// ErrAccessDenied: STS answered AccessDenied — the role's trust policy
	// does not allow this token (sub, aud, session tags), or the role does
	// not exist (AWS does not say which).
	ErrAccessDenied = reason.New(reason.Forbidden, "federation: the role's trust policy denies the token")

	// ErrRegionDisabled: STS answered RegionDisabledException — STS is not
	// activated in the client's region for the account.
	ErrRegionDisabled = reason.New(reason.Forbidden, "federation: STS is not activated in this region")

	// ErrInvalidRequest: STS refused the request itself (ValidationError
	// such as a duration above the role's MaxSessionDuration,
	// MalformedPolicyDocument). A configuration error.
	ErrInvalidRequest = reason.New(reason.Malformed, "federation: STS refused the request")

	// ErrIdPUnavailable: STS answered IDPCommunicationError — it could not
	// reach the identity provider to fetch its keys. Transient; retried
	// with backoff.
	ErrIdPUnavailable = reason.New(reason.IdPUnavailable, "federation: STS could not reach the identity provider")

	// ErrSTSUnavailable: no usable answer from STS — network failure,
	// timeout, throttling, HTTP 5xx, or a response without credentials.
	// Transient; retried with backoff.
	ErrSTSUnavailable = reason.New(reason.IdPUnavailable, "federation: STS unavailable")

	// ErrSessionAttributes: the provider is configured with session tags or
	// a source identity, and the identity token does not carry them.
	// AssumeRoleWithWebIdentity takes both only from the token's claims, so
	// calling STS would silently give an untagged session.
	ErrSessionAttributes = reason.New(reason.MissingClaim, "federation: identity token lacks the session tags or source identity")

	// ErrNoRole: the rbac decision grants no AWS role, or not the one asked
	// for. When the decision denies outright, the error carries the
	// decision's own reason (revoked for a leaver).
	ErrNoRole = reason.New(reason.InsufficientRole, "federation: no AWS role granted")
)

// Error is the detailed form of a failure: the sentinel, and what STS said.
// Match it with errors.Is against a sentinel, or errors.As to read the STS
// code and request ID (what AWS support asks for).
type Error struct {
	// Err is the sentinel (ErrAccessDenied, ...).
	Err error
	// Status is the HTTP status of STS's response, 0 without one.
	Status int
	// Code is the STS error code, such as "AccessDenied"; "" when the
	// failure was found before calling STS.
	Code string
	// Message is STS's message, scrubbed of anything shaped like a JWT and
	// cut to 256 characters.
	Message string
	// Detail says what failed locally; it never contains a token.
	Detail string
	// RoleARN is the role that was asked for.
	RoleARN string
	// RequestID is STS's request ID, when there was a response: what AWS
	// support asks for.
	RequestID string
	// Cause is the underlying error (from the SDK or the token source),
	// also reachable through errors.As. Its text is not part of Error().
	Cause error
}

// Error describes the failure without the token or any secret.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Err == idbridge.ErrClosed || e.Err == idbridge.ErrInvalidOptions {
		b.WriteString("federation: ") // the SDK-wide sentinels name no package
	}
	b.WriteString(e.Err.Error())
	if e.Code != "" {
		fmt.Fprintf(&b, " (STS %s", e.Code)
		if e.Status != 0 {
			fmt.Fprintf(&b, ", HTTP %d", e.Status)
		}
		if e.RequestID != "" {
			b.WriteString(", request ID " + e.RequestID)
		}
		b.WriteString(")")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	if e.RoleARN != "" {
		b.WriteString(" [role " + e.RoleARN + "]")
	}
	return b.String()
}

// Unwrap returns the sentinel and the cause, so that errors.Is matches
// either.
func (e *Error) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Err}
	}
	return []error{e.Err, e.Cause}
}

// Reason returns the reason class: the cause's when it has one (a token
// source that needs a new sign-in says revoked), else the sentinel's. A
// configuration error (idbridge.ErrInvalidOptions) and a closed provider
// (idbridge.ErrClosed) keep their own class whatever the cause.
func (e *Error) Reason() idbridge.Reason {
	if e.Cause != nil && e.Err != idbridge.ErrInvalidOptions && e.Err != idbridge.ErrClosed {
		if r := reason.Of(e.Cause); r != "" {
			return r
		}
	}
	return reason.Of(e.Err)
}

// jwtLike matches anything that could be a JWT or a long opaque secret, so
// that no message from elsewhere can echo one into an error or a log.
var jwtLike = regexp.MustCompile(`[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-.]*|[A-Za-z0-9+/=_\-]{120,}`)

// scrub removes token-shaped text and cuts s to n bytes.
func scrub(s string, n int) string {
	s = jwtLike.ReplaceAllString(s, "[redacted]")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

// transient reports whether a retry can help without any change: STS or the
// IdP was unreachable or overloaded.
func transient(err error) bool {
	return errors.Is(err, ErrSTSUnavailable) || errors.Is(err, ErrIdPUnavailable) ||
		(errors.Is(err, ErrTokenSource) && reason.Of(err) == reason.IdPUnavailable)
}
