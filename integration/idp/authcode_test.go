package idp_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/idbridge/idbridge/integration/idp"
)

func lendingWeb(p *idp.Provider, scopes ...string) *oauth2.Config {
	return &oauth2.Config{
		ClientID: idp.ClientLendingWeb, ClientSecret: idp.LendingWebSecret,
		Endpoint: p.Endpoint(), RedirectURL: idp.ScenarioRedirectURI, Scopes: scopes,
	}
}

// signIn runs the code flow with PKCE for user and returns the token.
func signIn(t *testing.T, p *idp.Provider, cfg *oauth2.Config, user, password string) *oauth2.Token {
	t.Helper()
	ctx := context.WithValue(testContext(t), oauth2.HTTPClient, p.HTTPClient())
	verifier := oauth2.GenerateVerifier()
	redirect, err := p.Login(ctx, cfg.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", "nonce-1")), user, password)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	if redirect.Query().Get("state") != "state-1" || redirect.Query().Get("code") == "" {
		t.Fatalf("redirect lacks code or state")
	}
	if !strings.HasPrefix(redirect.String(), idp.ScenarioRedirectURI+"?") {
		t.Fatalf("redirect is not to the redirect URI")
	}
	tok, err := cfg.Exchange(ctx, redirect.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return tok
}

func TestAuthCodePKCE(t *testing.T) {
	p := idp.StartTest(t)
	cfg := lendingWeb(p, "openid", "profile", "email", "offline_access", idp.ResourceLending+"/Loans.Read")
	tok := signIn(t, p, cfg, idp.UserAmit, idp.AmitPassword)
	if tok.RefreshToken == "" {
		t.Error("no refresh token for offline_access")
	}

	h, c := mustParse(t, p, tok.AccessToken)
	if h["typ"] != "JWT" {
		t.Errorf("typ %v", h["typ"])
	}
	if aud := audOf(t, c); !slices.Equal(aud, []string{idp.LendingAppID}) {
		t.Errorf("access token aud %v, want [%s]", aud, idp.LendingAppID)
	}
	want := map[string]any{
		"tid": idp.ScenarioTenantID, "oid": idp.AmitObjectID, "sub": idp.AmitObjectID, "azp": idp.ClientLendingWeb,
		"scp": "Loans.Read", "ver": "2.0", "idtyp": "user", "name": "Amit R",
		"preferred_username": "amit.r@bank.example", "acr": "1",
	}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("access token %s = %v, want %v", k, c[k], v)
		}
	}
	if g := strs(c["groups"]); !slices.Equal(g, []string{idp.GroupLendingRM}) {
		t.Errorf("groups %v", g)
	}
	if r := strs(c["roles"]); !slices.Equal(r, []string{idp.RoleLoanViewer, idp.RoleKYCReadOnly}) {
		t.Errorf("roles %v", r)
	}
	if a := strs(c["amr"]); !slices.Equal(a, []string{"pwd", "mfa"}) {
		t.Errorf("amr %v", a)
	}

	idToken, _ := tok.Extra("id_token").(string)
	_, ic := mustParse(t, p, idToken)
	if aud := audOf(t, ic); !slices.Equal(aud, []string{idp.ClientLendingWeb}) {
		t.Errorf("id token aud %v, want the client", aud)
	}
	if ic["nonce"] != "nonce-1" || ic["oid"] != idp.AmitObjectID || ic["tid"] != idp.ScenarioTenantID || ic["name"] != "Amit R" ||
		ic["email"] != "amit.r@bank.example" || ic["at_hash"] == nil || ic["azp"] != idp.ClientLendingWeb {
		t.Errorf("id token claims %v", ic)
	}
}

func TestAuthCodeWithoutResource(t *testing.T) {
	p := idp.StartTest(t)
	tok := signIn(t, p, lendingWeb(p, "openid", "profile"), idp.UserPriya, idp.PriyaPassword)
	_, c := mustParse(t, p, tok.AccessToken)
	if aud := audOf(t, c); !slices.Equal(aud, []string{idp.ClientLendingWeb}) || c["scp"] != "openid profile" {
		t.Errorf("aud %v scp %v, want the client and the OpenID scopes", aud, c["scp"])
	}
	if tok.RefreshToken != "" {
		t.Error("refresh token without offline_access")
	}
	if a := strs(c["amr"]); !slices.Equal(a, []string{"pwd"}) {
		t.Errorf("amr %v", a)
	}
}

