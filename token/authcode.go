package token

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/audit"
	"github.com/idbridge/idbridge/internal/reason"
)

// IDTokenValidator validates an OpenID Connect ID token, including its
// nonce. [*jwks.Validator] satisfies it; declaring it here lets tests and
// other validators stand in.
type IDTokenValidator interface {
	ValidateIDToken(ctx context.Context, idToken, nonce string) (*idbridge.Claims, error)
}

// AuthCode runs the authorization code flow with PKCE (RFC 6749 section
// 4.1, RFC 7636, OpenID Connect Core) for web applications: [AuthCode.Start]
// makes the URL to send the browser to, [AuthCode.Exchange] checks the
// response and redeems the code. State, nonce and the PKCE verifier are
// generated for every sign-in and checked on return; the ID token is
// validated with the IDTokenValidator, nonce included.
//
// An AuthCode is safe for concurrent use by multiple goroutines.
type AuthCode struct {
	r           *requester
	authURL     *url.URL
	redirectURL string
	scopes      []string
	v           IDTokenValidator
	log         *audit.Logger
}

// NewAuthCode returns the flow for client c, whose browser-facing
// authorization endpoint is authURL and whose registered callback is
// redirectURL. "openid" is added to scopes if missing; add
// "offline_access" to get a refresh token.
func NewAuthCode(c Client, authURL, redirectURL string, v IDTokenValidator, scopes []string, optFns ...func(*Options)) (*AuthCode, error) {
	o, r, err := resolveClient(c, optFns)
	if err != nil {
		return nil, err
	}
	if err := checkEndpoint("authorization endpoint", authURL, o); err != nil {
		return nil, err
	}
	if redirectURL == "" {
		return nil, fmt.Errorf("%w: redirect URL is required", errInvalidOptions)
	}
	if v == nil {
		return nil, fmt.Errorf("%w: an ID token validator is required", errInvalidOptions)
	}
	au, _ := url.Parse(authURL)
	scopes = slices.Clone(scopes)
	if !slices.Contains(scopes, "openid") {
		scopes = append([]string{"openid"}, scopes...)
	}
	return &AuthCode{r: r, authURL: au, redirectURL: redirectURL, scopes: scopes, v: v, log: audit.New(o.Audit)}, nil
}

// Authorization is one sign-in in progress. Keep it server-side (or in an
// encrypted, integrity-protected cookie) between [AuthCode.Start] and
// [AuthCode.Exchange]; never expose Verifier to the browser.
type Authorization struct {
	// URL is where to redirect the browser.
	URL string
	// State ties the callback to this sign-in (CSRF protection).
	State string
	// Nonce ties the ID token to this sign-in (replay protection).
	Nonce string
	// Verifier is the PKCE code verifier.
	Verifier Secret
}

// Format prints p with the verifier redacted, under every verb.
func (p Authorization) Format(f fmt.State, verb rune) {
	type Authorization struct {
		URL, State, Nonce string
		Verifier          Secret
	}
	formatView(f, verb, Authorization(p)) // the local type has no Format: fmt prints its fields
}

// Start begins a sign-in. extra adds authorization parameters such as
// "prompt", "login_hint", "domain_hint" or an Entra "claims" challenge;
// it cannot override the ones the flow sets.
func (a *AuthCode) Start(extra url.Values) (*Authorization, error) {
	state, err := randomString(24)
	if err != nil {
		return nil, err
	}
	nonce, err := randomString(24)
	if err != nil {
		return nil, err
	}
	verifier, err := randomString(32) // 43 characters, RFC 7636 minimum
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(verifier))
	q := a.authURL.Query()
	for k, vs := range extra {
		q[k] = slices.Clone(vs)
	}
	q.Set("response_type", "code")
	q.Set("client_id", a.r.client.ID)
	q.Set("redirect_uri", a.redirectURL)
	q.Set("scope", strings.Join(a.scopes, " "))
	q.Set("state", state)
	q.Set("nonce", nonce)
	q.Set("code_challenge", base64.RawURLEncoding.EncodeToString(sum[:]))
	q.Set("code_challenge_method", "S256")
	u := *a.authURL
	u.RawQuery = q.Encode()
	return &Authorization{URL: u.String(), State: state, Nonce: nonce, Verifier: Secret(verifier)}, nil
}

