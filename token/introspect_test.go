package token

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/audit"
	"github.com/idbridge/idbridge/internal/reason"
	"github.com/idbridge/idbridge/internal/selfaudit"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/rbac"
)

// introspectionEndpoint is an httptest introspection endpoint. It records
// each request's raw body and headers; respond decides the answer.
type introspectionEndpoint struct {
	srv      *httptest.Server
	requests atomic.Int64

	mu      sync.Mutex
	bodies  []string
	headers []http.Header
	respond func(token string) (status int, contentType, body string)
}

func newIntrospectionEndpoint(t testing.TB, respond func(token string) (int, string, string)) *introspectionEndpoint {
	t.Helper()
	e := &introspectionEndpoint{respond: respond}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(raw))
		_ = r.ParseForm()
		e.requests.Add(1)
		e.mu.Lock()
		e.bodies = append(e.bodies, string(raw))
		e.headers = append(e.headers, r.Header.Clone())
		respond := e.respond
		e.mu.Unlock()
		status, ct, body := respond(r.PostForm.Get("token"))
		if ct == "" {
			ct = "application/json"
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *introspectionEndpoint) URL() string { return e.srv.URL + "/introspect" }

func (e *introspectionEndpoint) setRespond(fn func(string) (int, string, string)) {
	e.mu.Lock()
	e.respond = fn
	e.mu.Unlock()
}

func (e *introspectionEndpoint) request(i int) (string, http.Header) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.bodies[i], e.headers[i]
}

// answer is a fixed 200 JSON answer.
func answer(body string) func(string) (int, string, string) {
	return func(string) (int, string, string) { return http.StatusOK, "", body }
}

const (
	testIssuer   = "https://idp.example/"
	testAudience = "3c6e1a2b-7d4f-4e8a-9b0c-1d2e3f4a5b61" // the lending API's client ID
)

func resourceServer() Client {
	return Client{ID: "lending-api", Auth: ClientSecretBasic("lending-api-secret")}
}