func TestResourceParameter(t *testing.T) {
	p := idp.StartTest(t)
	cfg := lendingWeb(p, "openid")
	ctx := context.WithValue(testContext(t), oauth2.HTTPClient, p.HTTPClient())
	v := oauth2.GenerateVerifier()
	u := cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("resource", idp.ResourceCBS))
	redirect, err := p.Login(ctx, u, idp.UserAmit, idp.AmitPassword)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cfg.Exchange(ctx, redirect.Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	_, c := mustParse(t, p, tok.AccessToken)
	if aud := audOf(t, c); !slices.Equal(aud, []string{idp.CBSAppID}) || c["scp"] != "user_impersonation" {
		t.Errorf("aud %v scp %v", aud, c["scp"])
	}
}

func TestLoginFailures(t *testing.T) {
	p := idp.StartTest(t)
	cfg := lendingWeb(p, "openid")
	pkce := oauth2.S256ChallengeOption(oauth2.GenerateVerifier())
	cli := &oauth2.Config{ClientID: idp.ClientBankCLI, Endpoint: p.Endpoint(), RedirectURL: idp.ScenarioRedirectURI, Scopes: []string{"openid"}}
	tests := []struct {
		name     string
		url      string
		user     string
		password string
		want     error
		wantText string
	}{
		{"wrong password", cfg.AuthCodeURL("s", pkce), idp.UserAmit, "wrong", idp.ErrInvalidCredentials, ""},
		{"unknown user", cfg.AuthCodeURL("s", pkce), "mallory", "x", idp.ErrInvalidCredentials, ""},
		{"leaver", cfg.AuthCodeURL("s", pkce), idp.UserLeo, idp.LeoPassword, idp.ErrUserDisabled, ""},
		{"public client without PKCE", cli.AuthCodeURL("s"), idp.UserAmit, idp.AmitPassword, idp.ErrAuthorize, "invalid_request"},
		{"unknown redirect", strings.Replace(cfg.AuthCodeURL("s", pkce), url.QueryEscape(idp.ScenarioRedirectURI), url.QueryEscape("http://127.0.0.1/evil"), 1),
			idp.UserAmit, idp.AmitPassword, idp.ErrUnexpectedResponse, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.Login(testContext(t), tc.url, tc.user, tc.password)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.wantText) {
				t.Fatalf("Login = %v, want %v containing %q", err, tc.want, tc.wantText)
			}
			if strings.Contains(err.Error(), tc.password) {
				t.Fatal("error contains the password")
			}
		})
	}
}

func TestCodeRedemption(t *testing.T) {
	p := idp.StartTest(t)
	cfg := lendingWeb(p, "openid")
	login := func(t *testing.T) (code, verifier string) {
		verifier = oauth2.GenerateVerifier()
		redirect, err := p.Login(testContext(t), cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), idp.UserAmit, idp.AmitPassword)
		if err != nil {
			t.Fatal(err)
		}
		return redirect.Query().Get("code"), verifier
	}
	exchange := func(t *testing.T, code, verifier, redirectURI string) tokenResponse {
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}
		if verifier != "" {
			form.Set("code_verifier", verifier)
		}
		return postToken(t, p, form, idp.ClientLendingWeb, idp.LendingWebSecret)
	}
	t.Run("missing verifier", func(t *testing.T) {
		code, _ := login(t)
		wantError(t, exchange(t, code, "", idp.ScenarioRedirectURI), http.StatusBadRequest, "invalid_request")
	})
	t.Run("wrong verifier", func(t *testing.T) {
		code, _ := login(t)
		wantError(t, exchange(t, code, oauth2.GenerateVerifier(), idp.ScenarioRedirectURI), http.StatusBadRequest, "invalid_grant")
	})
	t.Run("wrong redirect_uri", func(t *testing.T) {
		code, v := login(t)
		wantError(t, exchange(t, code, v, "http://127.0.0.1/other"), http.StatusBadRequest, "invalid_grant")
	})
	t.Run("code used twice", func(t *testing.T) {
		code, v := login(t)
		mustToken(t, exchange(t, code, v, idp.ScenarioRedirectURI))
		wantError(t, exchange(t, code, v, idp.ScenarioRedirectURI), http.StatusBadRequest, "invalid_grant")
	})
	t.Run("another client", func(t *testing.T) {
		code, v := login(t)
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {idp.ScenarioRedirectURI},
			"code_verifier": {v}, "client_id": {idp.ClientBankCLI}}
		wantError(t, postToken(t, p, form, "", ""), http.StatusBadRequest, "invalid_grant")
	})
}

