package tokenit

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/integration/idp"
	"github.com/idbridge/idbridge/token"
)

func TestClientCredentials(t *testing.T) {
	p := idp.StartTest(t)
	key := idp.CBSBatchKey()
	rs256, err := token.PrivateKeyJWT(key.Key, func(o *token.JWTOptions) { o.KeyID = key.KID })
	if err != nil {
		t.Fatal(err)
	}
	ps256, err := token.PrivateKeyJWT(key.Key, func(o *token.JWTOptions) { o.KeyID = key.KID; o.Algorithm = token.PS256 })
	if err != nil {
		t.Fatal(err)
	}
	toIssuer, _ := token.PrivateKeyJWT(key.Key, func(o *token.JWTOptions) { o.KeyID = key.KID; o.Audience = p.Issuer() })
	tests := []struct {
		name     string
		client   token.Client
		wantRole string
	}{
		{"secret basic", token.Client{ID: idp.ClientAnalyticsSvc, Auth: token.ClientSecretBasic(idp.AnalyticsSvcSecret)}, idp.RoleAnalyticsRead},
		{"secret post", token.Client{ID: idp.ClientAnalyticsSvc, Auth: token.ClientSecretPost(idp.AnalyticsSvcSecret)}, idp.RoleAnalyticsRead},
		{"private_key_jwt RS256", token.Client{ID: idp.ClientCBSBatch, Auth: rs256}, idp.RoleCBSBatch},
		{"private_key_jwt PS256", token.Client{ID: idp.ClientCBSBatch, Auth: ps256}, idp.RoleCBSBatch},
		{"private_key_jwt aud issuer", token.Client{ID: idp.ClientCBSBatch, Auth: toIssuer}, idp.RoleCBSBatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.client.TokenURL = p.TokenURL()
			cc, err := token.NewClientCredentials(tt.client, []string{idp.ResourceLending + "/.default"}, opts(p, nil))
			if err != nil {
				t.Fatal(err)
			}
			// Twice: each assertion must carry a fresh jti, which the
			// provider accepts only once.
			for range 2 {
				tok, err := cc.Token(testContext(t))
				if err != nil {
					t.Fatal(err)
				}
				c := claims(t, tok.AccessToken)
				if !hasAud(c, idp.LendingAppID) || c["azp"] != tt.client.ID || !strings.Contains(strings.Join(anyStrings(c["roles"]), " "), tt.wantRole) {
					t.Fatalf("claims %v", c)
				}
				if time.Until(tok.Expiry) < 50*time.Minute {
					t.Fatalf("expiry %v", tok.Expiry)
				}
			}
		})
	}
	t.Run("wrong secret", func(t *testing.T) {
		cc, _ := token.NewClientCredentials(token.Client{ID: idp.ClientAnalyticsSvc, TokenURL: p.TokenURL(), Auth: token.ClientSecretBasic("wrong-secret")}, nil, opts(p, nil))
		_, err := cc.Token(testContext(t))
		var oe *token.Error
		if !errors.Is(err, token.ErrRejected) || !errors.As(err, &oe) || oe.Code != "invalid_client" || oe.Status != 401 {
			t.Fatalf("err = %v", err)
		}
		if strings.Contains(err.Error(), "wrong-secret") {
			t.Fatalf("error leaks the secret: %v", err)
		}
	})
}

// hasAud reports whether the aud claim (a string or an array) names want.
func hasAud(c map[string]any, want string) bool {
	if s, ok := c["aud"].(string); ok {
		return s == want
	}
	for _, a := range anyStrings(c["aud"]) {
		if a == want {
			return true
		}
	}
	return false
}

