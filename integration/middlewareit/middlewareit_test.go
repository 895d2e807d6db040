package middlewareit

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/idbridge/idbridge/integration/idp"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/middleware/grpcauth"
	"github.com/idbridge/idbridge/rbac"
	"github.com/idbridge/idbridge/token"
)

// groupLeavers is the HR group whose members a deny rule cuts off.
const groupLeavers = "0f9e8d7c-6b5a-4f3e-9d2c-1b0a9f8e7d6c"

// policy is the lending API's policy for the provider's tokens: relationship
// managers read loans, approvers approve with MFA, the analytics daemon
// reads reports, and leavers lose everything.
const policy = `version: 1
issuers:
  - {name: idp, issuer: %q}
groups:
  - {id: ` + idp.GroupLendingRM + `, name: Lending_RM}
  - {id: ` + idp.GroupLoanApprover + `, name: Loan_Approver}
  - {id: ` + groupLeavers + `, name: HR_Leavers}
roles:
  - {name: LoanViewer, permissions: [loan:read]}
  - {name: LoanApprover, permissions: [loan:read, loan:approve]}
  - {name: ReportsReader, permissions: [reports:read]}
mappings:
  - id: rm
    when: {group: Lending_RM}
    grant: {roles: [LoanViewer]}
  - id: approver
    when: {group: Loan_Approver, mfa: true}
    grant: {roles: [LoanApprover]}
  - id: analytics
    when: {app_role: ` + idp.RoleAnalyticsRead + `}
    grant: {roles: [ReportsReader]}
deny:
  - {id: leaver, reason: revoked, when: {group: HR_Leavers}}
`

// recorder keeps audit events.
type recorder struct {
	mu     sync.Mutex
	events []map[string]any
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *recorder) WithGroup(string) slog.Handler            { return r }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	m := map[string]any{}
	rec.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.Any(); return true })
	r.mu.Lock()
	r.events = append(r.events, m)
	r.mu.Unlock()
	return nil
}

// take returns the request events (token.* and authz.*) since the last call.
func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		if n := e["event"].(string); strings.HasPrefix(n, "token.") || strings.HasPrefix(n, "authz.") {
			out = append(out, n)
		}
	}
	r.events = nil
	return out
}

// stack is the provider plus the lending API's validator, policy and guard.
type stack struct {
	p     *idp.Provider
	guard *middleware.Guard
	grpc  *grpcauth.Server // the guard for gRPC, with the stack's methods
	audit *recorder
}

func newStack(t *testing.T, methods map[string][]middleware.Requirement, fns ...func(*jwks.Options)) *stack {
	t.Helper()
	return newStackWith(t, methods, nil, fns...)
}

