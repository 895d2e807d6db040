package tokenit

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idbridge/idbridge/integration/idp"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/token"
)

// clock is a settable clock starting at the wall clock, so that the
// provider's own iat/nbf (stamped from the wall clock) stay plausible.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}
func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// opts points token at the provider's TLS certificate and, if c is not nil,
// at the test clock.
func opts(p *idp.Provider, c *clock) func(*token.Options) {
	return func(o *token.Options) {
		o.HTTPClient = p.HTTPClient()
		if c != nil {
			o.Now = c.Now
		}
	}
}

// claims decodes a JWT's payload without verifying it, to look at what the
// provider issued.
func claims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT (%d parts)", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// idTokenValidator validates the provider's ID tokens for client.
func idTokenValidator(t *testing.T, p *idp.Provider, client string) *jwks.Validator {
	t.Helper()
	v, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: p.Issuer(), JWKSURL: p.JWKSURL()}}
		o.Audiences = []string{client}
		o.Algorithms = []string{"RS256"}
		o.HTTPClient = p.HTTPClient()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

func lendingWeb() token.Client {
	return token.Client{ID: idp.ClientLendingWeb, Auth: token.ClientSecretBasic(idp.LendingWebSecret)}
}

// signIn runs the authorization code flow headlessly for user and returns
// the tokens.
func signIn(t *testing.T, p *idp.Provider, user, password string, scopes ...string) *token.Token {
	t.Helper()
	ctx := testContext(t)
	c := lendingWeb()
	c.TokenURL = p.TokenURL()
	ac, err := token.NewAuthCode(c, p.AuthURL(), idp.ScenarioRedirectURI, idTokenValidator(t, p, idp.ClientLendingWeb), scopes, opts(p, nil))
	if err != nil {
		t.Fatal(err)
	}
	a, err := ac.Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := p.Login(ctx, a.URL, user, password)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	tok, _, err := ac.Exchange(ctx, a, cb.Query())
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return tok
}

// cacheOpts, cachedOpts, refreshOpts, exchangeOpts and discoverOpts are
// opts for the constructors with their own options types.
func cacheOpts(_ *idp.Provider, c *clock) func(*token.CacheOptions) {
	return func(o *token.CacheOptions) {
		if c != nil {
			o.Now = c.Now
		}
	}
}

func cachedOpts(p *idp.Provider, c *clock) func(*token.CachedOptions) {
	f := opts(p, c)
	return func(o *token.CachedOptions) { f(&o.Options) }
}

func refreshOpts(p *idp.Provider, c *clock) func(*token.RefreshOptions) {
	f := opts(p, c)
	return func(o *token.RefreshOptions) { f(&o.Options) }
}

func exchangeOpts(p *idp.Provider, c *clock) func(*token.ExchangeOptions) {
	f := opts(p, c)
	return func(o *token.ExchangeOptions) { f(&o.Options) }
}

func discoverOpts(p *idp.Provider, _ *clock) func(*token.DiscoverOptions) {
	return func(o *token.DiscoverOptions) { o.HTTPClient = p.HTTPClient() }
}
