package jwksit

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/integration/idp"
	"github.com/idbridge/idbridge/jwks"
)

// clock is a settable clock starting at the wall clock: the provider stamps
// iat and nbf from the wall clock, and the key set's rate window is moved
// forward by advancing this clock instead of sleeping.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}
func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// validator trusts p (keys by OpenID discovery) for the analytics API.
func validator(t *testing.T, p *idp.Provider, c *clock, fns ...func(*jwks.Options)) *jwks.Validator {
	t.Helper()
	v, err := jwks.NewValidator(append([]func(*jwks.Options){func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: p.Issuer()}}
		o.Audiences = []string{idp.AnalyticsAppID}
		o.Algorithms = []string{"RS256", "ES256"}
		o.HTTPClient = p.HTTPClient()
		o.Now = c.Now
	}}, fns...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// accessToken gets an app-only token for the analytics API from p.
func accessToken(t *testing.T, p *idp.Provider) string {
	t.Helper()
	cc := clientcredentials.Config{
		ClientID:     idp.ClientAnalyticsSvc,
		ClientSecret: idp.AnalyticsSvcSecret,
		TokenURL:     p.TokenURL(),
		Scopes:       []string{idp.ResourceAnalytics + "/.default"},
	}
	ctx := context.WithValue(testContext(t), oauth2.HTTPClient, p.HTTPClient())
	tok, err := cc.Token(ctx)
	if err != nil {
		t.Fatalf("client credentials: %v", err)
	}
	return tok.AccessToken
}

func validate(t *testing.T, v *jwks.Validator, tok string) *idbridge.Claims {
	t.Helper()
	c, err := v.Validate(testContext(t), tok)
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	return c
}

// withKID returns tok with its header kid replaced: a forgery whose kid the
// provider never published.
func withKID(t *testing.T, tok, kid string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	hdr := fmt.Sprintf(`{"alg":"RS256","kid":%q,"typ":"JWT"}`, kid)
	return base64.RawURLEncoding.EncodeToString([]byte(hdr)) + "." + parts[1] + "." + parts[2]
}

func TestDiscoveryAndAlgorithms(t *testing.T) {
	for _, alg := range []string{idp.AlgRS256, idp.AlgES256} {
		t.Run(alg, func(t *testing.T) {
			p := idp.StartTest(t, func(o *idp.Options) { o.Algorithm = alg })
			v := validator(t, p, newClock())
			c := validate(t, v, accessToken(t, p))
			if c.Header.Algorithm != alg || c.Header.KeyID != p.SigningKeyID() {
				t.Fatalf("alg %q kid %q", c.Header.Algorithm, c.Header.KeyID)
			}
			if c.Issuer != p.Issuer() || c.TenantID != p.TenantID() || c.Client() != idp.ClientAnalyticsSvc ||
				!c.HasRole(idp.RoleAnalyticsRead) || c.IDType != "app" || c.Version != "2.0" {
				t.Fatalf("claims %+v", c)
			}
			if n := p.Requests(idp.EndpointDiscovery); n != 1 {
				t.Fatalf("discovery requests = %d", n)
			}
			// A token for another API is refused.
			w := validator(t, p, newClock(), func(o *jwks.Options) { o.Audiences = []string{idp.LendingAppID} })
			if _, err := w.Validate(testContext(t), accessToken(t, p)); idbridge.ReasonOf(err) != "audience" {
				t.Fatalf("token for another API: %v", err)
			}
		})
	}
}

func TestSoftRotation(t *testing.T) {
	p := idp.StartTest(t)
	clk := newClock()
	v := validator(t, p, clk)
	old := accessToken(t, p)
	validate(t, v, old)
	base := p.Requests(idp.EndpointJWKS)

	kid, err := p.RotateKey(false)
	if err != nil {
		t.Fatal(err)
	}
	fresh := accessToken(t, p)
	// Right after the first load, with the clock standing still: the first
	// unknown kid after a quiet spell is fetched at once.
	if c := validate(t, v, fresh); c.Header.KeyID != kid {
		t.Fatalf("kid %q, want %q", c.Header.KeyID, kid)
	}
	validate(t, v, old) // the old key is still published
	if n := p.Requests(idp.EndpointJWKS) - base; n != 1 {
		t.Fatalf("new key picked up after %d JWKS fetches, want 1", n)
	}
}

func TestHardRotation(t *testing.T) {
	p := idp.StartTest(t)
	clk := newClock()
	v := validator(t, p, clk, func(o *jwks.Options) { o.Cache = &jwks.CacheOptions{} })
	old := accessToken(t, p)
	validate(t, v, old)
	validate(t, v, old) // now cached

	if _, err := p.RotateKey(true); err != nil {
		t.Fatal(err)
	}
	validate(t, v, accessToken(t, p))
	_, err := v.Validate(testContext(t), old)
	if !errors.Is(err, jwks.ErrUnknownKey) || idbridge.ReasonOf(err) != "unknown_key" {
		t.Fatalf("token of the removed key: %v", err)
	}
}