// newStackWith is newStack with extra guard options.
func newStackWith(t *testing.T, methods map[string][]middleware.Requirement, guardFn func(*middleware.Options), fns ...func(*jwks.Options)) *stack {
	t.Helper()
	p := idp.StartTest(t)
	rec := &recorder{}
	v, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: p.Issuer(), JWKSURL: p.JWKSURL()}}
		o.Audiences = []string{idp.LendingAppID}
		o.Algorithms = []string{"RS256"}
		o.Tenants = []string{idp.ScenarioTenantID}
		o.HTTPClient = p.HTTPClient()
		o.Cache = &jwks.CacheOptions{}
		o.Audit = rec // the validator records step 2 ...
	}, func(o *jwks.Options) {
		for _, fn := range fns {
			fn(o)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	pol, err := rbac.ParsePolicy(fmt.Appendf(nil, policy, p.Issuer()))
	if err != nil {
		t.Fatal(err)
	}
	g, err := middleware.New(v, func(o *middleware.Options) {
		o.Policy = pol
		o.Realm = "lending"
		o.Audit = rec
		// The validator audits step 2 itself (detected), so the guard
		// records steps 1 and 3 only.
	}, guardFn)
	if err != nil {
		t.Fatal(err)
	}
	gs, err := grpcauth.NewServer(g, func(o *grpcauth.ServerOptions) { o.Methods = methods })
	if err != nil {
		t.Fatal(err)
	}
	return &stack{p: p, guard: g, grpc: gs, audit: rec}
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// analyticsSource is the analytics daemon's cached client-credentials
// source for the lending API.
func analyticsSource(t *testing.T, p *idp.Provider) *token.Cache {
	t.Helper()
	src, err := token.NewCachedClientCredentials(
		token.Client{ID: idp.ClientAnalyticsSvc, TokenURL: p.TokenURL(), Auth: token.ClientSecretBasic(idp.AnalyticsSvcSecret)},
		[]string{idp.ResourceLending + "/.default"},
		func(o *token.CachedOptions) { o.HTTPClient = p.HTTPClient() })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

// signIn signs user in to lending-web headlessly (authorization code with
// PKCE) and returns the access token for the lending API.
func signIn(t *testing.T, p *idp.Provider, user, password string) string {
	t.Helper()
	ctx := context.WithValue(testContext(t), oauth2.HTTPClient, p.HTTPClient())
	cfg := &oauth2.Config{
		ClientID: idp.ClientLendingWeb, ClientSecret: idp.LendingWebSecret,
		Endpoint: p.Endpoint(), RedirectURL: idp.ScenarioRedirectURI,
		Scopes: []string{"openid", idp.ResourceLending + "/Loans.Read"},
	}
	verifier := oauth2.GenerateVerifier()
	cb, err := p.Login(ctx, cfg.AuthCodeURL("state", oauth2.S256ChallengeOption(verifier)), user, password)
	if err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	tok, err := cfg.Exchange(ctx, cb.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("code exchange for %s: %v", user, err)
	}
	return tok.AccessToken
}

// who answers with the caller's client, object ID and granted roles.
var who = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	p, _ := middleware.FromContext(r.Context())
	fmt.Fprintf(w, "%s %s %v", p.Claims.Client(), p.Claims.ObjectID, p.Decision.Roles())
})

func TestHTTPEndToEnd(t *testing.T) {
	s := newStack(t, nil)
	ctx := testContext(t)
	mux := http.NewServeMux()
	mux.Handle("GET /loans", s.guard.Handler(who, middleware.Require("loan:read"), middleware.RequireScope("Loans.Read")))
	mux.Handle("POST /loans/{id}/approve", s.guard.Handler(who, middleware.Require("loan:approve")))
	mux.Handle("GET /reports", s.guard.Handler(who, middleware.Require("reports:read")))
	api := httptest.NewTLSServer(mux)
	t.Cleanup(api.Close)
	apiHost := strings.TrimPrefix(api.URL, "https://")

	// The daemon's requests carry its token through the Transport.
	daemon, err := middleware.NewTransport(analyticsSource(t, s.p), func(o *middleware.TransportOptions) {
		o.Base = api.Client().Transport
		o.Hosts = []string{apiHost}
	})
	if err != nil {
		t.Fatal(err)
	}
	// A user's token is set per request, as a web app does for its signed-in
	// user; the Transport leaves an explicit Authorization header alone.
	userClient := api.Client()
	amit := signIn(t, s.p, idp.UserAmit, idp.AmitPassword)
	priya := signIn(t, s.p, idp.UserPriya, idp.PriyaPassword)
	s.audit.take()

	tests := []struct {
		name      string
		client    http.RoundTripper
		user      string
		method    string
		path      string
		status    int
		body      string
		challenge string
		events    []string
	}{
		{"daemon reads reports", daemon, "", "GET", "/reports", 200, idp.ClientAnalyticsSvc + " ", "",
			[]string{"token.validated", "authz.allowed"}},
		{"daemon may not read loans", daemon, "", "GET", "/loans", 403, "", `error="insufficient_scope", error_description="insufficient_role"`,
			[]string{"token.validated", "authz.denied"}},
		{"amit reads loans", userClient.Transport, amit, "GET", "/loans", 200, idp.ClientLendingWeb + " " + idp.AmitObjectID + " [LoanViewer]", "",
			[]string{"token.validated", "authz.allowed"}},
		{"amit may not approve", userClient.Transport, amit, "POST", "/loans/9/approve", 403, "", `error_description="insufficient_role"`,
			[]string{"token.validated", "authz.denied"}},
		// The provider's tokens carry no xms_cc, so the client is not known
		// to handle a claims challenge: RFC 9470's answer instead.
		{"priya must step up to approve", userClient.Transport, priya, "POST", "/loans/9/approve", 401, "",
			`error="insufficient_user_authentication", error_description="step_up_required"`,
			[]string{"token.validated", "authz.denied"}},
		{"no token", userClient.Transport, "", "GET", "/loans", 401, "", `Bearer realm="lending"`, []string{"token.rejected"}},
		{"tampered token", userClient.Transport, amit[:len(amit)-6] + "AAAAAA", "GET", "/loans", 401, "", `error="invalid_token", error_description="signature"`,
			[]string{"token.rejected"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(ctx, tt.method, api.URL+tt.path, nil)
			if tt.user != "" {
				req.Header.Set("Authorization", "Bearer "+tt.user)
			}
			resp, err := (&http.Client{Transport: tt.client}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.status == 200 && !strings.HasPrefix(string(body), tt.body) {
				t.Errorf("body %q, want prefix %q", body, tt.body)
			}
			if ch := resp.Header.Get("WWW-Authenticate"); !strings.Contains(ch, tt.challenge) {
				t.Errorf("WWW-Authenticate %q does not contain %q", ch, tt.challenge)
			}
			// One event per step, though validator and guard share the sink.
			if got := s.audit.take(); !slices.Equal(got, tt.events) {
				t.Errorf("audit events %v, want %v", got, tt.events)
			}
		})
	}
}

// With ClaimsChallengeAlways, the provider's real token (no xms_cc) gets
// the claims challenge naming what to bring.
func TestHTTPClaimsChallengeAlways(t *testing.T) {
	s := newStackWith(t, nil, func(o *middleware.Options) { o.ClaimsChallengeAlways = true })
	priya := signIn(t, s.p, idp.UserPriya, idp.PriyaPassword)
	r := httptest.NewRequest("POST", "/loans/9/approve", nil)
	r.Header.Set("Authorization", "Bearer "+priya)
	w := httptest.NewRecorder()
	s.guard.Handler(who, middleware.Require("loan:approve")).ServeHTTP(w, r)
	want := `Bearer realm="lending", error="insufficient_claims", error_description="step_up_required", claims="` +
		base64.StdEncoding.EncodeToString([]byte(`{"access_token":{"amr":{"essential":true,"values":["mfa"]}}}`)) + `"`
	if w.Code != 401 || w.Header().Get("WWW-Authenticate") != want {
		t.Fatalf("%d %s\nwant 401 %s", w.Code, w.Header().Get("WWW-Authenticate"), want)
	}
}

// A leaver keeps a valid token until it expires; the policy's deny rule cuts
// them off on every route at once.
func TestHTTPLeaverDeniedEverywhere(t *testing.T) {
	s := newStack(t, nil)
	mux := http.NewServeMux()
	mux.Handle("GET /loans", s.guard.Handler(who, middleware.Require("loan:read")))
	mux.Handle("GET /me", s.guard.Handler(who, middleware.Authenticated()))
	if err := s.p.SetGroups(idp.UserAmit, []string{idp.GroupLendingRM, groupLeavers}); err != nil {
		t.Fatal(err)
	}
	amit := signIn(t, s.p, idp.UserAmit, idp.AmitPassword)
	for _, path := range []string{"/loans", "/me"} {
		r := httptest.NewRequest("GET", path, nil)
		r.Header.Set("Authorization", "Bearer "+amit)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		if w.Code != 403 || !strings.Contains(w.Header().Get("WWW-Authenticate"), `error_description="revoked"`) {
			t.Errorf("%s: %d %s, want 403 revoked", path, w.Code, w.Header().Get("WWW-Authenticate"))
		}
	}
}

// After a hard key rotation at the provider, fresh tokens pass the guard
// once the validator's unknown-kid window allows a fetch of the new keys;
// inside the window they fail as unknown_key, never as a server error.
func TestHTTPAfterKeyRotation(t *testing.T) {
	clk := &clock{}
	clk.ns.Store(time.Now().UnixNano())
	s := newStack(t, nil, func(o *jwks.Options) { o.Now = clk.Now })
	h := s.guard.Handler(who, middleware.Require("reports:read"))
	src := analyticsSource(t, s.p)
	send := func() (int, string) {
		tok, err := src.Token(testContext(t))
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("GET", "/reports", nil)
		r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code, w.Header().Get("WWW-Authenticate")
	}
	if code, ch := send(); code != 200 {
		t.Fatalf("before rotation: %d %s", code, ch)
	}
	if _, err := s.p.RotateKey(true); err != nil {
		t.Fatal(err)
	}
	src.Invalidate()
	code, ch := send()
	if code == 401 {
		if !strings.Contains(ch, `error_description="unknown_key"`) {
			t.Fatalf("inside the unknown-kid window: %d %s", code, ch)
		}
		clk.Advance(jwks.DefaultUnknownKIDInterval + time.Second)
		code, ch = send()
	}
	if code != 200 {
		t.Fatalf("after rotation: %d %s", code, ch)
	}
}

// A hard key rotation makes the API refuse the token the client still has
// cached (unknown_key, answered with error="invalid_token"): the client
// Transport drops it from the token.Cache, gets a new one from the provider
// and sends the request again, once, so the caller never sees the 401.
func TestTransportRenewsRefusedToken(t *testing.T) {
	clk := &clock{}
	clk.ns.Store(time.Now().UnixNano())
	s := newStack(t, nil, func(o *jwks.Options) { o.Now = clk.Now })
	mux := http.NewServeMux()
	mux.Handle("GET /reports", s.guard.Handler(who, middleware.Require("reports:read")))
	api := httptest.NewTLSServer(mux)
	t.Cleanup(api.Close)
	tr, err := middleware.NewTransport(analyticsSource(t, s.p), func(o *middleware.TransportOptions) {
		o.Base = api.Client().Transport
	})
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: tr}
	get := func(c *http.Client) int {
		t.Helper()
		req, _ := http.NewRequestWithContext(testContext(t), "GET", api.URL+"/reports", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(client); code != 200 {
		t.Fatalf("before rotation: %d", code)
	}
	if _, err := s.p.RotateKey(true); err != nil {
		t.Fatal(err)
	}
	// Another daemon instance's new token makes the API fetch the new key
	// set, in which the old key is gone.
	other, err := middleware.NewTransport(analyticsSource(t, s.p), func(o *middleware.TransportOptions) {
		o.Base = api.Client().Transport
		o.DisableRetry = true
	})
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(jwks.DefaultUnknownKIDInterval + time.Second)
	if code := get(&http.Client{Transport: other}); code != 200 {
		t.Fatalf("new token after rotation: %d", code)
	}
	s.audit.take()
	before := s.p.Requests(idp.EndpointToken)
	if code := get(client); code != 200 {
		t.Fatalf("cached token after rotation: %d, want 200 after one renewal", code)
	}
	if n := s.p.Requests(idp.EndpointToken) - before; n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
	if got, want := s.audit.take(), []string{"token.rejected", "token.validated", "authz.allowed"}; !slices.Equal(got, want) {
		t.Errorf("audit events %v, want %v", got, want)
	}
}

// clock is a settable clock starting at the wall clock, so the provider's
// iat and nbf (stamped from the wall clock) stay plausible.
type clock struct{ ns atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func TestGRPCEndToEnd(t *testing.T) {
	s := newStack(t, map[string][]middleware.Requirement{
		"/grpc.health.v1.Health/Check": {middleware.Require("reports:read")},
		"/grpc.health.v1.Health/Watch": {middleware.Require("loan:read")},
	})
	ctx := testContext(t)

	// The API serves gRPC over TLS on loopback (serveHealth).
	creds, err := grpcauth.NewPerRPCCredentials(analyticsSource(t, s.p))
	if err != nil {
		t.Fatal(err)
	}
	client := serveHealth(t, s)(creds)
	s.audit.take()

	resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || resp.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("Check: %v %v", resp, err)
	}
	if got := s.audit.take(); !slices.Equal(got, []string{"token.validated", "authz.allowed"}) {
		t.Errorf("audit events %v", got)
	}

	st, err := client.Watch(ctx, &healthpb.HealthCheckRequest{})
	if err == nil {
		_, err = st.Recv()
	}
	if status.Code(err) != codes.PermissionDenied || status.Convert(err).Message() != "insufficient_scope: insufficient_role" {
		t.Fatalf("Watch as the daemon: %v, want PermissionDenied", err)
	}
}
