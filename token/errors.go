package token

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/reason"
)

// Sentinel errors, one per failure class. Every error returned by this
// package wraps one of them (match with errors.Is); OAuth error responses
// are also a [*Error] (match with errors.As) for the server's details.
var (
	// ErrIdPUnavailable means no valid token could be had because the
	// identity provider did not answer usefully: a network failure, a
	// timeout, an HTTP 5xx or 429, an unparsable response. Retrying later
	// can help; a [Cache] does so with backoff.
	ErrIdPUnavailable = reason.New(reason.IdPUnavailable, "token: identity provider unavailable")

	// ErrSignInRequired means the grant the source relies on is gone:
	// the refresh token or authorization code was rejected (invalid_grant),
	// the device code expired, or the IdP demands user interaction
	// (interaction_required, login_required, consent_required). No retry
	// helps; the user must sign in again.
	//
	// Its reason class is revoked; an [*Error] refines it to
	// step_up_required for the interaction codes and to expired for an
	// expired device code, so that audit tells a revoked user from one
	// who only has to pass MFA.
	ErrSignInRequired = reason.New(reason.Revoked, "token: sign-in required")

	// ErrRejected means the IdP refused the request for a reason only a
	// configuration change fixes: invalid_client, unauthorized_client,
	// invalid_scope, access_denied and the like.
	ErrRejected = reason.New(reason.Forbidden, "token: request rejected by identity provider")

	// ErrInvalidCallback means an authorization response failed the
	// client's own checks: missing code, state mismatch (a possible
	// CSRF or mix-up attack), or an ID token nonce mismatch.
	ErrInvalidCallback = reason.New(reason.Malformed, "token: invalid authorization response")
)

// errInvalidOptions and errClosed are idbridge.ErrInvalidOptions and
// idbridge.ErrClosed with this package's prefix. A constructor given
// options it refuses (a missing client ID, a non-HTTPS endpoint, an
// unusable key), or a file the configuration names (a federated token
// file) that is missing or unreadable when it is read, fails with the
// first; a source closed before a token it had to fetch arrived, with the
// second.
var (
	errInvalidOptions = fmt.Errorf("token: %w", idbridge.ErrInvalidOptions)
	errClosed         = fmt.Errorf("token: %w", idbridge.ErrClosed)
)

// Error is an OAuth 2.0 error response (RFC 6749 section 5.2) with the
// fields Microsoft Entra adds. It unwraps to Err, the sentinel of its class
// ([ErrSignInRequired], [ErrRejected] or [ErrIdPUnavailable]).
//
// Error never holds the request or the raw body: Message is cut to a
// few hundred characters and scrubbed of every secret the request carried
// and of anything shaped like a JWT.
type Error struct {
	// Err is the sentinel of the error's class, returned by Unwrap.
	Err error
	// Status is the HTTP status of the response.
	Status int
	// Code is the "error" field, such as "invalid_grant"; empty when the
	// server sent no OAuth error body (an HTTP 502 from a proxy, say).
	Code string
	// Message is "error_description", scrubbed.
	Message string
	// URI is "error_uri".
	URI string
	// ErrorCodes are Entra's AADSTS numbers ("error_codes").
	ErrorCodes []int
	// TraceID and CorrelationID are what Entra support asks for.
	TraceID       string
	CorrelationID string
	// Claims is Entra's claims challenge (for Conditional Access and CAE);
	// pass it back in the next authorization request.
	Claims string
	// RetryAfter is the server's Retry-After, zero when absent.
	RetryAfter time.Duration
}

// Error describes the response without any secret: code, status,
// scrubbed description and the IDs support needs.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("token: ")
	if e.Code != "" {
		b.WriteString(e.Code)
	} else {
		b.WriteString("error response")
	}
	fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	var extra []string
	if len(e.ErrorCodes) > 0 {
		extra = append(extra, fmt.Sprintf("error codes %v", e.ErrorCodes))
	}
	if e.TraceID != "" {
		extra = append(extra, "trace ID "+e.TraceID)
	}
	if e.CorrelationID != "" {
		extra = append(extra, "correlation ID "+e.CorrelationID)
	}
	if e.RetryAfter > 0 {
		extra = append(extra, "retry after "+e.RetryAfter.String())
	}
	if len(extra) > 0 {
		b.WriteString(" [")
		b.WriteString(strings.Join(extra, ", "))
		b.WriteString("]")
	}
	return b.String()
}

// Unwrap returns Err, the sentinel of the error's class.
func (e *Error) Unwrap() error { return e.Err }

// Reason returns the reason class, for idbridge.ReasonOf: the class of the
// sentinel, refined for the [ErrSignInRequired] codes that do not mean a
// revoked grant. A user who must pass MFA or Conditional Access, consent,
// or sign in interactively is step_up_required; a device code that ran
// out is expired.
func (e *Error) Reason() idbridge.Reason {
	if e.Err == ErrSignInRequired {
		switch e.Code {
		case "interaction_required", "consent_required", "login_required", "account_selection_required":
			return reason.StepUpRequired
		case "expired_token":
			return reason.Expired
		}
	}
	return reason.Of(e.Err)
}

// Error codes this package acts on.
const (
	codeAuthorizationPending = "authorization_pending"
	codeSlowDown             = "slow_down"
)

// classify picks the sentinel for an OAuth error code and HTTP status.
func classify(code string, status int) error {
	switch code {
	case "invalid_grant", "interaction_required", "login_required", "consent_required",
		"account_selection_required", "expired_token":
		return ErrSignInRequired
	case "temporarily_unavailable", "server_error":
		return ErrIdPUnavailable
	case "":
		if status >= 400 && status < 500 && status != 429 && status != 408 {
			return ErrRejected
		}
		return ErrIdPUnavailable
	}
	if status == 429 || status >= 500 {
		return ErrIdPUnavailable
	}
	return ErrRejected
}

// jwtLike matches anything that could be a JWS or JWE compact token, so an
// IdP that echoes a token in error_description cannot leak it through us.
var jwtLike = regexp.MustCompile(`[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-.]*`)

const maxDescription = 400

// scrub removes every secret in secrets and every JWT-shaped string from s,
// and cuts it to a readable length.
func scrub(s string, secrets []string) string {
	for _, sec := range secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, redacted)
		}
	}
	s = jwtLike.ReplaceAllString(s, redacted)
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > maxDescription {
		cut := maxDescription
		for cut > 0 && (s[cut]&0xC0) == 0x80 { // keep UTF-8 whole
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// unavailable wraps a cause as ErrIdPUnavailable unless it already carries
// a reason class (an OAuth error, an expired assertion, a closed source).
func unavailable(msg string, err error) error {
	if reason.Of(err) != "" {
		return fmt.Errorf("token: %s: %w", msg, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrIdPUnavailable, msg, err)
}