// introspectorFor builds an Introspector for e, checking testIssuer and
// testAudience, on clock clk.
func introspectorFor(t testing.TB, e *introspectionEndpoint, clk *fakeClock, fns ...func(*IntrospectorOptions)) *Introspector {
	t.Helper()
	i, err := NewIntrospector(resourceServer(), e.URL(), append([]func(*IntrospectorOptions){func(o *IntrospectorOptions) {
		o.Issuers = []string{testIssuer}
		o.Audiences = []string{testAudience}
		if clk != nil {
			o.Now = clk.Now
		}
	}}, fns...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { i.Close() })
	return i
}

// activeAnswer is an Entra-like active answer, valid at clk's time.
func activeAnswer(clk *fakeClock, extra map[string]any) string {
	now := clk.Now().Unix()
	m := map[string]any{
		"active": true, "iss": testIssuer, "aud": testAudience, "sub": "amit-sub",
		"client_id": "lending-web", "exp": now + 3600, "iat": now - 10, "nbf": now - 10,
		"jti": "jti-1", "token_type": "Bearer",
	}
	for k, v := range extra {
		if v == nil {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// TestIntrospectRFC7662Example plays the exchange of RFC 7662 section 2
// byte for byte: the request of section 2.1 and the answers of 2.2.
func TestIntrospectRFC7662Example(t *testing.T) {
	const rfcActive = `{
      "active": true,
      "client_id": "l238j323ds-23ij4",
      "username": "jdoe",
      "scope": "read write dolphin",
      "sub": "Z5O3upPC88QrAjx00dis",
      "aud": "https://protected.example.net/resource",
      "iss": "https://server.example.com/",
      "exp": 1419356238,
      "iat": 1419350238,
      "extension_field": "twenty-seven"
     }`
	e := newIntrospectionEndpoint(t, answer(rfcActive))
	clk := newFakeClock()
	clk.ns.Store(time.Unix(1419350238+60, 0).UnixNano())
	i, err := NewIntrospector(Client{ID: "s6BhdRkqt3", Auth: ClientSecretBasic("gX1fBat3bV")}, e.URL(), func(o *IntrospectorOptions) {
		o.Issuers = []string{"https://server.example.com/"}
		o.Audiences = []string{"https://protected.example.net/resource"}
		o.Now = clk.Now
	})
	if err != nil {
		t.Fatal(err)
	}
	defer i.Close()
	c, err := i.Validate(context.Background(), "2YotnFZFEjr1zCsicMWpAA")
	if err != nil {
		t.Fatal(err)
	}
	body, h := e.request(0)
	if want := "token=2YotnFZFEjr1zCsicMWpAA&token_type_hint=access_token"; body != want {
		t.Errorf("body = %q, want %q", body, want)
	}
	for k, want := range map[string]string{
		"Accept":        "application/json",
		"Content-Type":  "application/x-www-form-urlencoded",
		"Authorization": "Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	want := idbridge.Claims{
		Issuer: "https://server.example.com/", Subject: "Z5O3upPC88QrAjx00dis",
		Audience:  []string{"https://protected.example.net/resource"},
		ExpiresAt: time.Unix(1419356238, 0).UTC(), IssuedAt: time.Unix(1419350238, 0).UTC(),
		ClientID: "l238j323ds-23ij4", Scopes: []string{"read", "write", "dolphin"},
		PreferredUsername: "jdoe",
	}
	if got, _ := json.Marshal(fields(c)); string(got) != string(mustJSON(fields(&want))) {
		t.Errorf("claims\n got %s\nwant %s", got, mustJSON(fields(&want)))
	}
	if c.Client() != "l238j323ds-23ij4" {
		t.Errorf("Client() = %q", c.Client())
	}

	// Section 2.2: the answer for a token that is not active.
	e.setRespond(answer(`{
      "active": false
     }`))
	_, err = i.Validate(context.Background(), "revoked-token")
	if !errors.Is(err, ErrInactive) || reason.Of(err) != reason.Revoked {
		t.Fatalf("inactive: err = %v (class %q), want ErrInactive (revoked)", err, reason.Of(err))
	}
}

// fields is the typed content of claims, for comparison.
func fields(c *idbridge.Claims) map[string]any {
	b, _ := json.Marshal(struct{ idbridge.Claims }{*c}) // the embedded struct's exported fields
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

func TestIntrospectorValidate(t *testing.T) {
	clk := newFakeClock()
	now := clk.Now().Unix()
	tests := []struct {
		name    string
		status  int
		ctype   string
		body    string
		opts    func(*IntrospectorOptions)
		wantErr error
		also    error // a second sentinel the error matches
		check   func(t *testing.T, c *idbridge.Claims)
	}{
		{
			name: "Entra-like members become typed claims",
			body: activeAnswer(clk, map[string]any{
				"oid": "a1b2", "tid": "7d1c", "groups": []string{"g1", "g2"}, "roles": []string{"LoanViewer"},
				"azp": "lending-web", "acr": "1", "amr": []string{"pwd", "mfa"}, "scope": "Loans.Read profile",
				"idtyp": "user", "ver": "2.0", "preferred_username": "amit@bank.example", "username": "amit",
				"wids": "w1", "xms_cc": []string{"cp1"}, "name": "Amit R", "email": "amit.r@bank.example",
				"uti": "u-1", "sid": "s-1", "extension_field": map[string]any{"nested": []int{1}},
			}),
			check: func(t *testing.T, c *idbridge.Claims) {
				if c.ObjectID != "a1b2" || c.TenantID != "7d1c" || !c.InGroup("g2") || !c.HasRole("LoanViewer") ||
					c.Client() != "lending-web" || c.ACR != "1" || !slices.Equal(c.AMR, []string{"pwd", "mfa"}) ||
					!c.HasScope("Loans.Read") || c.IDType != "user" || c.Version != "2.0" ||
					c.PreferredUsername != "amit@bank.example" || !slices.Equal(c.WIDs, []string{"w1"}) ||
					!slices.Equal(c.ClientCapabilities, []string{"cp1"}) || c.Name != "Amit R" ||
					c.Email != "amit.r@bank.example" || c.UTI != "u-1" || c.SessionID != "s-1" ||
					c.Subject != "amit-sub" || c.ID != "jti-1" || c.Issuer != testIssuer {
					t.Errorf("claims = %+v", fields(c))
				}
				if c.ExpiresAt.Unix() != now+3600 || c.IssuedAt.Unix() != now-10 || c.NotBefore.Unix() != now-10 {
					t.Errorf("times = %v %v %v", c.ExpiresAt, c.IssuedAt, c.NotBefore)
				}
			},
		},
		{
			name: "client_id is the client when there is no azp; scp when there is no scope",
			body: activeAnswer(clk, map[string]any{"scp": "a b", "username": "jdoe"}),
			check: func(t *testing.T, c *idbridge.Claims) {
				if c.Client() != "lending-web" || !slices.Equal(c.Scopes, []string{"a", "b"}) || c.PreferredUsername != "jdoe" {
					t.Errorf("claims = %+v", fields(c))
				}
			},
		},
		{
			name: "appid is the client of a v1 answer",
			body: activeAnswer(clk, map[string]any{"appid": "v1-app", "client_id": nil}),
			check: func(t *testing.T, c *idbridge.Claims) {
				if c.Client() != "v1-app" || c.AuthorizedParty != "" {
					t.Errorf("Client() = %q, azp %q", c.Client(), c.AuthorizedParty)
				}
			},
		},
		{
			name: "aud as an array with ours among others",
			body: activeAnswer(clk, map[string]any{"aud": []string{"api://other", testAudience}}),
		},
		{
			name: "null members are absent",
			body: activeAnswer(clk, map[string]any{"groups": json.RawMessage(`null`), "nbf": json.RawMessage(`null`)}),
			check: func(t *testing.T, c *idbridge.Claims) {
				if c.Groups != nil || !c.NotBefore.IsZero() {
					t.Errorf("groups %v nbf %v", c.Groups, c.NotBefore)
				}
			},
		},
		{
			name: "no exp: the server vouches",
			body: activeAnswer(clk, map[string]any{"exp": nil}),
		},
		{
			name: "expired within the leeway",
			body: activeAnswer(clk, map[string]any{"exp": now - 30}),
		},
		{name: "inactive", body: `{"active":false}`, wantErr: ErrInactive},
		{name: "inactive with stale members", body: `{"active":false,"aud":"3c6e1a2b-7d4f-4e8a-9b0c-1d2e3f4a5b61","sub":"x"}`, wantErr: ErrInactive},
		{name: "other issuer", body: activeAnswer(clk, map[string]any{"iss": "https://evil.example/"}), wantErr: jwks.ErrIssuer},
		{name: "no issuer", body: activeAnswer(clk, map[string]any{"iss": nil}), wantErr: jwks.ErrMissingClaim},
		{name: "other audience", body: activeAnswer(clk, map[string]any{"aud": []string{"api://payments"}}), wantErr: jwks.ErrAudience},
		{name: "no audience", body: activeAnswer(clk, map[string]any{"aud": nil}), wantErr: jwks.ErrAudience},
		{name: "expired beyond the leeway", body: activeAnswer(clk, map[string]any{"exp": now - 61}), wantErr: jwks.ErrExpired},
		{
			name: "expired with no leeway", body: activeAnswer(clk, map[string]any{"exp": now - 1}), wantErr: jwks.ErrExpired,
			opts: func(o *IntrospectorOptions) { o.Leeway = -1 },
		},
		{name: "not yet valid", body: activeAnswer(clk, map[string]any{"nbf": now + 120}), wantErr: jwks.ErrNotYetValid},
		{name: "issued in the future", body: activeAnswer(clk, map[string]any{"iat": now + 120}), wantErr: jwks.ErrIssuedInFuture},
		{name: "a refresh token", body: activeAnswer(clk, map[string]any{"token_type": "refresh_token"}), wantErr: jwks.ErrType},
		{name: "a Keycloak refresh token", body: activeAnswer(clk, map[string]any{"typ": "Refresh"}), wantErr: jwks.ErrType},
		{name: "a Hydra refresh token", body: activeAnswer(clk, map[string]any{"token_use": "refresh_token"}), wantErr: jwks.ErrType},
		{name: "an ID token", body: activeAnswer(clk, map[string]any{"typ": "ID"}), wantErr: jwks.ErrType},
		{
			name: "checks skipped for a server without iss and aud",
			body: activeAnswer(clk, map[string]any{"iss": nil, "aud": nil}),
			opts: func(o *IntrospectorOptions) {
				o.Issuers, o.Audiences, o.SkipIssuerCheck, o.SkipAudienceCheck = nil, nil, true, true
			},
		},
		{name: "HTTP 500", status: 500, body: `oops`, wantErr: ErrIdPUnavailable},
		{name: "HTTP 503", status: 503, body: `{"error":"temporarily_unavailable"}`, wantErr: ErrIdPUnavailable},
		{
			name: "our own credentials refused", status: 401, body: `{"error":"invalid_client"}`,
			wantErr: ErrIdPUnavailable, also: ErrRejected,
		},
		{name: "not JSON", body: `<html>`, wantErr: ErrIdPUnavailable},
		{name: "a JSON array", body: `[{"active":true}]`, wantErr: ErrIdPUnavailable},
		{name: "no active", body: `{"sub":"x"}`, wantErr: ErrIdPUnavailable},
		{name: "active as a string", body: `{"active":"true"}`, wantErr: ErrIdPUnavailable},
		{name: "active twice", body: `{"active":false,"active":true}`, wantErr: ErrIdPUnavailable},
		{name: "groups as a number", body: activeAnswer(clk, map[string]any{"groups": 7}), wantErr: ErrIdPUnavailable},
		{name: "a null group", body: activeAnswer(clk, map[string]any{"groups": []any{"g", nil}}), wantErr: ErrIdPUnavailable},
		{name: "exp as a string", body: activeAnswer(clk, map[string]any{"exp": "1419356238"}), wantErr: ErrIdPUnavailable},
		{name: "negative exp", body: activeAnswer(clk, map[string]any{"exp": -1}), wantErr: ErrIdPUnavailable},
		{name: "trailing data", body: `{"active":false} {}`, wantErr: ErrIdPUnavailable},
		{name: "truncated", body: `{"active":true,"sub":"x"`, wantErr: ErrIdPUnavailable},
		{name: "larger than the cap", body: `{"active":false,"pad":"` + strings.Repeat("x", maxIntrospectionBody) + `"}`, wantErr: ErrIdPUnavailable},
		{name: "a JWT answer (RFC 9701)", ctype: "application/token-introspection+jwt", body: `eyJ.eyJ.sig`, wantErr: ErrIdPUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status := tt.status
			if status == 0 {
				status = http.StatusOK
			}
			e := newIntrospectionEndpoint(t, func(string) (int, string, string) { return status, tt.ctype, tt.body })
			i := introspectorFor(t, e, clk, tt.opts)
			c, err := i.Validate(context.Background(), "opaque-token-value")
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || c != nil {
					t.Fatalf("err = %v, claims %v; want %v and no claims", err, c != nil, tt.wantErr)
				}
				if tt.also != nil && !errors.Is(err, tt.also) {
					t.Errorf("err = %v, want it to match %v too", err, tt.also)
				}
				if got, want := reason.Of(err), reason.Of(tt.wantErr); got != want {
					t.Errorf("class = %q, want %q", got, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

func TestIntrospectorRefusesTokensItNeedNotSend(t *testing.T) {
	e := newIntrospectionEndpoint(t, answer(`{"active":true}`))
	i := introspectorFor(t, e, nil, func(o *IntrospectorOptions) { o.MaxTokenSize = 2048 })
	for _, tc := range []struct {
		token string
		want  error
	}{{"", jwks.ErrMalformed}, {strings.Repeat("a", 2049), jwks.ErrTooLarge}} {
		if _, err := i.Validate(context.Background(), tc.token); !errors.Is(err, tc.want) {
			t.Errorf("token of %d bytes: err = %v, want %v", len(tc.token), err, tc.want)
		}
	}
	if n := e.requests.Load(); n != 0 {
		t.Errorf("%d requests, want none", n)
	}
}

func TestIntrospectorClientAuthAndParams(t *testing.T) {
	e := newIntrospectionEndpoint(t, answer(`{"active":false}`))
	i, err := NewIntrospector(Client{ID: "lending-api", Auth: ClientSecretPost("s3cret")}, e.URL(), func(o *IntrospectorOptions) {
		o.Issuers, o.Audiences = []string{testIssuer}, []string{testAudience}
		o.Params = map[string][]string{"resource": {"api://lending"}, "token": {"not-this"}}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer i.Close()
	_, _ = i.Validate(context.Background(), "tok")
	body, h := e.request(0)
	if want := "client_id=lending-api&client_secret=s3cret&resource=api%3A%2F%2Flending&token=tok&token_type_hint=access_token"; body != want {
		t.Errorf("body = %q\nwant   %q", body, want)
	}
	if h.Get("Authorization") != "" {
		t.Errorf("Authorization = %q with client_secret_post", h.Get("Authorization"))
	}
}

func TestNewIntrospectorRefuses(t *testing.T) {
	key, _ := testKeyAndCert(t)
	pkjwt, err := PrivateKeyJWT(key)
	if err != nil {
		t.Fatal(err)
	}
	pkjwtAud, _ := PrivateKeyJWT(key, func(o *JWTOptions) { o.Audience = "https://idp.example" })
	ok := func(o *IntrospectorOptions) { o.Issuers, o.Audiences = []string{testIssuer}, []string{testAudience} }
	secret := ClientSecretBasic("s")
	tests := []struct {
		name   string
		c      Client
		url    string
		opts   func(*IntrospectorOptions)
		reject bool
	}{
		{"valid", Client{ID: "api", Auth: secret}, "https://idp.example/introspect", ok, false},
		{"loopback HTTP", Client{ID: "api", Auth: secret}, "http://127.0.0.1:8080/introspect", ok, false},
		{"HTTP allowed explicitly", Client{ID: "api", Auth: secret}, "http://idp.internal/introspect", func(o *IntrospectorOptions) { ok(o); o.InsecureAllowHTTP = true }, false},
		{"both checks skipped", Client{ID: "api", Auth: secret}, "https://idp.example/i", func(o *IntrospectorOptions) { o.SkipIssuerCheck, o.SkipAudienceCheck = true, true }, false},
		{"private_key_jwt with a token URL", Client{ID: "api", TokenURL: "https://idp.example/token", Auth: pkjwt}, "https://idp.example/i", ok, false},
		{"private_key_jwt with an audience", Client{ID: "api", Auth: pkjwtAud}, "https://idp.example/i", ok, false},
		{"no client ID", Client{Auth: secret}, "https://idp.example/i", ok, true},
		{"no client authentication", Client{ID: "api"}, "https://idp.example/i", ok, true},
		{"private_key_jwt without audience", Client{ID: "api", Auth: pkjwt}, "https://idp.example/i", ok, true},
		{"plain HTTP token URL", Client{ID: "api", TokenURL: "http://idp.example/token", Auth: secret}, "https://idp.example/i", ok, true},
		{"no URL", Client{ID: "api", Auth: secret}, "", ok, true},
		{"plain HTTP", Client{ID: "api", Auth: secret}, "http://idp.example/introspect", ok, true},
		{"relative URL", Client{ID: "api", Auth: secret}, "/introspect", ok, true},
		{"user info in URL", Client{ID: "api", Auth: secret}, "https://u:p@idp.example/i", ok, true},
		{"no issuers", Client{ID: "api", Auth: secret}, "https://idp.example/i", func(o *IntrospectorOptions) { o.Audiences = []string{testAudience} }, true},
		{"no audiences", Client{ID: "api", Auth: secret}, "https://idp.example/i", func(o *IntrospectorOptions) { o.Issuers = []string{testIssuer} }, true},
		{"empty audience", Client{ID: "api", Auth: secret}, "https://idp.example/i", func(o *IntrospectorOptions) { ok(o); o.Audiences = []string{""} }, true},
		{"empty issuer", Client{ID: "api", Auth: secret}, "https://idp.example/i", func(o *IntrospectorOptions) { ok(o); o.Issuers = []string{""} }, true},
		{"audiences and skip", Client{ID: "api", Auth: secret}, "https://idp.example/i", func(o *IntrospectorOptions) { ok(o); o.SkipAudienceCheck = true }, true},
		{"issuers and skip", Client{ID: "api", Auth: secret}, "https://idp.example/i", func(o *IntrospectorOptions) { ok(o); o.SkipIssuerCheck = true }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i, err := NewIntrospector(tt.c, tt.url, tt.opts)
			if tt.reject {
				if !errors.Is(err, idbridge.ErrInvalidOptions) {
					t.Fatalf("err = %v, want idbridge.ErrInvalidOptions", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			i.Close()
		})
	}
}

func TestIntrospectorOptionsAreClamped(t *testing.T) {
	e := newIntrospectionEndpoint(t, answer(`{"active":false}`))
	tests := []struct {
		name                      string
		opts                      func(*IntrospectorOptions)
		ttl, negTTL, leeway, tout time.Duration
		maxSize                   int
	}{
		{"defaults", nil, defaultIntrospectionCacheTTL, defaultInactiveCacheTTL, jwks.DefaultLeeway, defaultIntrospectionTimeout, jwks.DefaultMaxTokenSize},
		{"too long", func(o *IntrospectorOptions) {
			o.CacheTTL, o.InactiveCacheTTL, o.Leeway, o.MaxTokenSize = time.Hour, time.Minute, time.Hour, 1<<20
		}, maxIntrospectionCacheTTL, maxInactiveCacheTTL, jwks.MaxLeeway, defaultIntrospectionTimeout, maxIntrospectedToken},
		{"disabled", func(o *IntrospectorOptions) {
			o.CacheTTL, o.InactiveCacheTTL, o.Leeway, o.Timeout = -1, -1, -1, time.Second
		}, 0, 0, 0, time.Second, jwks.DefaultMaxTokenSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i := introspectorFor(t, e, nil, tt.opts)
			if i.ttl != tt.ttl || i.negTTL != tt.negTTL || i.leeway != tt.leeway || i.o.Timeout != tt.tout || i.maxSize != tt.maxSize {
				t.Errorf("ttl %v negTTL %v leeway %v timeout %v maxSize %d", i.ttl, i.negTTL, i.leeway, i.o.Timeout, i.maxSize)
			}
		})
	}
}

// TestIntrospectorCache: active answers are reused for CacheTTL but never
// past exp, refusals for InactiveCacheTTL, failures not at all; a token
// revoked at the server keeps working until its cached answer runs out.
func TestIntrospectorCache(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	now := clk.Now().Unix()
	var active atomic.Bool
	active.Store(true)
	var status atomic.Int64
	status.Store(200)
	e := newIntrospectionEndpoint(t, func(tok string) (int, string, string) {
		if s := int(status.Load()); s != 200 {
			return s, "", `{"error":"server_error"}`
		}
		switch {
		case tok == "short-lived":
			return 200, "", activeAnswer(clk, map[string]any{"exp": now + 10})
		case tok == "for-another-api":
			return 200, "", activeAnswer(clk, map[string]any{"aud": "api://other"})
		case active.Load():
			return 200, "", activeAnswer(clk, nil)
		}
		return 200, "", `{"active":false}`
	})
	i := introspectorFor(t, e, clk, func(o *IntrospectorOptions) { o.CacheTTL = 30 * time.Second })
	requests := func() int64 { return e.requests.Load() }

	c1, err := i.Validate(ctx, "tok")
	if err != nil {
		t.Fatal(err)
	}
	c2, err := i.Validate(ctx, "tok")
	if err != nil || c2 != c1 || requests() != 1 {
		t.Fatalf("second call: err %v, same claims %v, %d requests; want a cache hit", err, c2 == c1, requests())
	}

	// Revoked at the server: still accepted from the cache until the TTL
	// runs out (the documented trade-off), then refused.
	active.Store(false)
	clk.Advance(29 * time.Second)
	if _, err := i.Validate(ctx, "tok"); err != nil || requests() != 1 {
		t.Fatalf("within TTL: err %v, %d requests", err, requests())
	}
	clk.Advance(time.Second)
	if _, err := i.Validate(ctx, "tok"); !errors.Is(err, ErrInactive) || requests() != 2 {
		t.Fatalf("after TTL: err %v, %d requests; want ErrInactive from a new request", err, requests())
	}
	// The refusal is reused briefly, then asked again.
	if _, err := i.Validate(ctx, "tok"); !errors.Is(err, ErrInactive) || requests() != 2 {
		t.Fatalf("refusal cached: err %v, %d requests", err, requests())
	}
	clk.Advance(defaultInactiveCacheTTL)
	if _, err := i.Validate(ctx, "tok"); !errors.Is(err, ErrInactive) || requests() != 3 {
		t.Fatalf("refusal expired: err %v, %d requests", err, requests())
	}

	// A refusal by our own checks is cached like an inactive answer.
	for range 2 {
		if _, err := i.Validate(ctx, "for-another-api"); !errors.Is(err, jwks.ErrAudience) {
			t.Fatal(err)
		}
	}
	if requests() != 4 {
		t.Fatalf("%d requests, want the audience refusal cached", requests())
	}

	// An answer is not reused past the token's exp, even within the TTL.
	clk.ns.Store(time.Unix(now, 0).UnixNano())
	if _, err := i.Validate(ctx, "short-lived"); err != nil {
		t.Fatal(err)
	}
	base := requests()
	clk.Advance(9 * time.Second)
	if _, err := i.Validate(ctx, "short-lived"); err != nil || requests() != base {
		t.Fatalf("before exp: err %v, %d new requests", err, requests()-base)
	}
	clk.Advance(time.Second)
	if _, err := i.Validate(ctx, "short-lived"); err != nil || requests() != base+1 {
		t.Fatalf("at exp: err %v, %d new requests; want one", err, requests()-base)
	}

	// Failures to get an answer are never cached.
	status.Store(503)
	for range 2 {
		if _, err := i.Validate(ctx, "fresh-token"); !errors.Is(err, ErrIdPUnavailable) {
			t.Fatalf("err = %v", err)
		}
	}
	if got := requests() - base - 1; got != 2 {
		t.Fatalf("%d requests for two calls while the server fails, want 2", got)
	}
	status.Store(200)
	active.Store(true)
	if _, err := i.Validate(ctx, "fresh-token"); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
}

func TestIntrospectorCacheDisabled(t *testing.T) {
	clk := newFakeClock()
	e := newIntrospectionEndpoint(t, func(tok string) (int, string, string) {
		if tok == "dead" {
			return 200, "", `{"active":false}`
		}
		return 200, "", activeAnswer(clk, nil)
	})
	i := introspectorFor(t, e, clk, func(o *IntrospectorOptions) { o.CacheTTL, o.InactiveCacheTTL = -1, -1 })
	for range 3 {
		if _, err := i.Validate(context.Background(), "tok"); err != nil {
			t.Fatal(err)
		}
		if _, err := i.Validate(context.Background(), "dead"); !errors.Is(err, ErrInactive) {
			t.Fatal(err)
		}
	}
	if n := e.requests.Load(); n != 6 {
		t.Fatalf("%d requests, want 6", n)
	}
}

func TestIntrospectorCacheIsBounded(t *testing.T) {
	clk := newFakeClock()
	e := newIntrospectionEndpoint(t, func(string) (int, string, string) { return 200, "", activeAnswer(clk, nil) })
	i := introspectorFor(t, e, clk, func(o *IntrospectorOptions) { o.MaxEntries = 32 })
	for n := range 500 {
		if _, err := i.Validate(context.Background(), fmt.Sprintf("token-%d", n)); err != nil {
			t.Fatal(err)
		}
	}
	total := 0
	for s := range i.shards {
		total += len(i.shards[s].entries)
	}
	if total > 32 || total == 0 {
		t.Fatalf("%d cached answers, want at most 32", total)
	}

	// By bytes: answers of users in many groups fill a shard sooner.
	groups := make([]string, 500)
	for n := range groups {
		groups[n] = fmt.Sprintf("3f2a9c1e-0b7d-4e5a-8c6f-%012d", n)
	}
	big := activeAnswer(clk, map[string]any{"groups": groups})
	e.setRespond(answer(big))
	b := introspectorFor(t, e, clk)
	for s := range b.shards {
		b.shards[s].maxBytes = 3 * (len(big) + entryOverhead)
	}
	for n := range 200 {
		c, err := b.Validate(context.Background(), fmt.Sprintf("member-of-many-%d", n))
		if err != nil || len(c.Groups) != 500 {
			t.Fatalf("err %v, %d groups", err, len(c.Groups))
		}
	}
	total = 0
	for s := range b.shards {
		sh := &b.shards[s]
		sum := 0
		for _, e := range sh.entries {
			sum += e.size
		}
		if sum != sh.bytes || sh.bytes > sh.maxBytes || len(sh.entries) > 3 {
			t.Fatalf("shard %d: %d entries, %d bytes (counted %d), bound %d", s, len(sh.entries), sum, sh.bytes, sh.maxBytes)
		}
		total += len(sh.entries)
	}
	if total < introspectionShards {
		t.Fatalf("%d cached answers, want the shards in use", total)
	}
}

// TestIntrospectorMergesConcurrentRequests: callers asking about the same
// token while a request is in flight share it, and one caller giving up
// does not fail the others.
func TestIntrospectorMergesConcurrentRequests(t *testing.T) {
	clk := newFakeClock()
	release := make(chan struct{})
	e := newIntrospectionEndpoint(t, func(string) (int, string, string) {
		<-release
		return 200, "", activeAnswer(clk, nil)
	})
	i := introspectorFor(t, e, clk, func(o *IntrospectorOptions) { o.CacheTTL = -1 })

	impatient, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() { _, err := i.Validate(impatient, "tok"); first <- err }()
	waitFor(t, "the request", func() bool { return e.requests.Load() == 1 })

	const callers = 100
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := i.Validate(context.Background(), "tok")
			errs <- err
		}()
	}
	waitFor(t, "callers to wait on the request", func() bool {
		return waiting() >= callers+1 // and the impatient one
	})
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Fatalf("impatient caller: err = %v, want context.Canceled", err)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := e.requests.Load(); n != 1 {
		t.Fatalf("%d requests for %d concurrent callers, want 1", n, callers+1)
	}
}

// waiting counts callers blocked on a request in Introspector.flight, for
// tests that must know callers have joined a request before it ends. A
// goroutine counts only if it is waiting on the call: the goroutine that
// runs the request also has Introspector.flight (its closure) in its
// stack, and counting it let the test go on with a caller still outside.
func waiting() int {
	n := 0
	for _, g := range strings.Split(stacks(), "\n\n") {
		if strings.Contains(g, "token.(*Introspector).flight(") && strings.Contains(g, "internal/flight.(*Call[...]).Wait(") {
			n++
		}
	}
	return n
}

func TestIntrospectorClose(t *testing.T) {
	clk := newFakeClock()
	release := make(chan struct{})
	defer close(release)
	e := newIntrospectionEndpoint(t, func(tok string) (int, string, string) {
		if tok == "slow" {
			<-release
		}
		return 200, "", activeAnswer(clk, nil)
	})
	i := introspectorFor(t, e, clk)
	if _, err := i.Validate(context.Background(), "cached"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := i.Validate(context.Background(), "slow"); done <- err }()
	waitFor(t, "the slow request", func() bool { return e.requests.Load() == 2 })
	i.Close()
	if err := <-done; !errors.Is(err, idbridge.ErrClosed) {
		t.Fatalf("in flight at Close: err = %v, want idbridge.ErrClosed", err)
	}
	if err := i.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := i.Validate(context.Background(), "cached"); err != nil {
		t.Fatalf("cached answer after Close: %v", err)
	}
	if _, err := i.Validate(context.Background(), "new"); !errors.Is(err, idbridge.ErrClosed) {
		t.Fatalf("new token after Close: err = %v, want idbridge.ErrClosed", err)
	}
	waitFor(t, "no request goroutine", func() bool { return !strings.Contains(stacks(), "token.(*Introspector).run") })
}

func stacks() string {
	buf := make([]byte, 1<<22)
	return string(buf[:runtime.Stack(buf, true)])
}

// TestIntrospectorNeverShowsTokenOrSecret: not in errors (even when the
// server echoes the token), not under fmt, not in audit events.
func TestIntrospectorNeverShowsTokenOrSecret(t *testing.T) {
	const tok = "opaque-8f14e45fceea167a5a36dedd4bea2543"
	const secret = "lending-api-secret"
	clk := newFakeClock()
	var mode atomic.Int64
	e := newIntrospectionEndpoint(t, func(got string) (int, string, string) {
		switch mode.Load() {
		case 0:
			return 400, "", `{"error":"invalid_request","error_description":"bad token ` + got + ` from client with ` + secret + `"}`
		case 1:
			return 200, "", `{"active":false}`
		case 2:
			return 200, "", activeAnswer(clk, map[string]any{"aud": "api://other", "jti": nil})
		}
		return 200, "", activeAnswer(clk, map[string]any{"oid": "o-1", "tid": "t-1", "roles": []string{"R"}, "jti": nil})
	})
	var buf bytes.Buffer
	i := introspectorFor(t, e, clk, func(o *IntrospectorOptions) {
		o.Audit = slog.NewJSONHandler(&buf, nil)
		o.CacheTTL, o.InactiveCacheTTL = -1, -1
	})
	var errs []error
	for m := range 4 {
		mode.Store(int64(m))
		_, err := i.Validate(context.Background(), tok)
		errs = append(errs, err)
	}
	for _, err := range errs[:3] {
		if err == nil {
			t.Fatal("want an error")
		}
		for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
			if strings.Contains(s, tok) || strings.Contains(s, secret) {
				t.Errorf("error shows a secret: %s", s)
			}
		}
	}
	var e400 *Error
	if !errors.As(errs[0], &e400) || e400.Code != "invalid_request" {
		t.Errorf("HTTP 400: err = %v, want an *Error", errs[0])
	}
	for _, s := range []string{fmt.Sprintf("%v", i), fmt.Sprintf("%+v", i), fmt.Sprintf("%#v", i)} {
		if strings.Contains(s, secret) {
			t.Errorf("Introspector shows its secret: %s", s)
		}
	}
	if strings.Contains(buf.String(), tok) || strings.Contains(buf.String(), secret) {
		t.Errorf("audit shows a secret:\n%s", buf.String())
	}
	var events []map[string]any
	for line := range strings.Lines(buf.String()) {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatal(err)
		}
		events = append(events, ev)
	}
	if len(events) != 4 {
		t.Fatalf("%d events, want 4:\n%s", len(events), buf.String())
	}
	wantID := hashID(sha256Of(tok))
	for n, want := range []struct{ event, reason string }{
		{"token.rejected", "idp_unavailable"}, {"token.rejected", "revoked"},
		{"token.rejected", "audience"}, {"token.validated", ""},
	} {
		ev := events[n]
		if ev["event"] != want.event || (want.reason != "" && ev["reason"] != want.reason) || ev["token_id"] != wantID {
			t.Errorf("event %d = %v, want %s %s token_id %s", n, ev, want.event, want.reason, wantID)
		}
	}
	if ev := events[3]; ev["oid"] != "o-1" || ev["tid"] != "t-1" || ev["azp"] != "lending-web" || ev["outcome"] != "success" {
		t.Errorf("validated event = %v", ev)
	}
	if !selfaudit.Audits(i) {
		t.Error("selfaudit.Audits = false with an audit handler")
	}
}

func TestIntrospectorAuditNamesTokenByJTI(t *testing.T) {
	clk := newFakeClock()
	e := newIntrospectionEndpoint(t, answer(activeAnswer(clk, nil)))
	var buf bytes.Buffer
	i := introspectorFor(t, e, clk, func(o *IntrospectorOptions) { o.Audit = slog.NewJSONHandler(&buf, nil) })
	for range 2 { // a miss and a hit: both recorded
		if _, err := i.Validate(context.Background(), "tok"); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(buf.String(), `"token_id":"`+audit.TokenID("jti-1")+`"`); n != 2 {
		t.Errorf("want two events naming the jti hash:\n%s", buf.String())
	}
	if plain := introspectorFor(t, e, clk); selfaudit.Audits(plain) {
		t.Error("selfaudit.Audits = true without an audit handler")
	}
}

func TestIntrospectorCallerContext(t *testing.T) {
	clk := newFakeClock()
	release := make(chan struct{})
	e := newIntrospectionEndpoint(t, func(string) (int, string, string) {
		<-release
		return 200, "", activeAnswer(clk, nil)
	})
	i := introspectorFor(t, e, clk)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := i.Validate(ctx, "tok"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	// The request goes on without the caller, and its answer serves the
	// next one.
	close(release)
	waitFor(t, "the answer to be cached", func() bool { return i.cached(sha256Of("tok")) != nil })
	if _, err := i.Validate(context.Background(), "tok"); err != nil || e.requests.Load() != 1 {
		t.Fatalf("err %v, %d requests", err, e.requests.Load())
	}
}

func TestIntrospectorTimeoutAndRedirects(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	slow := newIntrospectionEndpoint(t, func(string) (int, string, string) {
		<-release
		return 200, "", `{"active":false}`
	})
	i := introspectorFor(t, slow, nil, func(o *IntrospectorOptions) { o.Timeout = 20 * time.Millisecond })
	if _, err := i.Validate(context.Background(), "tok"); !errors.Is(err, ErrIdPUnavailable) {
		t.Fatalf("hung server: err = %v, want ErrIdPUnavailable", err)
	}

	var hits atomic.Int64
	elsewhere := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer elsewhere.Close()
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL, http.StatusTemporaryRedirect)
	}))
	defer redirect.Close()
	r, err := NewIntrospector(resourceServer(), redirect.URL, func(o *IntrospectorOptions) {
		o.Issuers, o.Audiences = []string{testIssuer}, []string{testAudience}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Validate(context.Background(), "tok"); !errors.Is(err, ErrIdPUnavailable) || hits.Load() != 0 {
		t.Fatalf("redirect: err = %v, %d requests followed it", err, hits.Load())
	}
}

func sha256Of(s string) *[32]byte {
	k := sha256.Sum256([]byte(s))
	return &k
}

func FuzzParseIntrospection(f *testing.F) {
	for _, s := range []string{
		`{"active":true,"client_id":"l238j323ds-23ij4","username":"jdoe","scope":"read write dolphin","sub":"Z5O3upPC88QrAjx00dis","aud":"https://protected.example.net/resource","iss":"https://server.example.com/","exp":1419356238,"iat":1419350238,"extension_field":"twenty-seven"}`,
		`{"active":false}`,
		`{"active":true,"aud":["a","b"],"groups":["g"],"roles":"r","amr":["pwd","mfa"],"scp":["x"],"exp":1.5e9,"nbf":null}`,
		`{"active":true,"oid":"o","tid":"t","azp":"c","acr":"1","token_type":"Bearer","typ":"Refresh"}`,
		`{"active":"true"}`, `{"active":true,"active":false}`, `[]`, `{}`, `{"active":true}x`, `{"exp":-1,"active":true}`,
		`{"active":true,"groups":[null]}`, `{"active":true,"exp":1e300}`, `{"active":true,"sub":"\ud800"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := parseIntrospection(body)
		if err != nil {
			if !errors.Is(err, ErrIdPUnavailable) || r != nil {
				t.Fatalf("err = %v, result %v; want only ErrIdPUnavailable", err, r != nil)
			}
			if len(body) > 80 && strings.Contains(err.Error(), string(body)) {
				t.Fatalf("error quotes the body: %v", err)
			}
			return
		}
		if !r.active && !reflectZero(&r.claims) {
			t.Fatalf("an inactive answer has claims: %+v", fields(&r.claims))
		}
		for _, tm := range []time.Time{r.claims.ExpiresAt, r.claims.IssuedAt, r.claims.NotBefore} {
			if !tm.IsZero() && tm.Unix() <= 0 {
				t.Fatalf("time %v from %q", tm, body)
			}
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
	})
}

func reflectZero(c *idbridge.Claims) bool {
	return string(mustJSON(fields(c))) == string(mustJSON(fields(&idbridge.Claims{})))
}

func benchIntrospector(b *testing.B, fns ...func(*IntrospectorOptions)) (*Introspector, *introspectionEndpoint) {
	clk := newFakeClock()
	clk.ns.Store(time.Now().UnixNano())
	e := newIntrospectionEndpoint(b, answer(activeAnswer(clk, map[string]any{
		"oid": "a1b2c3d4-0001-4a5b-8c6d-000000000001", "tid": "7d1c2b6e-4f0a-4c8e-9b3d-2a5f6e8c1d90",
		"groups": []string{"3f2a9c1e-0b7d-4e5a-8c6f-1d2e3f4a5b60"}, "roles": []string{"LoanViewer", "KYC_ReadOnly"},
		"scope": "Loans.Read", "amr": []string{"pwd", "mfa"}, "acr": "1", "azp": "lending-web",
	})))
	i := introspectorFor(b, e, nil, fns...)
	return i, e
}

// benchToken is shaped like a small JWT; opaque tokens are shorter.
var benchToken = strings.Repeat("eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9", 30)

// BenchmarkIntrospectorHit measures the hot path: an answer from the
// cache (SHA-256 of the token, one shard read lock, a clock read), for an
// opaque token and a JWT-sized one.
func BenchmarkIntrospectorHit(b *testing.B) {
	for _, tok := range []string{"2YotnFZFEjr1zCsicMWpAA2YotnFZFEjr1zCsicMWpAA", benchToken} {
		b.Run(fmt.Sprintf("%dB", len(tok)), func(b *testing.B) {
			i, _ := benchIntrospector(b)
			ctx := context.Background()
			if _, err := i.Validate(ctx, tok); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := i.Validate(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkIntrospectorHitParallel measures cache hits under contention.
func BenchmarkIntrospectorHitParallel(b *testing.B) {
	i, _ := benchIntrospector(b)
	ctx := context.Background()
	if _, err := i.Validate(ctx, benchToken); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := i.Validate(ctx, benchToken); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkIntrospectorMiss measures a full introspection against a
// loopback endpoint: request, response parsing and checks.
func BenchmarkIntrospectorMiss(b *testing.B) {
	i, _ := benchIntrospector(b, func(o *IntrospectorOptions) { o.CacheTTL = -1 })
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := i.Validate(ctx, benchToken); err != nil {
			b.Fatal(err)
		}
	}
}

// TestIntrospectorHitAllocatesNothing keeps the benchmark's promise.
func TestIntrospectorHitAllocatesNothing(t *testing.T) {
	clk := newFakeClock()
	e := newIntrospectionEndpoint(t, answer(activeAnswer(clk, nil)))
	i := introspectorFor(t, e, clk)
	ctx := context.Background()
	if _, err := i.Validate(ctx, benchToken); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = i.Validate(ctx, benchToken) }); n != 0 {
		t.Fatalf("%v allocations per cache hit, want 0", n)
	}
}

// TestIntrospectedClaimsGet: the claims of an introspection answer carry
// the answer, so Get returns extension members and an rbac claim condition
// matches them, as it does for a JWT.
func TestIntrospectedClaimsGet(t *testing.T) {
	const policy = `version: 1
issuers:
  - {name: idp, issuer: "` + testIssuer + `"}
roles:
  - {name: LoanViewer, permissions: [loan:read]}
mappings:
  - {id: dept, when: {claim: {name: department, equals: lending}}, grant: {roles: [LoanViewer]}}
`
	pol, err := rbac.ParsePolicy([]byte(policy))
	if err != nil {
		t.Fatal(err)
	}
	clk := newFakeClock()
	for _, tc := range []struct {
		department string
		allowed    bool
	}{{"lending", true}, {"hr", false}} {
		t.Run(tc.department, func(t *testing.T) {
			e := newIntrospectionEndpoint(t, answer(activeAnswer(clk, map[string]any{
				"department": tc.department, "xms_pdl": "EUR", "wids": "w1", "ext": map[string]any{"a": []int{1}},
			})))
			i := introspectorFor(t, e, clk)
			c, err := i.Validate(context.Background(), "opaque-token")
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range map[string]string{
				"department": strconv.Quote(tc.department), "xms_pdl": `"EUR"`, "ext": `{"a":[1]}`,
				"client_id": `"lending-web"`, "active": "true", "wids": `["w1"]`,
			} {
				if got, ok := c.Get(name); !ok || string(got) != want {
					t.Errorf("Get(%q) = %s, %v; want %s", name, got, ok, want)
				}
			}
			if c.Header.KeyID != "" || c.Header.Algorithm != "" || c.Header.Type != "" {
				t.Errorf("header accessors of an introspected token: %q %q %q", c.Header.KeyID, c.Header.Algorithm, c.Header.Type)
			}
			d := pol.Decide(c)
			if d.Allowed("loan:read") != tc.allowed {
				t.Errorf("department %q: Allowed(loan:read) = %v, want %v (%v)", tc.department, !tc.allowed, tc.allowed, d.Err())
			}
		})
	}
}

// TestParseIntrospectionTypes covers where an RFC 7662 answer and a JWT
// payload differ: dates (0 is absence, no negative or fractional seconds),
// list claims sent as one string, and the members jwks does not type.
func TestParseIntrospectionTypes(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		bad        bool
		check      func(t *testing.T, r *introspected)
	}{
		{name: "exp 0 is absent", body: `{"active":true,"exp":0,"iat":0.5}`, check: func(t *testing.T, r *introspected) {
			if !r.claims.ExpiresAt.IsZero() || !r.claims.IssuedAt.IsZero() {
				t.Errorf("exp %v iat %v, want absent", r.claims.ExpiresAt, r.claims.IssuedAt)
			}
		}},
		{name: "fractional seconds are cut", body: `{"active":true,"exp":1700000000.9}`, check: func(t *testing.T, r *introspected) {
			if !r.claims.ExpiresAt.Equal(time.Unix(1700000000, 0)) {
				t.Errorf("exp = %v", r.claims.ExpiresAt)
			}
		}},
		{name: "negative nbf", body: `{"active":true,"nbf":-5}`, bad: true},
		{name: "far exp", body: `{"active":true,"exp":1e13}`, bad: true},
		{name: "list claims as one string", body: `{"active":true, "roles" :	"r" ,"groups":"g","amr":["pwd"],"acrs":"c1","xms_cc":"cp1"}`, check: func(t *testing.T, r *introspected) {
			c := &r.claims
			if !slices.Equal(c.Roles, []string{"r"}) || !slices.Equal(c.Groups, []string{"g"}) || !slices.Equal(c.ACRS, []string{"c1"}) ||
				!slices.Equal(c.ClientCapabilities, []string{"cp1"}) || !slices.Equal(c.AMR, []string{"pwd"}) {
				t.Errorf("lists: %+v", fields(c))
			}
			if v, _ := c.Get("roles"); string(v) != `["r"]` {
				t.Errorf(`Get("roles") = %s`, v)
			}
		}},
		{name: "a list string twice", body: `{"active":true,"roles":"a","roles":"b"}`, bad: true},
		{name: "a list claim as a number", body: `{"active":true,"roles":1}`, bad: true},
		// idbridge's claim table: scp and scope are both the scopes, azp and
		// client_id both the client, so they must agree, as in a JWT.
		{name: "scp and scope that disagree", body: `{"active":true,"scp":"a","scope":"b c"}`, bad: true},
		{name: "scp and scope that agree", body: `{"active":true,"scp":"c b","scope":"b c"}`, check: func(t *testing.T, r *introspected) {
			if !r.claims.HasScope("b") || !r.claims.HasScope("c") || len(r.claims.Scopes) != 2 {
				t.Errorf("scopes = %q", r.claims.Scopes)
			}
		}},
		{name: "scp without scope", body: `{"active":true,"scp":["a"],"scope":null}`, check: func(t *testing.T, r *introspected) {
			if !slices.Equal(r.claims.Scopes, []string{"a"}) {
				t.Errorf("scopes = %q", r.claims.Scopes)
			}
		}},
		{name: "azp and client_id that disagree", body: `{"active":true,"azp":"a","client_id":"b"}`, bad: true},
		{name: "preferred_username wins over username", body: `{"active":true,"azp":"a","client_id":"a","username":"u","preferred_username":"p"}`, check: func(t *testing.T, r *introspected) {
			if r.claims.Client() != "a" || r.claims.PreferredUsername != "p" {
				t.Errorf("azp %q preferred_username %q", r.claims.AuthorizedParty, r.claims.PreferredUsername)
			}
		}},
		{name: "client_id and username fill in", body: `{"active":true,"client_id":"b","username":"u"}`, check: func(t *testing.T, r *introspected) {
			if r.claims.ClientID != "b" || r.claims.Client() != "b" || r.claims.AuthorizedParty != "" || r.claims.PreferredUsername != "u" {
				t.Errorf("client_id %q preferred_username %q", r.claims.ClientID, r.claims.PreferredUsername)
			}
		}},
		{name: "scope as an array, as a JWT may carry it", body: `{"active":true,"scope":["a"]}`, check: func(t *testing.T, r *introspected) {
			if !slices.Equal(r.claims.Scopes, []string{"a"}) {
				t.Errorf("scopes = %q", r.claims.Scopes)
			}
		}},
		{name: "client_id as a number", body: `{"active":true,"client_id":1}`, bad: true},
		{name: "token_type as a number", body: `{"active":true,"token_type":1}`, bad: true},
		{name: "active null", body: `{"active":null}`, bad: true},
		{name: "an extension twice", body: `{"active":true,"department":"a","department":"b"}`, bad: true},
		{name: "a typed claim in another case", body: `{"active":true,"exp":1700000000,"EXP":1}`, bad: true},
		{name: "inactive keeps nothing", body: `{"active":false,"sub":"x","department":"a"}`, check: func(t *testing.T, r *introspected) {
			if r.active || !reflectZero(&r.claims) {
				t.Errorf("inactive answer kept claims")
			}
			if _, ok := r.claims.Get("sub"); ok {
				t.Errorf("inactive answer kept its payload")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := parseIntrospection([]byte(tc.body))
			if tc.bad {
				if !errors.Is(err, ErrIdPUnavailable) || r != nil {
					t.Fatalf("err = %v, want ErrIdPUnavailable", err)
				}
				if strings.Contains(err.Error(), tc.body) {
					t.Errorf("the error quotes the body: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, r)
		})
	}
}