func anyStrings(v any) []string {
	var out []string
	if vs, ok := v.([]any); ok {
		for _, x := range vs {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

func TestThousandGoroutinesOnAColdSourceMakeOneRequest(t *testing.T) {
	p := idp.StartTest(t)
	src, err := token.NewCachedClientCredentials(token.Client{ID: idp.ClientAnalyticsSvc, TokenURL: p.TokenURL(), Auth: token.ClientSecretBasic(idp.AnalyticsSvcSecret)},
		[]string{idp.ResourceLending + "/.default"}, cachedOpts(p, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	p.ResetRequests()
	const n = 1000
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			<-start
			if _, err := src.Token(testContext(t)); err != nil {
				errs <- err
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := p.Requests(idp.EndpointToken); got != 1 {
		t.Fatalf("%d goroutines caused %d token requests, want 1", n, got)
	}
}

func TestAuthCodeAndRefreshRotation(t *testing.T) {
	p := idp.StartTest(t)
	ctx := testContext(t)
	tok := signIn(t, p, idp.UserAmit, idp.AmitPassword, "offline_access", idp.ResourceLending+"/Loans.Read")
	if tok.RefreshToken == "" || tok.IDToken == "" {
		t.Fatalf("sign-in token %v lacks refresh or ID token", tok)
	}
	if c := claims(t, tok.AccessToken); c["oid"] != idp.AmitObjectID || !hasAud(c, idp.LendingAppID) {
		t.Fatalf("access token claims %v", c)
	}
	first := tok.RefreshToken

	c := lendingWeb()
	c.TokenURL = p.TokenURL()
	store := token.NewMemoryStore()
	r, err := token.NewRefresh(c, store, "lending-web/amit", nil, refreshOpts(p, nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Seed(ctx, tok); err != nil {
		t.Fatal(err)
	}
	cache, err := token.NewCache(r, cacheOpts(p, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer cache.Close()
	if got, _ := cache.Token(ctx); got.AccessToken != tok.AccessToken {
		t.Fatal("seeded token not served first")
	}
	cache.Invalidate()
	p.ResetRequests()
	refreshed, err := cache.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if refreshed.AccessToken == tok.AccessToken || refreshed.RefreshToken != "" || p.Requests(idp.EndpointToken) != 1 {
		t.Fatalf("refresh: %v after %d requests", refreshed, p.Requests(idp.EndpointToken))
	}
	rotated, _ := store.Load(ctx, "lending-web/amit")
	if rotated == "" || rotated.Reveal() == first {
		t.Fatal("refresh token not rotated in the store")
	}

	// The provider rejects the old refresh token now: a source that still
	// holds it is told to sign in again, and drops it.
	old := token.NewMemoryStore()
	old.Store(ctx, "k", token.Secret(first))
	stale, _ := token.NewRefresh(c, old, "k", nil, refreshOpts(p, nil))
	_, err = stale.Token(ctx)
	if !errors.Is(err, token.ErrSignInRequired) || idbridge.ReasonOf(err) == "" {
		t.Fatalf("old refresh token: err = %v (reason %q)", err, idbridge.ReasonOf(err))
	}
	if strings.Contains(err.Error(), first) {
		t.Fatal("error leaks the refresh token")
	}
	if got, _ := old.Load(ctx, "k"); got != "" {
		t.Fatal("rejected refresh token not deleted")
	}
	// The rotated one still works.
	cache.Invalidate()
	if _, err := cache.Token(ctx); err != nil {
		t.Fatalf("rotated refresh token: %v", err)
	}
}

func TestAuthCodeRefusesForgedState(t *testing.T) {
	p := idp.StartTest(t)
	ctx := testContext(t)
	c := lendingWeb()
	c.TokenURL = p.TokenURL()
	ac, err := token.NewAuthCode(c, p.AuthURL(), idp.ScenarioRedirectURI, idTokenValidator(t, p, idp.ClientLendingWeb), nil, opts(p, nil))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := ac.Start(nil)
	cb, err := p.Login(ctx, a.URL, idp.UserPriya, idp.PriyaPassword)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := ac.Start(nil)
	p.ResetRequests()
	if _, _, err := ac.Exchange(ctx, other, cb.Query()); !errors.Is(err, token.ErrInvalidCallback) {
		t.Fatalf("callback of another sign-in: %v", err)
	}
	if p.Requests(idp.EndpointToken) != 0 {
		t.Fatal("code redeemed despite state mismatch")
	}
	// A nonce mismatch is caught by the ID token validator.
	a.Nonce = "not-the-nonce"
	if _, _, err := ac.Exchange(ctx, a, cb.Query()); err == nil {
		t.Fatal("ID token with a foreign nonce accepted")
	}
}

func TestDeviceFlow(t *testing.T) {
	p := idp.StartTest(t)
	ctx := testContext(t)
	d, err := token.NewDevice(token.Client{ID: idp.ClientBankCLI, TokenURL: p.TokenURL()}, p.DeviceAuthURL(),
		[]string{"openid", "offline_access", idp.ResourceLending + "/Loans.Read"}, opts(p, nil))
	if err != nil {
		t.Fatal(err)
	}
	dc, err := d.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if dc.UserCode == "" || dc.VerificationURI == "" {
		t.Fatalf("device code %+v", dc)
	}
	approved := make(chan error, 1)
	go func() {
		// Let the CLI poll while pending at least once.
		for p.Requests(idp.EndpointToken) == 0 {
			select {
			case <-ctx.Done():
				approved <- ctx.Err()
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
		approved <- p.ApproveDevice(ctx, dc.UserCode, idp.UserAmit, idp.AmitPassword)
	}()
	tok, err := d.Poll(ctx, dc)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-approved; err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" || claims(t, tok.AccessToken)["oid"] != idp.AmitObjectID {
		t.Fatalf("device token %v", tok)
	}
	if p.Requests(idp.EndpointToken) < 2 {
		t.Fatalf("expected a pending poll before approval, got %d polls", p.Requests(idp.EndpointToken))
	}
}

func TestTokenExchange(t *testing.T) {
	p := idp.StartTest(t)
	ctx := testContext(t)
	user := signIn(t, p, idp.UserAmit, idp.AmitPassword, idp.ResourceLending+"/Loans.Read")
	x, err := token.NewTokenExchange(token.Client{ID: idp.ClientLendingAPI, TokenURL: p.TokenURL(), Auth: token.ClientSecretBasic(idp.LendingAPISecret)}, exchangeOpts(p, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	p.ResetRequests()
	scopes := []string{idp.ResourceCBS + "/.default"}
	down, err := x.Token(ctx, user.AccessToken, scopes)
	if err != nil {
		t.Fatal(err)
	}
	c := claims(t, down.AccessToken)
	if !hasAud(c, idp.CBSAppID) || c["oid"] != idp.AmitObjectID {
		t.Fatalf("exchanged claims %v", c)
	}
	again, err := x.Token(ctx, user.AccessToken, scopes)
	if err != nil || again != down || p.Requests(idp.EndpointToken) != 1 {
		t.Fatalf("second exchange not cached: %d requests", p.Requests(idp.EndpointToken))
	}
	// A token not issued for lending-api cannot be exchanged.
	if _, err := x.Token(ctx, "not-a-token", scopes); !errors.Is(err, token.ErrRejected) {
		t.Fatalf("garbage subject: %v", err)
	}
}

func TestWorkloadIdentityFile(t *testing.T) {
	p := idp.StartTest(t)
	key := idp.CBSBatchKey()
	// A federated token as a platform would project it: signed by a key the
	// IdP trusts for the client, no jti (it is reused until renewed).
	write := func(path string) {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
			"iss": idp.ClientCBSBatch, "sub": idp.ClientCBSBatch, "aud": p.TokenURL(),
			"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
		})
		tok.Header["kid"] = key.KID
		s, err := tok.SignedString(key.Key)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "azure-identity-token")
	write(path)
	fa, err := token.NewFileAssertion(path)
	if err != nil {
		t.Fatal(err)
	}
	src, err := token.NewCachedClientCredentials(token.Client{ID: idp.ClientCBSBatch, TokenURL: p.TokenURL(), Auth: token.ClientAssertion(fa.Assertion)},
		[]string{idp.ResourceLending + "/.default"}, cachedOpts(p, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for range 2 {
		tok, err := src.Token(testContext(t))
		if err != nil {
			t.Fatal(err)
		}
		if claims(t, tok.AccessToken)["azp"] != idp.ClientCBSBatch {
			t.Fatal("wrong client")
		}
		src.Invalidate()
	}
}

func TestProviderStoppedMidTest(t *testing.T) {
	p := idp.StartTest(t)
	clk := newClock()
	src, err := token.NewCachedClientCredentials(token.Client{ID: idp.ClientAnalyticsSvc, TokenURL: p.TokenURL(), Auth: token.ClientSecretBasic(idp.AnalyticsSvcSecret)},
		[]string{idp.ResourceLending + "/.default"}, cachedOpts(p, clk), func(o *token.CachedOptions) { o.Timeout = 2 * time.Second })
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ctx := testContext(t)
	first, err := src.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	// Inside the refresh window: the cached token is served while the
	// background refresh fails.
	clk.Advance(first.Expiry.Sub(clk.Now()) - 3*time.Minute)
	for range 5 {
		tok, err := src.Token(ctx)
		if err != nil || tok != first {
			t.Fatalf("provider down, token still valid: Token = %v, %v", tok, err)
		}
	}
	// Expired: a typed error, not a stale token.
	clk.Advance(3 * time.Minute)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err = src.Token(ctx)
		if err != nil || time.Now().After(deadline) {
			break
		}
	}
	if !errors.Is(err, token.ErrIdPUnavailable) || idbridge.ReasonOf(err) != "idp_unavailable" {
		t.Fatalf("after expiry err = %v (reason %q)", err, idbridge.ReasonOf(err))
	}
	// Back up: the next attempt after the backoff succeeds.
	if err := p.Restart(); err != nil {
		t.Fatal(err)
	}
	clk.Advance(5 * time.Minute)
	tok, err := src.Token(ctx)
	if err != nil || tok == first {
		t.Fatalf("after restart Token = %v, %v", tok, err)
	}
}

func TestServerErrorAndRetryAfter(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		retryAfter time.Duration
		during     time.Duration // clock advance still inside the backoff
		after      time.Duration // clock advance after which a retry is allowed
	}{
		// First backoff is MinBackoff (1s) with equal jitter: 0.5-1s.
		{"500", 500, 0, 0, time.Second},
		{"429 with Retry-After", 429, 30 * time.Second, 29 * time.Second, 30 * time.Second},
		{"503 with Retry-After", 503, 20 * time.Second, 19 * time.Second, 20 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := idp.StartTest(t)
			clk := newClock()
			src, err := token.NewCachedClientCredentials(token.Client{ID: idp.ClientAnalyticsSvc, TokenURL: p.TokenURL(), Auth: token.ClientSecretBasic(idp.AnalyticsSvcSecret)},
				nil, cachedOpts(p, clk))
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			ctx := testContext(t)
			p.FailNext(idp.EndpointToken, 1, tt.status, tt.retryAfter)
			_, err = src.Token(ctx)
			var oe *token.Error
			if !errors.Is(err, token.ErrIdPUnavailable) || !errors.As(err, &oe) || oe.Status != tt.status || oe.RetryAfter != tt.retryAfter {
				t.Fatalf("err = %v", err)
			}
			// During the backoff callers get the error without a request.
			clk.Advance(tt.during)
			if _, err := src.Token(ctx); !errors.Is(err, token.ErrIdPUnavailable) || p.Requests(idp.EndpointToken) != 1 {
				t.Fatalf("during backoff: %v after %d requests", err, p.Requests(idp.EndpointToken))
			}
			clk.Advance(tt.after - tt.during)
			if _, err := src.Token(ctx); err != nil {
				t.Fatalf("after backoff: %v", err)
			}
			if p.Requests(idp.EndpointToken) != 2 {
				t.Fatalf("%d requests, want 2", p.Requests(idp.EndpointToken))
			}
		})
	}
}

// TestRetryAfterDuringBackgroundRefresh: while a valid token is cached, a
// throttled background refresh (503 with Retry-After) does not reach the
// caller, and the next refresh waits for the Retry-After even inside the
// refresh window.
func TestRetryAfterDuringBackgroundRefresh(t *testing.T) {
	p := idp.StartTest(t)
	clk := newClock()
	log := &syncLog{}
	src, err := token.NewCachedClientCredentials(token.Client{ID: idp.ClientAnalyticsSvc, TokenURL: p.TokenURL(), Auth: token.ClientSecretBasic(idp.AnalyticsSvcSecret)},
		[]string{idp.ResourceLending + "/.default"}, cachedOpts(p, clk), func(o *token.CachedOptions) {
			o.Logger = slog.New(slog.NewTextHandler(log, nil))
		})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ctx := testContext(t)
	first, err := src.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p.ResetRequests()
	p.FailNext(idp.EndpointToken, 1, 503, 20*time.Second)
	clk.Advance(first.Expiry.Sub(clk.Now()) - 4*time.Minute) // inside the refresh window
	if tok, err := src.Token(ctx); err != nil || tok != first {
		t.Fatalf("inside the window with the IdP throttling: Token = %v, %v; want the cached token", tok, err)
	}
	// Wait for the cache to have taken the answer in (its warning comes
	// after it has set the retry time), not merely for the provider to
	// have seen the request: Retry-After counts from when the answer
	// arrives, so moving the clock before that would move the retry too.
	waitFor(t, "the throttled refresh", func() bool { return strings.Contains(log.String(), "level=WARN") })
	if n := p.Requests(idp.EndpointToken); n != 1 {
		t.Fatalf("%d requests for the throttled refresh, want 1", n)
	}
	clk.Advance(19 * time.Second)
	for range 10 {
		if tok, err := src.Token(ctx); err != nil || tok != first {
			t.Fatalf("during Retry-After: Token = %v, %v", tok, err)
		}
	}
	if n := p.Requests(idp.EndpointToken); n != 1 {
		t.Fatalf("%d requests before Retry-After ended, want 1", n)
	}
	clk.Advance(2 * time.Second)
	src.Token(ctx)
	waitFor(t, "the refresh after Retry-After", func() bool {
		tok, err := src.Token(ctx)
		return err == nil && tok != first
	})
	if n := p.Requests(idp.EndpointToken); n != 2 {
		t.Fatalf("%d requests, want 2", n)
	}
}

// TestShortLivedTokens: with the provider issuing 2-second tokens, the
// cache on the real clock renews them in the background, a fraction of
// their lifetime ahead, never fetches per call, and never hands out one
// within its (scaled) margin of expiry.
func TestShortLivedTokens(t *testing.T) {
	const life = 2 * time.Second
	p := idp.StartTest(t, func(o *idp.Options) { o.AccessTokenLifetime = life })
	src, err := token.NewCachedClientCredentials(token.Client{ID: idp.ClientAnalyticsSvc, TokenURL: p.TokenURL(), Auth: token.ClientSecretBasic(idp.AnalyticsSvcSecret)},
		[]string{idp.ResourceLending + "/.default"}, cachedOpts(p, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ctx := testContext(t)
	p.ResetRequests()
	seen := map[string]bool{}
	calls := 0
	for end := time.Now().Add(2 * life); time.Now().Before(end); calls++ {
		// Measured from before the call, so that a test goroutine
		// descheduled after it returns cannot make a good token look old.
		before := time.Now()
		tok, err := src.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if left := tok.Expiry.Sub(before); left < life/20 {
			t.Fatalf("handed out a token %v before its expiry", left)
		}
		seen[tok.AccessToken] = true
		time.Sleep(2 * time.Millisecond) // pace the polling loop
	}
	n := p.Requests(idp.EndpointToken)
	t.Logf("%d calls over %v: %d tokens from %d requests", calls, 2*life, len(seen), n)
	// expires_in is in whole seconds, so a 2 s token may arrive with 1 s
	// left and be renewed after half of that: a handful of requests, not
	// one per call.
	if len(seen) < 2 || n < 2 || n > 16 {
		t.Fatalf("%d calls over %v saw %d tokens from %d requests; want a few background renewals", calls, 2*life, len(seen), n)
	}
}

func TestDiscovery(t *testing.T) {
	p := idp.StartTest(t)
	ep, err := token.Discover(testContext(t), p.Issuer(), discoverOpts(p, nil))
	if err != nil {
		t.Fatal(err)
	}
	if ep.TokenURL != p.TokenURL() || ep.AuthURL != p.AuthURL() || ep.DeviceAuthURL != p.DeviceAuthURL() || ep.JWKSURL != p.JWKSURL() ||
		ep.IntrospectionURL != p.IntrospectionURL() {
		t.Fatalf("endpoints %+v", ep)
	}
	cc, err := token.NewClientCredentials(token.Client{ID: idp.ClientAnalyticsSvc, TokenURL: ep.TokenURL, Auth: token.ClientSecretBasic(idp.AnalyticsSvcSecret)}, nil, opts(p, nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cc.Token(testContext(t)); err != nil {
		t.Fatal(err)
	}
}

func TestOAuth2Interop(t *testing.T) {
	p := idp.StartTest(t)
	src, _ := token.NewCachedClientCredentials(token.Client{ID: idp.ClientAnalyticsSvc, TokenURL: p.TokenURL(), Auth: token.ClientSecretBasic(idp.AnalyticsSvcSecret)}, nil, cachedOpts(p, nil))
	defer src.Close()
	ot, err := token.OAuth2(context.Background(), src).Token()
	if err != nil || !ot.Valid() {
		t.Fatalf("oauth2 token %v, %v", ot, err)
	}
}
