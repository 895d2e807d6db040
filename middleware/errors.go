package middleware

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/reason"
)

// The sentinels of the guard's own checks, one per failure class. Errors
// from the validator and the policy keep their own sentinels (jwks.ErrExpired,
// rbac.ErrPermission, ...); every rejection reaches the caller as an [*Error]
// that wraps one of them, so errors.Is works across all three packages.
var (
	// ErrNoToken: the request carries no bearer token: no Authorization
	// header (or gRPC authorization metadata), or one with another scheme
	// such as Basic. RFC 6750 §3.1 answers it with a bare challenge and no
	// error code, because the client may not know authentication is needed.
	ErrNoToken = reason.New(reason.Malformed, "middleware: no bearer token")
	// ErrMalformedHeader: the Authorization header says Bearer but what
	// follows is not one RFC 6750 b64token (empty, several words, commas,
	// characters outside the token alphabet).
	ErrMalformedHeader = reason.New(reason.Malformed, "middleware: malformed Authorization header")
	// ErrMultipleTokens: the request repeats the Authorization header or
	// uses more than one way to carry a token (header and query string),
	// which RFC 6750 §3.1 forbids; accepting either one invites confusion
	// between the component that checks a token and the one that uses it.
	ErrMultipleTokens = reason.New(reason.Malformed, "middleware: more than one access token")
	// ErrQueryToken: the token came in the URL query string (access_token,
	// behind any separator or encoding) or a path parameter (;access_token=),
	// where proxies, server logs, browser history and Referer headers keep
	// it. A query token is refused unless Options.InsecureAllowQueryToken is
	// set; a path parameter always is.
	ErrQueryToken = reason.New(reason.Malformed, "middleware: access token in the query string")
	// ErrTokenTooLarge: the token exceeds Options.MaxTokenSize. It is
	// checked before the token is scanned or validated, so a huge header
	// costs nothing beyond reading it.
	ErrTokenTooLarge = reason.New(reason.TooLarge, "middleware: token too large")
	// ErrInsufficientScope: none of the delegated scopes a [RequireScope]
	// names is in the token's scp claim.
	ErrInsufficientScope = reason.New(reason.InsufficientScope, "middleware: insufficient scope")
	// ErrInsufficientRole: none of the roles a [RequireRole] names is held.
	ErrInsufficientRole = reason.New(reason.InsufficientRole, "middleware: insufficient role")
	// ErrNoRequirement: the route or gRPC method declares no requirement
	// and Options.Default is empty. The guard denies by default, so a
	// forgotten declaration closes a route instead of opening it.
	ErrNoRequirement = reason.New(reason.Forbidden, "middleware: no requirement declared for this route")
	// ErrMisconfigured: a requirement cannot be evaluated, for example
	// [Require] on a guard without Options.Policy, or a scope that cannot
	// be sent in a challenge. Requests fail closed with 500 / Internal.
	ErrMisconfigured = reason.New(reason.Forbidden, "middleware: guard misconfigured")
)

// The client-side sentinels.
var (
	// ErrInsecureTransport: a token would travel in clear text: an http://
	// URL to a host other than loopback, or a gRPC connection without
	// transport security. Anyone on the path could read and replay it.
	// Its class is forbidden.
	ErrInsecureTransport = reason.New(idbridge.ReasonForbidden, "middleware: refusing to send a token without transport security")
	// ErrNoAccessToken: the token source returned no access token, or one
	// whose type is not Bearer.
	// Its class is malformed.
	ErrNoAccessToken = reason.New(idbridge.ReasonMalformed, "middleware: token source returned no bearer token")
)

// The error codes of WWW-Authenticate challenges: RFC 6750 §3.1's three,
// Microsoft Entra's claims challenge (continuous access evaluation and
// authentication contexts), and RFC 9470's step-up answer for clients that
// cannot take a claims challenge.
const (
	CodeInvalidRequest     = "invalid_request"
	CodeInvalidToken       = "invalid_token"
	CodeInsufficientScope  = "insufficient_scope"
	CodeInsufficientClaims = "insufficient_claims"
	// CodeInsufficientUserAuthentication is RFC 9470's: the user must sign
	// in again with a stronger method (here, whatever the policy's step-up
	// demands; error_description is step_up_required).
	CodeInsufficientUserAuthentication = "insufficient_user_authentication"
)

