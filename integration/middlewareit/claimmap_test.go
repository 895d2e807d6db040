package middlewareit

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/jwkstest"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/rbac"
	"github.com/idbridge/idbridge/token"
)

// rfc9068Policy maps an RFC 9068 token by its scope and its client_id
// (claim condition): both are read through idbridge's claim table.
const rfc9068Policy = `version: 1
issuers:
  - {name: as, issuer: %q}
roles:
  - {name: ProfileReader, permissions: [profile:read]}
  - {name: Batch, permissions: [orders:batch]}
mappings:
  - id: profile
    when: {issuer: as, scope: profile}
    grant: {roles: [ProfileReader]}
  - id: batch
    when: {issuer: as, claim: {name: client_id, equals: svc-1}}
    grant: {roles: [Batch]}
`

// TestRFC9068TokenOneAnswer: one RFC 9068 access token (typ at+jwt, scope,
// client_id) gives the same claims, the same rbac decision and the same
// HTTP answers whether the API validates it as a JWT (jwks.Validator) or
// asks the authorization server (token.Introspector, RFC 7662).
func TestRFC9068TokenOneAnswer(t *testing.T) {
	as := jwkstest.Start(t)
	const api, secret = "https://api.example/orders", "s3cr3t"
	tok := as.MintWithHeader(map[string]any{"typ": "at+jwt"}, map[string]any{
		"aud": api, "sub": "u-1", "client_id": "svc-1", "scope": "profile orders.read", "jti": "j-1",
	})
	// The authorization server's introspection endpoint: RFC 7662 answers
	// with the members of the token it issued (scope, client_id, ...).
	intro := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id, pw, ok := r.BasicAuth(); !ok || id != "orders-api" || pw != secret || r.PostFormValue("token") != tok {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"active":false}`)
			return
		}
		payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
		var m map[string]any
		_ = json.Unmarshal(payload, &m)
		m["active"], m["token_type"] = true, "Bearer"
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(m)
	}))
	t.Cleanup(intro.Close)

	v, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: as.Issuer(), JWKSURL: as.JWKSURL()}}
		o.Audiences = []string{api}
		o.Algorithms = []string{"RS256"}
		o.HTTPClient = as.Client()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	in, err := token.NewIntrospector(token.Client{ID: "orders-api", Auth: token.ClientSecretBasic(secret)}, intro.URL, func(o *token.IntrospectorOptions) {
		o.Issuers = []string{as.Issuer()}
		o.Audiences = []string{api}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	pol, err := rbac.ParsePolicy(fmt.Appendf(nil, rfc9068Policy, as.Issuer()))
	if err != nil {
		t.Fatal(err)
	}

	ctx := t.Context()
	cv, err := v.Validate(ctx, tok)
	if err != nil {
		t.Fatalf("Validator: %v", err)
	}
	ci, err := in.Validate(ctx, tok)
	if err != nil {
		t.Fatalf("Introspector: %v", err)
	}
	for _, c := range []*idbridge.Claims{cv, ci} {
		if !slices.Equal(c.Scopes, []string{"profile", "orders.read"}) || c.Client() != "svc-1" || c.ClientID != "svc-1" || c.AuthorizedParty != "" {
			t.Fatalf("claims: scopes %q client %q client_id %q azp %q", c.Scopes, c.Client(), c.ClientID, c.AuthorizedParty)
		}
	}
	dv, di := pol.Decide(cv), pol.Decide(ci)
	if !dv.OK() || !slices.Equal(dv.Roles(), []string{"Batch", "ProfileReader"}) && !slices.Equal(dv.Roles(), []string{"ProfileReader", "Batch"}) {
		t.Fatalf("Validator's decision: %v roles %v", dv.Err(), dv.Roles())
	}
	if di.OK() != dv.OK() || !slices.Equal(di.Roles(), dv.Roles()) {
		t.Fatalf("decisions differ: %v %v / %v %v", dv.OK(), dv.Roles(), di.OK(), di.Roles())
	}

	for name, tv := range map[string]middleware.Validator{"validator": v, "introspector": in} {
		t.Run(name, func(t *testing.T) {
			g, err := middleware.New(tv, func(o *middleware.Options) { o.Policy = pol })
			if err != nil {
				t.Fatal(err)
			}
			ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
			mux := http.NewServeMux()
			mux.Handle("GET /profile", g.Handler(ok, middleware.RequireScope("profile")))
			mux.Handle("GET /batch", g.Handler(ok, middleware.Require("orders:batch")))
			srv := httptest.NewServer(mux)
			defer srv.Close()
			for path, want := range map[string]int{"/profile": 200, "/batch": 200} {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != want {
					t.Errorf("GET %s = %d, want %d", path, resp.StatusCode, want)
				}
			}
		})
	}
}
