package idp_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/idbridge/idbridge/integration/idp"
)

const accessTokenType = "urn:ietf:params:oauth:token-type:access_token"

func exchange(t *testing.T, p *idp.Provider, client, secret, subject string, extra url.Values) tokenResponse {
	t.Helper()
	form := url.Values{"grant_type": {idp.GrantTokenExchange}, "subject_token": {subject}, "subject_token_type": {accessTokenType}}
	for k, v := range extra {
		form[k] = v
	}
	return postToken(t, p, form, client, secret)
}

func TestTokenExchange(t *testing.T) {
	p := idp.StartTest(t)
	userToken := signIn(t, p, lendingWeb(p, "openid", idp.ResourceLending+"/Loans.Read"), idp.UserAmit, idp.AmitPassword).AccessToken
	webOnly := signIn(t, p, lendingWeb(p, "openid"), idp.UserAmit, idp.AmitPassword).AccessToken
	appToken := mustToken(t, clientCredentials(t, p, idp.ClientAnalyticsSvc, idp.AnalyticsSvcSecret, url.Values{"scope": {idp.ResourceLending + "/.default"}})).AccessToken

	tests := []struct {
		name        string
		client      string
		secret      string
		subject     string
		params      url.Values
		wantAud     string
		wantScp     string
		wantRefresh bool
		wantStatus  int
		wantError   string
	}{
		{name: "on behalf of, scope", client: idp.ClientLendingAPI, secret: idp.LendingAPISecret, subject: userToken,
			params: url.Values{"scope": {idp.ResourceCBS + "/.default"}}, wantAud: idp.CBSAppID, wantScp: "user_impersonation"},
		{name: "audience parameter", client: idp.ClientLendingAPI, secret: idp.LendingAPISecret, subject: userToken,
			params: url.Values{"audience": {idp.ResourceAnalytics}, "scope": {idp.ResourceAnalytics + "/Reports.Read"}}, wantAud: idp.AnalyticsAppID, wantScp: "Reports.Read"},
		{name: "resource parameter", client: idp.ClientLendingAPI, secret: idp.LendingAPISecret, subject: userToken,
			params: url.Values{"resource": {idp.ResourceCBS}}, wantAud: idp.CBSAppID, wantScp: "user_impersonation"},
		{name: "refresh token requested", client: idp.ClientLendingAPI, secret: idp.LendingAPISecret, subject: userToken,
			params:  url.Values{"scope": {idp.ResourceCBS + "/.default"}, "requested_token_type": {"urn:ietf:params:oauth:token-type:refresh_token"}},
			wantAud: idp.CBSAppID, wantScp: "user_impersonation", wantRefresh: true},
		{name: "token not issued for the exchanging client", client: idp.ClientLendingAPI, secret: idp.LendingAPISecret, subject: webOnly,
			params: url.Values{"scope": {idp.ResourceCBS + "/.default"}}, wantStatus: http.StatusBadRequest, wantError: "invalid_grant"},
		{name: "app-only subject", client: idp.ClientLendingAPI, secret: idp.LendingAPISecret, subject: appToken,
			params: url.Values{"scope": {idp.ResourceCBS + "/.default"}}, wantStatus: http.StatusBadRequest, wantError: "invalid_grant"},
		{name: "garbage subject", client: idp.ClientLendingAPI, secret: idp.LendingAPISecret, subject: "not-a-token",
			wantStatus: http.StatusBadRequest, wantError: "invalid_request"},
		{name: "client without the grant", client: idp.ClientAnalyticsSvc, secret: idp.AnalyticsSvcSecret, subject: userToken,
			wantStatus: http.StatusBadRequest, wantError: "unauthorized_client"},
		{name: "wrong secret", client: idp.ClientLendingAPI, secret: "nope", subject: userToken,
			wantStatus: http.StatusUnauthorized, wantError: "invalid_client"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := exchange(t, p, tc.client, tc.secret, tc.subject, tc.params)
			if tc.wantError != "" {
				wantError(t, tr, tc.wantStatus, tc.wantError)
				return
			}
			mustToken(t, tr)
			if (tr.RefreshToken != "") != tc.wantRefresh {
				t.Errorf("refresh token present %v, want %v", tr.RefreshToken != "", tc.wantRefresh)
			}
			_, c := mustParse(t, p, tr.AccessToken)
			if aud := audOf(t, c); !slices.Equal(aud, []string{tc.wantAud}) {
				t.Errorf("aud %v, want [%s]", aud, tc.wantAud)
			}
			if c["azp"] != idp.ClientLendingAPI || c["oid"] != idp.AmitObjectID || c["scp"] != tc.wantScp || c["idtyp"] != "user" {
				t.Errorf("claims azp %v oid %v scp %v idtyp %v", c["azp"], c["oid"], c["scp"], c["idtyp"])
			}
			if !slices.Equal(strs(c["groups"]), []string{idp.GroupLendingRM}) {
				t.Errorf("groups %v", c["groups"])
			}
		})
	}

	t.Run("leaver", func(t *testing.T) {
		if err := p.DisableUser(idp.UserAmit); err != nil {
			t.Fatal(err)
		}
		wantError(t, exchange(t, p, idp.ClientLendingAPI, idp.LendingAPISecret, userToken, url.Values{"scope": {idp.ResourceCBS + "/.default"}}),
			http.StatusBadRequest, "invalid_grant")
	})
}

func TestOnBehalfOf(t *testing.T) {
	p := idp.StartTest(t)
	userToken := signIn(t, p, lendingWeb(p, "openid", idp.ResourceLending+"/Loans.Read"), idp.UserAmit, idp.AmitPassword).AccessToken
	obo := func(client, secret, use string) tokenResponse {
		return postToken(t, p, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "requested_token_use": {use},
			"assertion": {userToken}, "scope": {idp.ResourceCBS + "/.default"}}, client, secret)
	}
	tr := mustToken(t, obo(idp.ClientLendingAPI, idp.LendingAPISecret, "on_behalf_of"))
	_, c := mustParse(t, p, tr.AccessToken)
	if aud := audOf(t, c); !slices.Equal(aud, []string{idp.CBSAppID}) || c["azp"] != idp.ClientLendingAPI || c["oid"] != idp.AmitObjectID {
		t.Errorf("on-behalf-of claims aud %v azp %v oid %v", aud, c["azp"], c["oid"])
	}
	wantError(t, obo(idp.ClientLendingAPI, "wrong", "on_behalf_of"), http.StatusUnauthorized, "invalid_client")
	wantError(t, obo(idp.ClientAnalyticsSvc, idp.AnalyticsSvcSecret, "on_behalf_of"), http.StatusBadRequest, "unauthorized_client")
	wantError(t, obo(idp.ClientLendingAPI, idp.LendingAPISecret, "something_else"), http.StatusBadRequest, "unsupported_grant_type")
}
