package token

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Source supplies tokens. It is the one interface of this package: every
// flow, the [Cache] and the [OAuth2] adapter meet on it, so middleware and
// federation need to know nothing else.
//
// Token must be safe for concurrent use by multiple goroutines. The returned
// *Token is shared with other callers and must not be modified. The context
// bounds the caller's wait; an implementation that fetches on behalf of many
// callers (such as [Cache]) may let the fetch outlive it. An implementation
// should return when ctx ends; one that does not is abandoned by [Cache]
// and the flows of this package, which never wait past their context.
type Source interface {
	Token(ctx context.Context) (*Token, error)
}

// SourceFunc adapts an ordinary function to a [Source], so that tests and
// custom flows need no named type.
type SourceFunc func(ctx context.Context) (*Token, error)

// Token calls f(ctx).
func (f SourceFunc) Token(ctx context.Context) (*Token, error) { return f(ctx) }

// redacted is what every secret prints as.
const redacted = "[redacted]"

// Token is an OAuth 2.0 token response (RFC 6749 section 5.1) with the
// OpenID Connect ID token and Microsoft Entra's extra timing fields.
//
// A Token formats as "[redacted]" in place of each non-empty secret part
// (access, refresh and ID token) under every fmt verb, encoding/json and
// log/slog, so that logging a token by mistake leaks nothing. Read the
// fields directly when the secret is really needed.
type Token struct {
	// AccessToken authorizes requests to resource servers.
	AccessToken string
	// TokenType is the scheme for the Authorization header, usually
	// "Bearer"; see [Token.Type].
	TokenType string
	// Expiry is when the access token expires: expires_in counted, with
	// the source's clock, from when the request was sent (not from when
	// the answer arrived, which may be much later under load). Zero means
	// the server said nothing.
	Expiry time.Time
	// RefreshToken, when non-empty, obtains new tokens without the user.
	// Only the configured token endpoint ever receives it.
	RefreshToken string
	// IDToken is the OpenID Connect ID token, when the flow returns one.
	IDToken string
	// Scopes are the scopes granted (the "scope" response field); nil
	// when the server did not say, which means the requested ones.
	Scopes []string
	// RefreshAt is when Entra asks clients to refresh (its refresh_in
	// field), typically half way through a long token's life. Zero when
	// absent. [Cache] refreshes no later than this.
	RefreshAt time.Time
	// ExtExpiry is Entra's extended expiry (ext_expires_in): how long a
	// resource may accept the token while Entra itself is unavailable.
	ExtExpiry time.Time
	// IssuedTokenType is the RFC 8693 issued_token_type of an exchanged
	// token.
	IssuedTokenType string
}

// Type returns the Authorization scheme, normalising "bearer" to "Bearer"
// as RFC 6750 resource servers expect, and defaulting to "Bearer". A nil
// Token has no type: "".
func (t *Token) Type() string {
	switch {
	case t == nil:
		return ""
	case t.TokenType == "" || strings.EqualFold(t.TokenType, "bearer"):
		return "Bearer"
	}
	return t.TokenType
}

// SetAuthHeader sets the Authorization header of r to the access token. A
// nil Token (a source that returned neither a token nor an error) removes
// the header, so that r carries no credential rather than an earlier one.
func (t *Token) SetAuthHeader(r *http.Request) {
	if t == nil {
		r.Header.Del("Authorization")
		return
	}
	r.Header.Set("Authorization", t.Type()+" "+t.AccessToken)
}

// Valid reports whether t has an access token that is not expired at now.
// A zero Expiry never expires.
func (t *Token) Valid(now time.Time) bool {
	return t != nil && t.AccessToken != "" && (t.Expiry.IsZero() || now.Before(t.Expiry))
}

func redact(s string) string {
	if s == "" {
		return ""
	}
	return redacted
}

// tokenView is what a Token shows of itself: the same fields with every
// secret replaced.
type tokenView struct {
	AccessToken     string    `json:"access_token,omitempty"`
	TokenType       string    `json:"token_type,omitempty"`
	Expiry          time.Time `json:"expiry,omitzero"`
	RefreshToken    string    `json:"refresh_token,omitempty"`
	IDToken         string    `json:"id_token,omitempty"`
	Scopes          []string  `json:"scopes,omitempty"`
	RefreshAt       time.Time `json:"refresh_at,omitzero"`
	ExtExpiry       time.Time `json:"ext_expiry,omitzero"`
	IssuedTokenType string    `json:"issued_token_type,omitempty"`
}