// Exchange checks the authorization response (the callback's query) against
// the sign-in p, redeems the code and validates the ID token. It returns
// the tokens and the ID token's claims. Pass the token to [Refresh.Seed] to
// keep the user signed in.
//
// An "error" in the callback becomes an [*Error]; a missing code or a state
// that does not match fails with [ErrInvalidCallback] before anything is
// sent to the IdP.
//
// With Options.Audit, a sign-in records token.issued, or signin.failed with
// the stage that failed (state, idp_error, exchange or id_token) and the
// reason class; neither carries the code, the verifier or a token.
func (a *AuthCode) Exchange(ctx context.Context, p *Authorization, callback url.Values) (*Token, *idbridge.Claims, error) {
	start := time.Now()
	tok, claims, stage, err := a.exchange(ctx, p, callback)
	if err != nil && a.log.Enabled(ctx) {
		cls := reason.Of(err)
		if cls == "" {
			cls = reason.IdPUnavailable
		}
		a.log.Emit(ctx, audit.Event{Name: audit.SignInFailed, Outcome: audit.Failure, Reason: cls,
			Duration: time.Since(start), Attrs: signInAttrs(stage, err)})
	}
	return tok, claims, err
}

// signInAttrs names the failed stage and, for an IdP's answer, its error
// code (scrubbed and cut by the caller's *Error).
func signInAttrs(stage string, err error) []slog.Attr {
	attrs := []slog.Attr{slog.String(idbridge.FieldStage, stage)}
	if e := (*Error)(nil); errors.As(err, &e) && e.Code != "" {
		attrs = append(attrs, slog.String(idbridge.FieldErrorCode, e.Code))
	}
	return attrs
}

func (a *AuthCode) exchange(ctx context.Context, p *Authorization, callback url.Values) (*Token, *idbridge.Claims, string, error) {
	if p == nil || p.State == "" || p.Nonce == "" || p.Verifier == "" {
		// Without its nonce the ID token check would be skipped (a
		// validator given "" does not compare), so refuse outright.
		return nil, nil, "state", fmt.Errorf("%w: no sign-in in progress (state, nonce and verifier are all required)", ErrInvalidCallback)
	}
	got := callback.Get("state")
	if subtle.ConstantTimeCompare([]byte(got), []byte(p.State)) != 1 {
		return nil, nil, "state", fmt.Errorf("%w: state does not match", ErrInvalidCallback)
	}
	if code := callback.Get("error"); code != "" {
		e := &Error{
			Code:    scrub(code, nil),
			Message: scrub(callback.Get("error_description"), nil),
			URI:     scrub(callback.Get("error_uri"), nil),
		}
		if len(e.Code) > 64 {
			e.Code = e.Code[:64]
		}
		e.Err = classify(e.Code, 400)
		return nil, nil, "idp_error", e
	}
	code := callback.Get("code")
	if code == "" {
		return nil, nil, "idp_error", fmt.Errorf("%w: no code", ErrInvalidCallback)
	}
	start := time.Now()
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {a.redirectURL},
		"code_verifier": {p.Verifier.Reveal()},
	}
	tok, err := a.r.token(ctx, form, code, p.Verifier.Reveal())
	if err != nil {
		return nil, nil, "exchange", err
	}
	if tok.IDToken == "" {
		return nil, nil, "id_token", fmt.Errorf("%w: token response has no id_token", ErrInvalidCallback)
	}
	claims, err := a.v.ValidateIDToken(ctx, tok.IDToken, p.Nonce)
	if err == nil {
		issued(ctx, a.log, tok, time.Since(start))
	}
	if err != nil {
		// The validator's own class (expired, signature, audience) comes
		// first; ErrInvalidCallback is there for validators without one.
		return nil, nil, "id_token", fmt.Errorf("token: ID token: %w (%w)", err, ErrInvalidCallback)
	}
	return tok, claims, "", nil
}

func randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", unavailable("random", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