// errNoClaims is the failure of a validator that returned neither claims nor
// an error. It has no class: the guard answers 401 invalid_token.
var errNoClaims = errors.New("middleware: the validator returned no claims and no error")

// Error is a rejected request as the guard answers it: the HTTP status, the
// RFC 6750 error code for the WWW-Authenticate challenge and the reason
// class ([Error.Reason]), with the cause kept for logs and errors.Is. Only
// Status, Code, the reason class and Scope ever reach the client; Err may
// hold detail such as a claim value and is never sent.
type Error struct {
	// Err is the cause; it wraps a sentinel of this package, of jwks or of
	// rbac.
	Err error
	// Status is the HTTP status: 400, 401, 403, 500 or 503.
	Status int
	// Code is the RFC 6750 error code ("invalid_token", ...), or "" when the
	// request had no credentials or the failure is not the client's.
	Code string
	// Scope lists the scopes that would satisfy the route, for
	// insufficient_scope answers; nil when unknown.
	Scope []string

	class idbridge.Reason // the reason class classify gave; see Reason
}

// Error returns a message without any token: status, code, reason and the
// cause's message.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("middleware: ")
	b.WriteString(http.StatusText(e.Status))
	if e.Code != "" {
		b.WriteString(" (")
		b.WriteString(e.Code)
		b.WriteString(")")
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause, so errors.Is sees the sentinel.
func (e *Error) Unwrap() error { return e.Err }

// Reason returns the reason class the client was told, such as "expired"
// or "insufficient_role", even when the cause carries none (a cancelled
// context is idp_unavailable, a custom requirement's plain error
// forbidden); "" only when a custom validator's error has none. For an
// Error the guard did not make, it is the class of Err.
func (e *Error) Reason() idbridge.Reason {
	if e.class != "" {
		return e.class
	}
	return reason.Of(e.Err)
}

// stage says which step failed, for the mapping to status codes.
type stage uint8

const (
	stageExtract stage = iota
	stageValidate
	stageAuthorize
)

// classify turns a failure of one step into the answer the client gets.
func classify(st stage, err error) *Error {
	cls := reason.Of(err)
	e := &Error{class: cls, Err: err}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		e.Status = http.StatusServiceUnavailable
		if cls == "" {
			e.class = reason.IdPUnavailable
		}
		return e
	}
	switch st {
	case stageExtract:
		switch {
		case errors.Is(err, ErrNoToken):
			e.Status = http.StatusUnauthorized
		case errors.Is(err, ErrTokenTooLarge):
			e.Status, e.Code = http.StatusUnauthorized, CodeInvalidToken
		default:
			e.Status, e.Code = http.StatusBadRequest, CodeInvalidRequest
		}
	case stageValidate:
		switch cls {
		case reason.IdPUnavailable, reason.Closed:
			// A closed validator (a shutdown racing the request) did not
			// judge the token: the client must not be told to drop it.
			e.Status = http.StatusServiceUnavailable
		case "":
			// An error without a class (a custom validator's own error)
			// is not the client's fault, but the token was not accepted
			// either: fail closed, say little.
			e.Status, e.Code = http.StatusUnauthorized, CodeInvalidToken
		default:
			e.Status, e.Code = http.StatusUnauthorized, CodeInvalidToken
		}
	case stageAuthorize:
		switch {
		case errors.Is(err, ErrMisconfigured):
			e.Status = http.StatusInternalServerError
		case cls == reason.StepUpRequired:
			e.Status, e.Code = http.StatusUnauthorized, CodeInsufficientClaims
		case cls == reason.IdPUnavailable, cls == reason.Closed:
			e.Status = http.StatusServiceUnavailable
		default:
			if cls == "" {
				e.class = reason.Forbidden
			}
			e.Status, e.Code = http.StatusForbidden, CodeInsufficientScope
		}
	}
	return e
}
