package token

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/idbridge/idbridge/internal/loopback"
)

// Client is an OAuth client as registered at one identity provider: its ID,
// the token endpoint it talks to and how it proves who it is. Every flow
// takes one. Refresh tokens, assertions and secrets are only ever sent to
// TokenURL.
type Client struct {
	// ID is the client (application) ID.
	ID string
	// TokenURL is the token endpoint, for example
	// https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token.
	TokenURL string
	// Auth is how the client authenticates; nil means a public client
	// (a CLI, a single-page app) that sends only its ID.
	Auth ClientAuth
}

// Format prints c with its credential redacted, under every verb.
func (c Client) Format(f fmt.State, verb rune) {
	type Client struct {
		ID, TokenURL string
		Auth         string
	}
	v := Client{ID: c.ID, TokenURL: c.TokenURL}
	if c.Auth != nil {
		v.Auth = fmt.Sprint(c.Auth)
	}
	formatView(f, verb, v)
}

func (c Client) validate(o *config) error {
	if c.ID == "" {
		return fmt.Errorf("%w: client ID is required", errInvalidOptions)
	}
	return checkEndpoint("token endpoint", c.TokenURL, o)
}

// checkEndpoint refuses endpoints that would put secrets on the wire in
// clear text.
func checkEndpoint(what, raw string, o *config) error {
	if raw == "" {
		return fmt.Errorf("%w: %s is required", errInvalidOptions, what)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%w: %s is not an absolute URL", errInvalidOptions, what)
	}
	if u.User != nil {
		return fmt.Errorf("%w: %s must not carry user info", errInvalidOptions, what)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if o.InsecureAllowHTTP || loopback.Host(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("%w: %s must use https (host %s)", errInvalidOptions, what, u.Hostname())
	}
	return fmt.Errorf("%w: %s has unsupported scheme %q", errInvalidOptions, what, u.Scheme)
}

// ClientAuth is a way for a confidential client to authenticate at the token
// endpoint: [ClientSecretBasic], [ClientSecretPost], [PrivateKeyJWT] or
// [ClientAssertion]. The set is closed so that each way's secret handling
// can be audited here.
type ClientAuth interface {
	// authenticate adds the client's credentials to a token request and
	// returns the secrets it used, so that error texts can be scrubbed.
	authenticate(ctx context.Context, c *Client, form url.Values, h http.Header) ([]string, error)
}

type secretAuth struct {
	secret Secret
	basic  bool
}

// ClientSecretBasic authenticates with a client secret in the HTTP Basic
// Authorization header (client_secret_basic, the RFC 6749 default).
func ClientSecretBasic(secret Secret) ClientAuth { return secretAuth{secret: secret, basic: true} }

// ClientSecretPost authenticates with the client secret in the form body
// (client_secret_post), for IdPs that do not accept Basic.
func ClientSecretPost(secret Secret) ClientAuth { return secretAuth{secret: secret} }

// Format prints the way of authenticating, never the secret: fmt would
// print the unexported field raw under %v, without asking Secret.
func (a secretAuth) Format(f fmt.State, _ rune) {
	if a.basic {
		fmt.Fprint(f, "token.ClientSecretBasic("+redact(string(a.secret))+")")
		return
	}
	fmt.Fprint(f, "token.ClientSecretPost("+redact(string(a.secret))+")")
}

func (a secretAuth) authenticate(_ context.Context, c *Client, form url.Values, h http.Header) ([]string, error) {
	if a.secret == "" {
		return nil, fmt.Errorf("%w: empty client secret", errInvalidOptions)
	}
	s := a.secret.Reveal()
	if a.basic {
		// RFC 6749 section 2.3.1: both parts are form-encoded first.
		h.Set("Authorization", "Basic "+basicAuth(url.QueryEscape(c.ID), url.QueryEscape(s)))
		form.Del("client_id")
		return []string{s}, nil
	}
	form.Set("client_id", c.ID)
	form.Set("client_secret", s)
	return []string{s}, nil
}

// AssertionFunc returns a client assertion: a signed JWT proving the
// client's identity (RFC 7523), such as a Kubernetes projected service
// account token or one minted by a key vault. It is called for each token
// request and should return when ctx ends; a call that does not is
// abandoned (the request fails with ctx's error and the callback's result
// is dropped), so that it cannot hold up the caller or a Cache's Close.
type AssertionFunc func(ctx context.Context) (string, error)

type assertionAuth struct{ fn AssertionFunc }

// assertionType is the RFC 7523 client assertion type.
const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// ClientAssertion authenticates with a JWT assertion from fn
// (client_assertion_type jwt-bearer). Use it for workload identity
// federation and for keys that never leave an HSM or key vault.
func ClientAssertion(fn AssertionFunc) ClientAuth { return assertionAuth{fn: fn} }

// Format prints the kind of authentication only.
func (a assertionAuth) Format(f fmt.State, _ rune) { fmt.Fprint(f, "token.ClientAssertion(func)") }

func (a assertionAuth) authenticate(ctx context.Context, c *Client, form url.Values, _ http.Header) ([]string, error) {
	if a.fn == nil {
		return nil, fmt.Errorf("%w: nil assertion function", errInvalidOptions)
	}
	assertion, err := await(ctx, func() (string, error) { return a.fn(ctx) })
	switch {
	case err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return nil, fmt.Errorf("token: client assertion: %w", err)
	case err != nil:
		// The callback's failure (a sealed vault, a missing file) is
		// transient unless it says otherwise.
		return nil, unavailable("client assertion", err)
	case assertion == "":
		return nil, fmt.Errorf("%w: client assertion is empty", ErrIdPUnavailable)
	}
	form.Set("client_id", c.ID)
	form.Set("client_assertion_type", assertionType)
	form.Set("client_assertion", assertion)
	return []string{assertion}, nil
}