func (t *Token) view() tokenView {
	return tokenView{
		AccessToken:     redact(t.AccessToken),
		TokenType:       t.TokenType,
		Expiry:          t.Expiry,
		RefreshToken:    redact(t.RefreshToken),
		IDToken:         redact(t.IDToken),
		Scopes:          t.Scopes,
		RefreshAt:       t.RefreshAt,
		ExtExpiry:       t.ExtExpiry,
		IssuedTokenType: t.IssuedTokenType,
	}
}

// String describes t with its secrets redacted.
func (t Token) String() string {
	return fmt.Sprintf("{AccessToken:%s TokenType:%s Expiry:%s RefreshToken:%s IDToken:%s Scopes:%v}",
		redact(t.AccessToken), t.TokenType, t.Expiry.Format(time.RFC3339), redact(t.RefreshToken), redact(t.IDToken), t.Scopes)
}

// GoString describes t as Go syntax with its secrets redacted, for %#v.
func (t Token) GoString() string {
	return fmt.Sprintf("token.Token{AccessToken:%q, TokenType:%q, Expiry:%q, RefreshToken:%q, IDToken:%q, Scopes:%#v}",
		redact(t.AccessToken), t.TokenType, t.Expiry.Format(time.RFC3339), redact(t.RefreshToken), redact(t.IDToken), t.Scopes)
}

// Format implements fmt.Formatter so that no verb (%v, %+v, %#v, %s, %q,
// %x) can print a secret.
func (t Token) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		fmt.Fprint(f, t.GoString())
	default:
		fmt.Fprint(f, t.String())
	}
}

// MarshalJSON encodes t with its secrets redacted. A Token is not meant to
// be persisted as JSON: refresh tokens belong in a [RefreshStore].
func (t Token) MarshalJSON() ([]byte, error) { return json.Marshal(t.view()) }

// LogValue implements slog.LogValuer: a logged Token shows its expiry and
// scopes, never its secrets.
func (t Token) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("access_token", redact(t.AccessToken)),
		slog.String("token_type", t.TokenType),
		slog.Time("expiry", t.Expiry),
	}
	if t.RefreshToken != "" {
		attrs = append(attrs, slog.String("refresh_token", redacted))
	}
	if t.IDToken != "" {
		attrs = append(attrs, slog.String("id_token", redacted))
	}
	if len(t.Scopes) > 0 {
		attrs = append(attrs, slog.String("scope", strings.Join(t.Scopes, " ")))
	}
	return slog.GroupValue(attrs...)
}

// formatView prints view, a copy of a secret-holding value with its secrets
// already replaced, honouring the + and # flags of %v; other verbs print
// it as %v. Holders need it because fmt prints a pointer met inside a
// container under a verb such as %s raw, without asking the fields'
// Format methods.
func formatView(f fmt.State, verb rune, view any) {
	switch {
	case verb == 'v' && f.Flag('#'):
		fmt.Fprintf(f, "%#v", view)
	case verb == 'v' && f.Flag('+'):
		fmt.Fprintf(f, "%+v", view)
	default:
		fmt.Fprintf(f, "%v", view)
	}
}

// Secret is a string that must not be printed: client secrets, passwords,
// refresh tokens in a store. It formats as "[redacted]" under every fmt
// verb, encoding/json and log/slog; convert it with [Secret.Reveal] where
// the value is really needed.
type Secret string

// Reveal returns the secret itself. Call it only to put the value on the
// wire.
func (s Secret) Reveal() string { return string(s) }

// String returns "[redacted]", or "" for an empty secret.
func (s Secret) String() string { return redact(string(s)) }

// GoString returns the quoted redaction, for %#v.
func (s Secret) GoString() string { return fmt.Sprintf("%q", redact(string(s))) }

// Format implements fmt.Formatter so that no verb prints the secret.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, s.GoString())
		return
	}
	fmt.Fprint(f, redact(string(s)))
}

// MarshalJSON encodes the redaction, never the secret.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(redact(string(s))) }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redact(string(s))) }
