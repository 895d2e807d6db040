package tokenit

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/integration/idp"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/rbac"
	"github.com/idbridge/idbridge/token"
)

// introspector is lending-api validating tokens by introspection at the
// provider, for its own audience, on clock c (nil: the wall clock).
func introspector(t *testing.T, p *idp.Provider, client token.Client, c *clock, fns ...func(*token.IntrospectorOptions)) *token.Introspector {
	t.Helper()
	in, err := token.NewIntrospector(client, p.IntrospectionURL(), append([]func(*token.IntrospectorOptions){func(o *token.IntrospectorOptions) {
		o.Issuers = []string{p.Issuer()}
		o.Audiences = []string{idp.LendingAppID}
		o.HTTPClient = p.HTTPClient()
		o.Timeout = 2 * time.Second
		if c != nil {
			o.Now = c.Now
		}
	}}, fns...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	return in
}

// appToken is analytics-svc's client-credentials token for scope.
func appToken(t *testing.T, p *idp.Provider, scope string) string {
	t.Helper()
	cc, err := token.NewClientCredentials(token.Client{ID: idp.ClientAnalyticsSvc, TokenURL: p.TokenURL(), Auth: token.ClientSecretBasic(idp.AnalyticsSvcSecret)},
		[]string{scope}, opts(p, nil))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cc.Token(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

// TestIntrospection: lending-api introspects the tokens it receives at the
// real provider, authenticating with its secret or, as cbs-batch, with a
// private_key_jwt assertion.
func TestIntrospection(t *testing.T) {
	p := idp.StartTest(t)
	ctx := testContext(t)
	analytics := appToken(t, p, idp.ResourceLending+"/.default")
	forCBS := appToken(t, p, idp.ResourceCBS+"/.default")
	amit := signIn(t, p, idp.UserAmit, idp.AmitPassword, "offline_access", idp.ResourceLending+"/Loans.Read")

	cbs := idp.CBSBatchKey()
	pkjwt, err := token.PrivateKeyJWT(cbs.Key, func(o *token.JWTOptions) { o.KeyID = cbs.KID })
	if err != nil {
		t.Fatal(err)
	}
	clients := map[string]token.Client{
		"client_secret_basic": lendingAPI(p),
		"private_key_jwt":     {ID: idp.ClientCBSBatch, TokenURL: p.TokenURL(), Auth: pkjwt},
	}
	for name, client := range clients {
		t.Run(name, func(t *testing.T) {
			in := introspector(t, p, client, nil)
			tests := []struct {
				name    string
				token   string
				wantErr error
				check   func(*idbridge.Claims) bool
			}{
				{name: "analytics-svc's app token", token: analytics, check: func(c *idbridge.Claims) bool {
					return c.Client() == idp.ClientAnalyticsSvc && c.HasRole(idp.RoleAnalyticsRead) && c.IDType == "app" &&
						c.TenantID == idp.ScenarioTenantID && c.ObjectID != "" && c.Issuer == p.Issuer() &&
						slices.Equal(c.Audience, []string{idp.LendingAppID}) && c.ID != "" && len(c.Scopes) == 0 &&
						time.Until(c.ExpiresAt) > 50*time.Minute
				}},
				{name: "amit's delegated token", token: amit.AccessToken, check: func(c *idbridge.Claims) bool {
					return c.Client() == idp.ClientLendingWeb && c.ObjectID == idp.AmitObjectID && c.InGroup(idp.GroupLendingRM) &&
						c.HasRole(idp.RoleLoanViewer) && c.HasScope("Loans.Read") && slices.Contains(c.AMR, "mfa") &&
						c.PreferredUsername == "amit.r@bank.example" && c.IDType == "user"
				}},
				{name: "a token for another API", token: forCBS, wantErr: jwks.ErrAudience},
				{name: "a refresh token presented as an access token", token: amit.RefreshToken, wantErr: jwks.ErrType},
				{name: "an ID token", token: amit.IDToken, wantErr: token.ErrInactive},
				{name: "a made-up token", token: "2YotnFZFEjr1zCsicMWpAA", wantErr: token.ErrInactive},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					c, err := in.Validate(ctx, tt.token)
					if tt.wantErr != nil {
						if !errors.Is(err, tt.wantErr) || c != nil {
							t.Fatalf("err = %v, want %v", err, tt.wantErr)
						}
						if strings.Contains(err.Error(), tt.token) {
							t.Fatal("error shows the token")
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					if !tt.check(c) {
						t.Fatalf("claims %+v", *c)
					}
				})
			}
		})
	}
}

// TestIntrospectionLeaverAndRevokedRefresh: a disabled user's token turns
// inactive at the provider at once and at the API when its cached answer
// runs out (the CacheTTL trade-off); a revoked refresh token is inactive.
func TestIntrospectionLeaverAndRevokedRefresh(t *testing.T) {
	p := idp.StartTest(t)
	ctx := testContext(t)
	clk := newClock()
	in := introspector(t, p, lendingAPI(p), clk, func(o *token.IntrospectorOptions) { o.CacheTTL = time.Minute })
	amit := signIn(t, p, idp.UserAmit, idp.AmitPassword, "offline_access", idp.ResourceLending+"/Loans.Read")
	if _, err := in.Validate(ctx, amit.AccessToken); err != nil {
		t.Fatal(err)
	}
	p.ResetRequests()

	if err := p.DisableUser(idp.UserAmit); err != nil {
		t.Fatal(err)
	}
	clk.Advance(59 * time.Second)
	if _, err := in.Validate(ctx, amit.AccessToken); err != nil || p.Requests(idp.EndpointIntrospect) != 0 {
		t.Fatalf("within the cache TTL: err %v, %d requests; want the cached answer", err, p.Requests(idp.EndpointIntrospect))
	}
	clk.Advance(time.Second)
	_, err := in.Validate(ctx, amit.AccessToken)
	if !errors.Is(err, token.ErrInactive) || idbridge.ReasonOf(err) != "revoked" || p.Requests(idp.EndpointIntrospect) != 1 {
		t.Fatalf("leaver after the TTL: err = %v (reason %q), %d requests", err, idbridge.ReasonOf(err), p.Requests(idp.EndpointIntrospect))
	}
	if err := p.EnableUser(idp.UserAmit); err != nil {
		t.Fatal(err)
	}

	// Revoke the refresh token (RFC 7009), as lending-web does at sign-out.
	// Presented as an access token it was refused for its type; revoked,
	// the provider no longer knows it at all.
	if _, err := in.Validate(ctx, amit.RefreshToken); !errors.Is(err, jwks.ErrType) {
		t.Fatalf("live refresh token: err = %v, want jwks.ErrType", err)
	}
	form := url.Values{"token": {amit.RefreshToken}, "token_type_hint": {"refresh_token"}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.RevocationURL(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(idp.ClientLendingWeb, idp.LendingWebSecret)
	resp, err := p.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revocation: HTTP %d", resp.StatusCode)
	}
	clk.Advance(10 * time.Second) // past the cached refusal (at most 10s)
	if _, err := in.Validate(ctx, amit.RefreshToken); !errors.Is(err, token.ErrInactive) {
		t.Fatalf("revoked refresh token: err = %v, want ErrInactive", err)
	}
}

// TestIntrospectionProviderDown: while the provider is stopped or failing,
// cached answers keep serving and other tokens get idp_unavailable, never
// cached; once it is back, they validate.
func TestIntrospectionProviderDown(t *testing.T) {
	p := idp.StartTest(t)
	ctx := testContext(t)
	in := introspector(t, p, lendingAPI(p), nil)
	cached := appToken(t, p, idp.ResourceLending+"/.default")
	fresh := appToken(t, p, idp.ResourceLending+"/.default")
	if _, err := in.Validate(ctx, cached); err != nil {
		t.Fatal(err)
	}

	p.FailNext(idp.EndpointIntrospect, 1, http.StatusServiceUnavailable, 0)
	if _, err := in.Validate(ctx, fresh); !errors.Is(err, token.ErrIdPUnavailable) || idbridge.ReasonOf(err) != "idp_unavailable" {
		t.Fatalf("HTTP 503: err = %v (reason %q)", err, idbridge.ReasonOf(err))
	}

	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Validate(ctx, cached); err != nil {
		t.Fatalf("cached answer while stopped: %v", err)
	}
	_, err := in.Validate(ctx, fresh)
	if !errors.Is(err, token.ErrIdPUnavailable) || idbridge.ReasonOf(err) != "idp_unavailable" {
		t.Fatalf("stopped: err = %v (reason %q)", err, idbridge.ReasonOf(err))
	}
	if strings.Contains(err.Error(), fresh) {
		t.Fatal("error shows the token")
	}

	if err := p.Restart(); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Validate(ctx, fresh); err != nil {
		t.Fatalf("after restart: %v", err)
	}
}

// TestIntrospectionMergesConcurrentCallers: a burst of requests carrying
// one new token costs the provider one introspection.
func TestIntrospectionMergesConcurrentCallers(t *testing.T) {
	p := idp.StartTest(t)
	in := introspector(t, p, lendingAPI(p), nil)
	tok := appToken(t, p, idp.ResourceLending+"/.default")
	p.ResetRequests()
	ctx := testContext(t)
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for range 200 {
		wg.Go(func() {
			_, err := in.Validate(ctx, tok)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := p.Requests(idp.EndpointIntrospect); n != 1 {
		t.Fatalf("%d introspection requests for 200 concurrent callers, want 1", n)
	}
}

// introspectionPolicy is the lending API's policy (as in middlewareit).
const introspectionPolicy = `version: 1
issuers:
  - {name: idp, issuer: %q}
groups:
  - {id: ` + idp.GroupLendingRM + `, name: Lending_RM}
roles:
  - {name: LoanViewer, permissions: [loan:read]}
  - {name: ReportsReader, permissions: [reports:read]}
mappings:
  - id: rm
    when: {group: Lending_RM}
    grant: {roles: [LoanViewer]}
  - id: analytics
    when: {app_role: ` + idp.RoleAnalyticsRead + `}
    grant: {roles: [ReportsReader]}
`

// TestIntrospectorBehindGuard: middleware.Guard and rbac.Policy take an
// Introspector where they take a jwks.Validator, unchanged.
func TestIntrospectorBehindGuard(t *testing.T) {
	p := idp.StartTest(t)
	clk := newClock()
	in := introspector(t, p, lendingAPI(p), clk)
	pol, err := rbac.ParsePolicy(fmt.Appendf(nil, introspectionPolicy, p.Issuer()))
	if err != nil {
		t.Fatal(err)
	}
	g, err := middleware.New(in, func(o *middleware.Options) { o.Policy = pol })
	if err != nil {
		t.Fatal(err)
	}
	who := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pr, _ := middleware.FromContext(r.Context())
		fmt.Fprintf(w, "%s %v", pr.Claims.Client(), pr.Decision.Roles())
	})
	mux := http.NewServeMux()
	mux.Handle("GET /loans", g.Handler(who, middleware.Require("loan:read")))
	mux.Handle("GET /reports", g.Handler(who, middleware.Require("reports:read")))
	api := httptest.NewServer(mux)
	t.Cleanup(api.Close)

	call := func(path, tok string) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(testContext(t), http.MethodGet, api.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := api.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	analytics := appToken(t, p, idp.ResourceLending+"/.default")
	amit := signIn(t, p, idp.UserAmit, idp.AmitPassword, idp.ResourceLending+"/Loans.Read").AccessToken
	steps := []struct {
		name, path, tok string
		before          func()
		status          int
		body            string
	}{
		{name: "daemon reads reports", path: "/reports", tok: analytics, status: 200, body: "analytics-svc [ReportsReader]"},
		{name: "daemon may not read loans", path: "/loans", tok: analytics, status: 403},
		{name: "amit reads loans", path: "/loans", tok: amit, status: 200, body: "lending-web [LoanViewer]"},
		{name: "amit leaves", path: "/loans", tok: amit, status: 401, before: func() {
			if err := p.DisableUser(idp.UserAmit); err != nil {
				t.Fatal(err)
			}
			clk.Advance(60 * time.Second) // the default CacheTTL
		}},
		{name: "provider down", path: "/reports", tok: appToken(t, p, idp.ResourceLending+"/.default"), status: 503, before: func() {
			if err := p.Stop(); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		status, body := call(s.path, s.tok)
		if status != s.status || (s.body != "" && body != s.body) {
			t.Fatalf("%s: HTTP %d %q, want %d %q", s.name, status, body, s.status, s.body)
		}
	}
}