func TestProviderStopped(t *testing.T) {
	p := idp.StartTest(t)
	clk := newClock()
	v := validator(t, p, clk)
	tok := accessToken(t, p)
	validate(t, v, tok)

	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		clk.Advance(jwks.DefaultUnknownKIDInterval)
		validate(t, v, tok) // cached keys keep validating
		_, err := v.Validate(testContext(t), withKID(t, tok, fmt.Sprint("gone-", i)))
		if !errors.Is(err, jwks.ErrUnknownKey) {
			t.Fatalf("unknown kid while the provider is down: %v", err)
		}
		validate(t, v, tok) // the failed refresh kept the last good keys
	}

	if err := p.Restart(); err != nil {
		t.Fatal(err)
	}
	kid, err := p.RotateKey(false)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute) // past the back-off of the failed refreshes
	if c := validate(t, v, accessToken(t, p)); c.Header.KeyID != kid {
		t.Fatal("key rotated during the outage not picked up")
	}
}

// TestUnknownKIDFlood counts JWKS requests at the provider: 2,000 forged
// kids at once cost at most two, 2,000 tokens of one forged kid after a
// quiet hour one, and a rotation right after that one more, with the new
// token waiting for its turn instead of failing. The clock stands still, so
// only that wait (UnknownKIDInterval, 1 s) passes in real time.
func TestUnknownKIDFlood(t *testing.T) {
	p := idp.StartTest(t)
	clk := newClock()
	v := validator(t, p, clk)
	tok := accessToken(t, p)
	validate(t, v, tok)
	base := p.Requests(idp.EndpointJWKS)
	fetches := func() int64 { return p.Requests(idp.EndpointJWKS) - base }

	flood := func(kid func(g, i int) string) {
		var wg sync.WaitGroup
		var wrong atomic.Int32
		for g := range 8 {
			wg.Go(func() {
				for i := range 250 {
					_, err := v.Validate(context.Background(), withKID(t, tok, kid(g, i)))
					if !errors.Is(err, jwks.ErrUnknownKey) {
						wrong.Add(1)
					}
				}
			})
		}
		wg.Wait()
		if wrong.Load() != 0 {
			t.Fatalf("%d bogus tokens not rejected as unknown_key", wrong.Load())
		}
		validate(t, v, tok) // genuine tokens are unaffected
	}
	flood(func(g, i int) string { return fmt.Sprintf("bogus-%d-%d", g, i) })
	if n := fetches(); n > 2 {
		t.Fatalf("2000 forged kids at once: %d JWKS requests, want at most 2", n)
	}
	t.Logf("2000 forged kids at once: %d JWKS requests", fetches())

	clk.Advance(time.Hour)
	base = p.Requests(idp.EndpointJWKS)
	flood(func(int, int) string { return "bogus" })
	if n := fetches(); n != 1 {
		t.Fatalf("2000 tokens of one forged kid: %d JWKS requests, want 1", n)
	}
	kid, err := p.RotateKey(false)
	if err != nil {
		t.Fatal(err)
	}
	if c := validate(t, v, accessToken(t, p)); c.Header.KeyID != kid {
		t.Fatalf("kid %q, want %q", c.Header.KeyID, kid)
	}
	if n := fetches(); n != 2 {
		t.Fatalf("rotation right after a forged kid: %d JWKS requests in all, want 2", n)
	}
}

// TestReadyAndLogger: with the provider down at start-up, Ready names the
// issuer and the cause and the logger records the failed refresh (no audit
// configured); once the provider is back, Ready loads the keys.
func TestReadyAndLogger(t *testing.T) {
	p := idp.StartTest(t)
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	clk := newClock()
	logs := &lockedBuffer{}
	v := validator(t, p, clk, func(o *jwks.Options) {
		o.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	})
	err := v.Ready(testContext(t))
	if !errors.Is(err, jwks.ErrUnavailable) || idbridge.ReasonOf(err) != "idp_unavailable" || !strings.Contains(err.Error(), p.Issuer()) {
		t.Fatalf("Ready with the provider down: %v", err)
	}
	if s := logs.String(); !strings.Contains(s, `"msg":"jwks: key refresh failed"`) || !strings.Contains(s, `"issuer":"`+p.Issuer()+`"`) {
		t.Fatalf("no refresh failure logged: %s", s)
	}

	if err := p.Restart(); err != nil {
		t.Fatal(err)
	}
	clk.Advance(jwks.DefaultUnknownKIDInterval)
	if err := v.Ready(testContext(t)); err != nil {
		t.Fatalf("Ready after the provider came back: %v", err)
	}
	validate(t, v, accessToken(t, p))
	if s := logs.String(); !strings.Contains(s, `"msg":"jwks: key refresh recovered"`) {
		t.Fatalf("no recovery logged: %s", s)
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
