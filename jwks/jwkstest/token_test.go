package jwkstest_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/jwkstest"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/rbac"
	"github.com/idbridge/idbridge/token"
)

const daemon, daemonSecret = "7e2c4a6b-8d1f-4e3a-9b5c-0d2e4f6a8b1c", "s3cret+/="

func entraServer(t *testing.T) *jwkstest.Server {
	t.Helper()
	s := jwkstest.Start(t, func(o *jwkstest.Options) {
		o.Entra = true
		o.APIs = map[string]string{"api://lending": jwkstest.APIClientID}
	})
	s.AddClient(jwkstest.Client{ID: daemon, Secret: daemonSecret, Roles: []string{"Loans.Batch"}})
	s.AddClient(jwkstest.Client{ID: jwkstest.ClientAppID}) // a public client
	return s
}

func post(t *testing.T, s *jwkstest.Server, form url.Values, user, pass string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.TokenURL(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	return resp.StatusCode, resp.Header, body
}

// TestTokenEndpointErrors: RFC 6749 section 5.2 answers for each bad request.
func TestTokenEndpointErrors(t *testing.T) {
	s := entraServer(t)
	cc := url.Values{"grant_type": {"client_credentials"}, "scope": {"api://lending/.default"}}
	with := func(v url.Values, kv ...string) url.Values {
		out := url.Values{}
		for k, vs := range v {
			out[k] = slices.Clone(vs)
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = append(out[kv[i]], kv[i+1])
		}
		return out
	}
	tests := []struct {
		name       string
		form       url.Values
		user, pass string
		status     int
		code       string
	}{
		{"wrong secret", cc, daemon, "nope", 401, "invalid_client"},
		{"unknown client", cc, "99999999-9999-4999-8999-999999999999", "x", 401, "invalid_client"},
		{"no client", cc, "", "", 401, "invalid_client"},
		{"secret twice", with(cc, "client_secret", daemonSecret), daemon, daemonSecret, 401, "invalid_client"},
		{"wrong post secret", with(cc, "client_id", daemon, "client_secret", "nope"), "", "", 401, "invalid_client"},
		{"no grant type", url.Values{"scope": {"api://lending/.default"}}, daemon, daemonSecret, 400, "invalid_request"},
		{"password grant", with(url.Values{"grant_type": {"password"}}), daemon, daemonSecret, 400, "unsupported_grant_type"},
		{"scope without .default", with(url.Values{"grant_type": {"client_credentials"}, "scope": {"api://lending/Loans.Read"}}), daemon, daemonSecret, 400, "invalid_scope"},
		{"two resources", with(url.Values{"grant_type": {"client_credentials"}, "scope": {"api://a/.default api://b/.default"}}), daemon, daemonSecret, 400, "invalid_scope"},
		{"repeated parameter", with(cc, "scope", "api://lending/.default"), daemon, daemonSecret, 400, "invalid_request"},
		{"public client credentials", with(cc, "client_id", jwkstest.ClientAppID), "", "", 400, "unauthorized_client"},
		{"unknown refresh token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"nope"}, "client_id": {jwkstest.ClientAppID}}, "", "", 400, "invalid_grant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, h, body := post(t, s, tt.form, tt.user, tt.pass)
			if status != tt.status || body["error"] != tt.code || body["error_description"] == "" || body["access_token"] != nil {
				t.Fatalf("%d %v, want %d %s", status, body, tt.status, tt.code)
			}
			if h.Get("Cache-Control") != "no-store" || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
				t.Fatalf("headers %v", h)
			}
			if (tt.user != "" && status == 401) != (h.Get("WWW-Authenticate") != "") {
				t.Fatalf("WWW-Authenticate %q after basic auth %v", h.Get("WWW-Authenticate"), tt.user != "")
			}
		})
	}
	resp, err := s.Client().Get(s.TokenURL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodPost {
		t.Fatalf("GET: %d %v", resp.StatusCode, resp.Header)
	}
}

