package idp_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/idbridge/idbridge/integration/idp"
)

// introspect posts an RFC 7662 request and returns the status and the
// decoded answer.
func introspect(t *testing.T, p *idp.Provider, token string, form url.Values, user, pass string) (int, map[string]any) {
	t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("token", token)
	req, err := http.NewRequestWithContext(testContext(t), http.MethodPost, p.IntrospectionURL(), strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	resp, err := p.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("answer is not JSON: %v", err)
		}
	}
	return resp.StatusCode, m
}

// activeFor introspects token as lending-api and fails unless it is active.
func activeFor(t *testing.T, p *idp.Provider, token string) map[string]any {
	t.Helper()
	status, m := introspect(t, p, token, nil, idp.ClientLendingAPI, idp.LendingAPISecret)
	if status != http.StatusOK || m["active"] != true {
		t.Fatalf("HTTP %d, answer %v; want active", status, m)
	}
	return m
}

// inactive reports whether token is inactive, and that the answer says
// nothing else (RFC 7662 section 2.2).
func inactive(t *testing.T, p *idp.Provider, token string) bool {
	t.Helper()
	status, m := introspect(t, p, token, nil, idp.ClientLendingAPI, idp.LendingAPISecret)
	if status != http.StatusOK {
		t.Fatalf("HTTP %d", status)
	}
	if m["active"] == false && len(m) != 1 {
		t.Errorf("inactive answer carries more: %v", m)
	}
	return m["active"] == false
}