func TestRefreshRotation(t *testing.T) {
	p := idp.StartTest(t)
	cfg := lendingWeb(p, "openid", "offline_access", idp.ResourceLending+"/.default")
	first := signIn(t, p, cfg, idp.UserAmit, idp.AmitPassword).RefreshToken
	refresh := func(rt string) tokenResponse {
		return postToken(t, p, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, idp.ClientLendingWeb, idp.LendingWebSecret)
	}

	second := mustToken(t, refresh(first))
	if second.RefreshToken == "" || second.RefreshToken == first {
		t.Fatal("refresh did not rotate the refresh token")
	}
	_, c := mustParse(t, p, second.AccessToken)
	if aud := audOf(t, c); !slices.Equal(aud, []string{idp.LendingAppID}) || c["scp"] != "user_impersonation" || c["oid"] != idp.AmitObjectID {
		t.Errorf("refreshed claims aud %v scp %v oid %v", aud, c["scp"], c["oid"])
	}
	if second.IDToken == "" {
		t.Error("no ID token on refresh with openid")
	}

	wantError(t, refresh(first), http.StatusBadRequest, "invalid_grant") // reuse of a rotated token
	wantError(t, postToken(t, p, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {second.RefreshToken}},
		idp.ClientBankCLI, ""), http.StatusBadRequest, "invalid_grant") // another client

	// A mover's next token shows the new groups.
	if err := p.SetGroups(idp.UserAmit, []string{idp.GroupCBSViewOnly, idp.GroupAnalyticsReadOnly}); err != nil {
		t.Fatal(err)
	}
	third := mustToken(t, refresh(second.RefreshToken))
	_, c = mustParse(t, p, third.AccessToken)
	if g := strs(c["groups"]); !slices.Equal(g, []string{idp.GroupCBSViewOnly, idp.GroupAnalyticsReadOnly}) {
		t.Errorf("groups after move %v", g)
	}

	// A leaver can no longer refresh.
	if err := p.DisableUser(idp.UserAmit); err != nil {
		t.Fatal(err)
	}
	wantError(t, refresh(third.RefreshToken), http.StatusBadRequest, "invalid_grant")
	if _, err := p.Login(testContext(t), cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())), idp.UserAmit, idp.AmitPassword); !errors.Is(err, idp.ErrUserDisabled) {
		t.Errorf("leaver login = %v, want ErrUserDisabled", err)
	}
	if err := p.EnableUser(idp.UserAmit); err != nil {
		t.Fatal(err)
	}
	mustToken(t, refresh(third.RefreshToken))

	if err := p.SetGroups("nobody", nil); !errors.Is(err, idp.ErrUnknownUser) {
		t.Errorf("SetGroups(unknown) = %v", err)
	}
	if err := p.DisableUser("nobody"); !errors.Is(err, idp.ErrUnknownUser) {
		t.Errorf("DisableUser(unknown) = %v", err)
	}
}

func TestRefreshExpiry(t *testing.T) {
	now := &fakeClock{}
	p := idp.StartTest(t, func(o *idp.Options) {
		o.Now = now.Now
		o.RefreshTokenLifetime = time.Hour
	})
	tok := signIn(t, p, lendingWeb(p, "openid", "offline_access"), idp.UserAmit, idp.AmitPassword)
	now.Advance(2 * time.Hour)
	tr := postToken(t, p, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}, idp.ClientLendingWeb, idp.LendingWebSecret)
	wantError(t, tr, http.StatusBadRequest, "invalid_grant")
}