// TestTokenEndpointClientCredentials: the SDK's client and golang.org/x/oauth2
// get app-only tokens that the API's validator accepts, found through the
// discovery document, which lists only endpoints the server serves.
func TestTokenEndpointClientCredentials(t *testing.T) {
	s := entraServer(t)
	ctx := context.Background()
	ep, err := token.Discover(ctx, s.EntraIssuer(jwkstest.TenantID), func(o *token.DiscoverOptions) { o.HTTPClient = s.Client() })
	if err != nil {
		t.Fatal(err)
	}
	if ep.TokenURL != s.TokenURL() || ep.AuthURL != "" || ep.DeviceAuthURL != "" {
		t.Fatalf("discovered %+v", ep)
	}
	for path, want := range map[string]int{"/authorize": 404, "/" + jwkstest.TenantID + "/oauth2/v2.0/authorize": 404} {
		if resp, err := s.Client().Get(s.URL + path); err != nil || resp.StatusCode != want {
			t.Fatalf("GET %s: %v %v", path, resp, err)
		} else {
			resp.Body.Close()
		}
	}
	v, err := jwks.NewValidator(s.EntraAPI(jwkstest.TenantID, jwkstest.APIClientID))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()

	sdk, err := token.NewClientCredentials(token.Client{ID: daemon, TokenURL: ep.TokenURL, Auth: token.ClientSecretBasic(daemonSecret)},
		[]string{"api://lending/.default"}, func(o *token.Options) { o.HTTPClient = s.Client() })
	if err != nil {
		t.Fatal(err)
	}
	tok, err := sdk.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	x := clientcredentials.Config{ClientID: daemon, ClientSecret: daemonSecret, TokenURL: ep.TokenURL,
		Scopes: []string{"api://" + jwkstest.APIClientID + "/.default"}, AuthStyle: oauth2.AuthStyleInParams}
	xtok, err := x.Token(context.WithValue(ctx, oauth2.HTTPClient, s.Client()))
	if err != nil {
		t.Fatal(err)
	}
	if xtok.TokenType != "Bearer" || xtok.Expiry.IsZero() || xtok.RefreshToken != "" {
		t.Fatalf("oauth2 token %+v", xtok)
	}
	for _, at := range []string{tok.AccessToken, xtok.AccessToken} {
		c, err := v.Validate(ctx, at)
		if err != nil {
			t.Fatal(err)
		}
		if c.IDType != "app" || c.Client() != daemon || !slices.Equal(c.Roles, []string{"Loans.Batch"}) || len(c.Scopes) != 0 ||
			!slices.Equal(c.Audience, []string{jwkstest.APIClientID}) || c.Version != "2.0" || c.ObjectID == "" || c.Subject != c.ObjectID {
			t.Fatalf("claims %+v", c)
		}
	}
	if n := s.Requests("token"); n != 2 {
		t.Fatalf("%d token requests", n)
	}
	// Without Entra: RFC 9068 tokens (typ at+jwt, client_id, aud the resource).
	g := jwkstest.Start(t)
	g.AddClient(jwkstest.Client{ID: "svc", Secret: "pw", Roles: []string{"r"}})
	status, _, body := post(t, g, url.Values{"grant_type": {"client_credentials"}, "scope": {"https://api.example/.default"}}, "svc", "pw")
	if status != 200 || body["token_type"] != "Bearer" {
		t.Fatalf("%d %v", status, body)
	}
	gv, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: g.Issuer()}}
		o.Audiences, o.Algorithms, o.Types = []string{"https://api.example"}, []string{"RS256"}, []string{"at+jwt"}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer gv.Close()
	if c, err := gv.Validate(ctx, body["access_token"].(string)); err != nil || c.Subject != "svc" {
		t.Fatalf("RFC 9068 token: %v %v", c, err)
	}
}