func TestIntrospection(t *testing.T) {
	p := idp.StartTest(t)
	app := mustToken(t, clientCredentials(t, p, idp.ClientAnalyticsSvc, idp.AnalyticsSvcSecret, url.Values{"scope": {idp.ResourceLending + "/.default"}}))
	user := signIn(t, p, lendingWeb(p, "openid", "offline_access", idp.ResourceLending+"/Loans.Read"), idp.UserAmit, idp.AmitPassword)
	_, appClaims := mustParse(t, p, app.AccessToken)
	_, userClaims := mustParse(t, p, user.AccessToken)

	tests := []struct {
		name  string
		token string
		want  map[string]any
		lacks []string
	}{
		{
			name: "app token", token: app.AccessToken,
			want: map[string]any{
				"token_type": "Bearer", "iss": p.Issuer(), "client_id": idp.ClientAnalyticsSvc, "azp": idp.ClientAnalyticsSvc,
				"aud": idp.LendingAppID, "sub": appClaims["sub"], "jti": appClaims["jti"], "exp": appClaims["exp"],
				"iat": appClaims["iat"], "nbf": appClaims["nbf"], "tid": idp.ScenarioTenantID, "oid": appClaims["oid"],
				"roles": []any{idp.RoleAnalyticsRead}, "idtyp": "app", "ver": "2.0",
			},
			lacks: []string{"username", "scope", "groups"},
		},
		{
			name: "user token", token: user.AccessToken,
			want: map[string]any{
				"token_type": "Bearer", "client_id": idp.ClientLendingWeb, "azp": idp.ClientLendingWeb, "aud": idp.LendingAppID,
				"sub": userClaims["sub"], "oid": idp.AmitObjectID, "username": "amit.r@bank.example", "scope": "Loans.Read",
				"scp": "Loans.Read", "groups": []any{idp.GroupLendingRM}, "roles": []any{idp.RoleLoanViewer, idp.RoleKYCReadOnly},
				"amr": []any{"pwd", "mfa"}, "idtyp": "user", "exp": userClaims["exp"],
			},
		},
		{
			name: "refresh token", token: user.RefreshToken,
			want: map[string]any{
				"token_type": "refresh_token", "client_id": idp.ClientLendingWeb, "iss": p.Issuer(), "aud": idp.LendingAppID,
				"sub": userClaims["sub"], "username": "amit.r@bank.example",
			},
			lacks: []string{"groups", "roles", "jti"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := activeFor(t, p, tt.token)
			for k, want := range tt.want {
				got := m[k]
				if k == "aud" {
					got = strs(got)
					want = []string{want.(string)}
				}
				if !jsonEqual(got, want) {
					t.Errorf("%s = %v, want %v", k, got, want)
				}
			}
			for _, k := range tt.lacks {
				if _, ok := m[k]; ok {
					t.Errorf("answer has %s: %v", k, m[k])
				}
			}
			if _, ok := m["exp"].(float64); !ok {
				t.Errorf("exp = %v, want a NumericDate", m["exp"])
			}
		})
	}
	idToken, _ := user.Extra("id_token").(string)
	if idToken == "" {
		t.Fatal("no ID token")
	}
	for _, tok := range []string{"not-a-token", app.AccessToken + "x", idToken} {
		if !inactive(t, p, tok) {
			t.Errorf("token %.12s… is active", tok)
		}
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestIntrospectionNeedsAConfidentialClient(t *testing.T) {
	p := idp.StartTest(t)
	app := mustToken(t, clientCredentials(t, p, idp.ClientAnalyticsSvc, idp.AnalyticsSvcSecret, url.Values{"scope": {idp.ResourceLending + "/.default"}}))
	cbs := idp.CBSBatchKey()
	now := time.Now()
	assertion := sign(t, jwt.SigningMethodRS256, cbs.Key, cbs.KID, jwt.MapClaims{
		"iss": idp.ClientCBSBatch, "sub": idp.ClientCBSBatch, "aud": p.TokenURL(),
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(), "jti": uuid.NewString(),
	})
	tests := []struct {
		name       string
		form       url.Values
		user, pass string
		ok         bool
	}{
		{name: "client_secret_basic", user: idp.ClientLendingAPI, pass: idp.LendingAPISecret, ok: true},
		{name: "client_secret_post", form: url.Values{"client_id": {idp.ClientLendingAPI}, "client_secret": {idp.LendingAPISecret}}, ok: true},
		{name: "private_key_jwt", form: url.Values{"client_assertion_type": {assertionType}, "client_assertion": {assertion}}, ok: true},
		{name: "wrong secret", user: idp.ClientLendingAPI, pass: "nope"},
		{name: "no credentials"},
		{name: "public client", form: url.Values{"client_id": {idp.ClientBankCLI}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, m := introspect(t, p, app.AccessToken, tt.form, tt.user, tt.pass)
			if tt.ok != (status == http.StatusOK && m["active"] == true) {
				t.Fatalf("HTTP %d, answer %v; want accepted %v", status, m, tt.ok)
			}
			if !tt.ok && status < 400 {
				t.Fatalf("HTTP %d, want an error status", status)
			}
		})
	}
}

// TestIntrospectionSeesLeaversRevocationAndExpiry: a disabled user's
// tokens, a revoked or rotated refresh token and an expired access token
// are inactive at once.
func TestIntrospectionSeesLeaversRevocationAndExpiry(t *testing.T) {
	clk := &fakeClock{}
	p := idp.StartTest(t, func(o *idp.Options) { o.Now, o.AccessTokenLifetime = clk.Now, 10*time.Minute })
	cfg := lendingWeb(p, "openid", "offline_access", idp.ResourceLending+"/Loans.Read")
	amit := signIn(t, p, cfg, idp.UserAmit, idp.AmitPassword)

	if err := p.DisableUser(idp.UserAmit); err != nil {
		t.Fatal(err)
	}
	if !inactive(t, p, amit.AccessToken) || !inactive(t, p, amit.RefreshToken) {
		t.Fatal("a disabled user's tokens are active")
	}
	if err := p.EnableUser(idp.UserAmit); err != nil {
		t.Fatal(err)
	}
	activeFor(t, p, amit.AccessToken)
	activeFor(t, p, amit.RefreshToken)

	// RFC 7009 revocation of the refresh token.
	revoke := url.Values{"token": {amit.RefreshToken}, "token_type_hint": {"refresh_token"}}
	req, _ := http.NewRequestWithContext(testContext(t), http.MethodPost, p.RevocationURL(), strings.NewReader(revoke.Encode()))
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
	if !inactive(t, p, amit.RefreshToken) {
		t.Fatal("a revoked refresh token is active")
	}

	// Rotation: the used refresh token dies, its successor lives.
	priya := signIn(t, p, cfg, idp.UserPriya, idp.PriyaPassword)
	next := mustToken(t, postToken(t, p, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {priya.RefreshToken}}, idp.ClientLendingWeb, idp.LendingWebSecret))
	if !inactive(t, p, priya.RefreshToken) {
		t.Fatal("a rotated refresh token is active")
	}
	activeFor(t, p, next.RefreshToken)

	// Expiry by the provider's clock.
	clk.Advance(10 * time.Minute)
	if !inactive(t, p, next.AccessToken) {
		t.Fatal("an expired access token is active")
	}
}