// TestTokenEndpointRefresh: a refresh token from RefreshToken is redeemed by
// golang.org/x/oauth2 (rotated: the old one then answers invalid_grant),
// optionally for another resource.
func TestTokenEndpointRefresh(t *testing.T) {
	s := entraServer(t)
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, s.Client())
	rt := s.RefreshToken(jwkstest.EntraToken{Scopes: []string{"Loans.Read"}, Groups: []string{"g1"}})
	cfg := &oauth2.Config{ClientID: jwkstest.ClientAppID, Endpoint: oauth2.Endpoint{TokenURL: s.TokenURL(), AuthStyle: oauth2.AuthStyleInParams}}
	tok, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: rt}).Token()
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" || tok.RefreshToken == rt || tok.Extra("scope") != "Loans.Read" {
		t.Fatalf("refresh answer %+v", tok)
	}
	v, err := jwks.NewValidator(s.EntraAPI(jwkstest.TenantID, jwkstest.APIClientID))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	c, err := v.Validate(context.Background(), tok.AccessToken)
	if err != nil || c.ObjectID != jwkstest.UserObjectID || !slices.Equal(c.Scopes, []string{"Loans.Read"}) || c.IDType == "app" {
		t.Fatalf("refreshed token: %+v %v", c, err)
	}
	_, err = cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: rt}).Token()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Fatalf("reused refresh token: %v", err)
	}
	// Another resource by scope.
	const reports = "5d7f9b1c-3e5a-4c7e-9a1b-3c5d7e9f1a2b"
	status, _, body := post(t, s, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken},
		"client_id": {jwkstest.ClientAppID}, "scope": {"openid offline_access api://" + reports + "/Reports.Read"}}, "", "")
	if status != 200 {
		t.Fatalf("%d %v", status, body)
	}
	c, err = v.Validate(context.Background(), body["access_token"].(string))
	if !errors.Is(err, jwks.ErrAudience) {
		t.Fatalf("token for another API accepted by this one: %v %v", c, err)
	}
	// A refresh token is bound to its client.
	other := s.RefreshToken(jwkstest.EntraToken{})
	if status, _, body := post(t, s, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {other}}, daemon, daemonSecret); status != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("another client's refresh token: %d %v", status, body)
	}
}

// TestPolicy: a policy file written for the production tenant, pointed at
// the test server, allows a Lending_RM member and denies everyone else.
func TestPolicy(t *testing.T) {
	s := jwkstest.Start(t, func(o *jwkstest.Options) { o.Entra = true })
	policy, err := rbac.NewPolicy(s.Policy(t, "testdata/policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := jwks.NewValidator(s.EntraAPI(jwkstest.TenantID, jwkstest.APIClientID))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	guard, err := middleware.New(v, func(o *middleware.Options) { o.Policy = policy })
	if err != nil {
		t.Fatal(err)
	}
	h := guard.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), middleware.Require("loan:read"))
	for groups, want := range map[string]int{"4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13": 200, "": 403} {
		req := httptest.NewRequest(http.MethodGet, "/loans/1", nil)
		req.Header.Set("Authorization", "Bearer "+s.EntraAccessToken(jwkstest.EntraToken{Groups: strings.Fields(groups), Scopes: []string{"Loans.Read"}}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("groups %q: %d %s, want %d", groups, rec.Code, rec.Header().Get("WWW-Authenticate"), want)
		}
	}

	dir := t.TempDir()
	src := dir + "/bank.yaml"
	if err := os.WriteFile(src, []byte("a: https://login.example/t/v2.0\nb: https://login.example/t/v2.0\nc: https://sts.example/t/\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	copied, err := jwkstest.PolicyFile(src, out, "https://login.example/t/v2.0", "https://127.0.0.1:1", "https://sts.example/t/", "https://127.0.0.1:2/")
	if got, _ := os.ReadFile(copied); err != nil || string(got) != "a: https://127.0.0.1:1\nb: https://127.0.0.1:1\nc: https://127.0.0.1:2/\n" {
		t.Fatalf("copy %q: %q, %v", copied, got, err)
	}
	if _, err := jwkstest.PolicyFile("testdata/policy.yaml", dir, "https://idp.example", "x"); err == nil || !strings.Contains(err.Error(), `does not name the issuer "https://idp.example"`) {
		t.Fatalf("missing issuer: %v", err)
	}
	if _, err := jwkstest.PolicyFile("testdata/policy.yaml", dir, "odd"); err == nil {
		t.Fatal("odd pairs accepted")
	}
	if _, err := jwkstest.PolicyFile("testdata/missing.yaml", dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}
