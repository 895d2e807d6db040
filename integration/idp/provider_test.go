package idp_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/idbridge/idbridge/integration/idp"
)

func TestDiscoveryAndJWKS(t *testing.T) {
	p := idp.StartTest(t)
	var d struct {
		Issuer              string   `json:"issuer"`
		TokenEndpoint       string   `json:"token_endpoint"`
		JWKSURI             string   `json:"jwks_uri"`
		DeviceEndpoint      string   `json:"device_authorization_endpoint"`
		GrantTypes          []string `json:"grant_types_supported"`
		AuthMethods         []string `json:"token_endpoint_auth_methods_supported"`
		AuthSigningAlgs     []string `json:"token_endpoint_auth_signing_alg_values_supported"`
		IDTokenAlgs         []string `json:"id_token_signing_alg_values_supported"`
		CodeChallengeMethod []string `json:"code_challenge_methods_supported"`
	}
	if err := json.Unmarshal(get(t, p, p.DiscoveryURL()), &d); err != nil {
		t.Fatal(err)
	}
	if d.Issuer != p.Issuer() || d.TokenEndpoint != p.TokenURL() || d.JWKSURI != p.JWKSURL() || d.DeviceEndpoint != p.DeviceAuthURL() {
		t.Errorf("discovery endpoints = %+v, want issuer %s", d, p.Issuer())
	}
	for _, g := range []string{idp.GrantAuthorizationCode, idp.GrantRefreshToken, idp.GrantClientCredentials, idp.GrantTokenExchange, idp.GrantDeviceCode} {
		if !slices.Contains(d.GrantTypes, g) {
			t.Errorf("grant_types_supported %v lacks %s", d.GrantTypes, g)
		}
	}
	for _, m := range []string{"client_secret_basic", "client_secret_post", "private_key_jwt"} {
		if !slices.Contains(d.AuthMethods, m) {
			t.Errorf("token_endpoint_auth_methods_supported %v lacks %s", d.AuthMethods, m)
		}
	}
	if !slices.Contains(d.AuthSigningAlgs, "PS256") || !slices.Equal(d.IDTokenAlgs, []string{"RS256"}) || !slices.Contains(d.CodeChallengeMethod, "S256") {
		t.Errorf("algorithms: auth %v, id token %v, pkce %v", d.AuthSigningAlgs, d.IDTokenAlgs, d.CodeChallengeMethod)
	}
	var jwks struct {
		Keys []struct {
			Kid, Kty, Use, Alg string
		} `json:"keys"`
	}
	if err := json.Unmarshal(get(t, p, p.JWKSURL()), &jwks); err != nil {
		t.Fatal(err)
	}
	if len(jwks.Keys) != 1 || jwks.Keys[0].Kid != p.SigningKeyID() || jwks.Keys[0].Kty != "RSA" || jwks.Keys[0].Use != "sig" {
		t.Errorf("jwks = %+v, want one RSA signing key %s", jwks.Keys, p.SigningKeyID())
	}
}

func TestHTTPSNeedsTrust(t *testing.T) {
	p := idp.StartTest(t)
	if u, _ := url.Parse(p.Issuer()); u.Scheme != "https" || u.Hostname() != "127.0.0.1" {
		t.Fatalf("issuer %s, want https://127.0.0.1:<port>", p.Issuer())
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(p.DiscoveryURL())
	if err == nil {
		resp.Body.Close()
		t.Fatal("a client without the provider's certificate connected")
	}
	if len(p.CertificatePEM()) == 0 || p.CertPool() == nil {
		t.Fatal("no certificate exposed")
	}
}

func TestPlainHTTP(t *testing.T) {
	p := idp.StartTest(t, func(o *idp.Options) { o.PlainHTTP = true })
	if u, _ := url.Parse(p.Issuer()); u.Scheme != "http" {
		t.Fatalf("issuer %s, want http", p.Issuer())
	}
	tr := mustToken(t, clientCredentials(t, p, idp.ClientAnalyticsSvc, idp.AnalyticsSvcSecret, url.Values{"scope": {idp.ResourceAnalytics + "/.default"}}))
	mustParse(t, p, tr.AccessToken)
	if p.CertPool() != nil || p.CertificatePEM() != nil {
		t.Error("plain HTTP provider exposes a certificate")
	}
}

func TestClientCredentials(t *testing.T) {
	p := idp.StartTest(t)
	tests := []struct {
		name       string
		client     string
		secret     string
		inForm     bool // client_secret_post instead of basic
		params     url.Values
		wantAud    string
		wantRoles  []string
		wantStatus int
		wantError  string
	}{
		{name: "basic with .default", client: idp.ClientAnalyticsSvc, secret: idp.AnalyticsSvcSecret,
			params: url.Values{"scope": {idp.ResourceAnalytics + "/.default"}}, wantAud: idp.AnalyticsAppID, wantRoles: []string{idp.RoleAnalyticsRead}},
		{name: "post with .default", client: idp.ClientAnalyticsSvc, secret: idp.AnalyticsSvcSecret, inForm: true,
			params: url.Values{"scope": {idp.ResourceLending + "/.default"}}, wantAud: idp.LendingAppID, wantRoles: []string{idp.RoleAnalyticsRead}},
		{name: "resource parameter", client: idp.ClientAnalyticsSvc, secret: idp.AnalyticsSvcSecret,
			params: url.Values{"resource": {idp.ResourceCBS}}, wantAud: idp.CBSAppID, wantRoles: []string{idp.RoleAnalyticsRead}},
		{name: "permission scope", client: idp.ClientLendingAPI, secret: idp.LendingAPISecret,
			params: url.Values{"scope": {idp.ResourceCBS + "/Accounts.Read"}}, wantAud: idp.CBSAppID},
		{name: "no scope means the client", client: idp.ClientAnalyticsSvc, secret: idp.AnalyticsSvcSecret,
			wantAud: idp.ClientAnalyticsSvc, wantRoles: []string{idp.RoleAnalyticsRead}},
		{name: "wrong secret", client: idp.ClientAnalyticsSvc, secret: "nope", wantStatus: http.StatusUnauthorized, wantError: "invalid_client"},
		{name: "unknown client", client: "nobody", secret: "x", wantStatus: http.StatusUnauthorized, wantError: "invalid_client"},
		{name: "grant not allowed", client: idp.ClientLendingWeb, secret: idp.LendingWebSecret, wantStatus: http.StatusBadRequest, wantError: "unauthorized_client"},
		{name: "two resources", client: idp.ClientAnalyticsSvc, secret: idp.AnalyticsSvcSecret,
			params: url.Values{"scope": {idp.ResourceCBS + "/.default " + idp.ResourceLending + "/.default"}}, wantStatus: http.StatusBadRequest, wantError: "invalid_target"},
		{name: "private_key_jwt client with a secret", client: idp.ClientCBSBatch, secret: "guess", wantStatus: http.StatusUnauthorized, wantError: "invalid_client"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{"grant_type": {"client_credentials"}}
			for k, v := range tc.params {
				form[k] = v
			}
			var tr tokenResponse
			if tc.inForm {
				form.Set("client_id", tc.client)
				form.Set("client_secret", tc.secret)
				tr = postToken(t, p, form, "", "")
			} else {
				tr = postToken(t, p, form, tc.client, tc.secret)
			}
			if tc.wantError != "" {
				wantError(t, tr, tc.wantStatus, tc.wantError)
				return
			}
			mustToken(t, tr)
			if tr.IDToken != "" || tr.RefreshToken != "" {
				t.Error("client_credentials returned an ID or refresh token")
			}
			h, c := mustParse(t, p, tr.AccessToken)
			if h["typ"] != "JWT" || h["alg"] != "RS256" || h["kid"] != p.SigningKeyID() {
				t.Errorf("header = %v", h)
			}
			if aud := audOf(t, c); !slices.Equal(aud, []string{tc.wantAud}) {
				t.Errorf("aud = %v, want [%s]", aud, tc.wantAud)
			}
			if c["tid"] != idp.ScenarioTenantID || c["azp"] != tc.client || c["idtyp"] != "app" || c["ver"] != "2.0" {
				t.Errorf("claims = %v", c)
			}
			if c["oid"] == "" || c["oid"] != c["sub"] {
				t.Errorf("oid %v and sub %v must both be the service principal", c["oid"], c["sub"])
			}
			if _, ok := c["scp"]; ok {
				t.Errorf("app-only token has scp %v", c["scp"])
			}
			if got := strs(c["roles"]); !slices.Equal(got, tc.wantRoles) && len(got)+len(tc.wantRoles) > 0 {
				t.Errorf("roles = %v, want %v", got, tc.wantRoles)
			}
			exp, _ := c.GetExpirationTime()
			if d := time.Until(exp.Time); d < 59*time.Minute || d > 61*time.Minute {
				t.Errorf("lifetime %v, want 1h", d)
			}
		})
	}
}

func TestRotateKey(t *testing.T) {
	p := idp.StartTest(t)
	issue := func() string {
		return mustToken(t, clientCredentials(t, p, idp.ClientAnalyticsSvc, idp.AnalyticsSvcSecret, nil)).AccessToken
	}
	first, firstKID := issue(), p.SigningKeyID()

	softKID, err := p.RotateKey(false)
	if err != nil {
		t.Fatal(err)
	}
	if softKID == firstKID || p.SigningKeyID() != softKID {
		t.Fatalf("soft rotation kid %s (was %s, now signing %s)", softKID, firstKID, p.SigningKeyID())
	}
	second := issue()
	if h, _ := mustParse(t, p, second); h["kid"] != softKID {
		t.Errorf("new token kid %v, want %s", h["kid"], softKID)
	}
	mustParse(t, p, first) // the old key is still published

	hardKID, err := p.RotateKey(true)
	if err != nil {
		t.Fatal(err)
	}
	if hardKID == softKID || hardKID == firstKID {
		t.Fatal("hard rotation reused a kid")
	}
	for _, old := range []string{first, second} {
		if _, _, err := parse(t, p, old); err == nil {
			t.Error("a token signed by a removed key still verifies")
		}
	}
	mustParse(t, p, issue())
}

func TestES256(t *testing.T) {
	p := idp.StartTest(t, func(o *idp.Options) { o.Algorithm = idp.AlgES256 })
	tr := mustToken(t, clientCredentials(t, p, idp.ClientAnalyticsSvc, idp.AnalyticsSvcSecret, nil))
	h, _ := mustParse(t, p, tr.AccessToken)
	if h["alg"] != "ES256" {
		t.Fatalf("alg %v, want ES256", h["alg"])
	}
	kid, err := p.RotateKey(false)
	if err != nil {
		t.Fatal(err)
	}
	tr = mustToken(t, clientCredentials(t, p, idp.ClientAnalyticsSvc, idp.AnalyticsSvcSecret, nil))
	if h, _ := mustParse(t, p, tr.AccessToken); h["kid"] != kid || h["alg"] != "ES256" {
		t.Fatalf("after rotation header %v, want ES256 %s", h, kid)
	}
}

func TestStopRestart(t *testing.T) {
	p := idp.StartTest(t)
	kid := p.SigningKeyID()
	mustToken(t, clientCredentials(t, p, idp.ClientAnalyticsSvc, idp.AnalyticsSvcSecret, nil))
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	resp, err := p.HTTPClient().Get(p.DiscoveryURL())
	if err == nil {
		resp.Body.Close()
		t.Fatal("stopped provider answered")
	}
	if err := p.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := p.Restart(); err != nil {
		t.Fatalf("second Restart: %v", err)
	}
	tr := mustToken(t, clientCredentials(t, p, idp.ClientAnalyticsSvc, idp.AnalyticsSvcSecret, nil))
	if h, _ := mustParse(t, p, tr.AccessToken); h["kid"] != kid {
		t.Errorf("kid after restart %v, want %s", h["kid"], kid)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := p.Restart(); !errors.Is(err, idp.ErrClosed) {
		t.Fatalf("Restart after Close = %v, want ErrClosed", err)
	}
}

func TestRequestsAndFailNext(t *testing.T) {
	p := idp.StartTest(t)
	get(t, p, p.DiscoveryURL())
	get(t, p, p.JWKSURL())
	get(t, p, p.JWKSURL())
	if d, j, tok := p.Requests(idp.EndpointDiscovery), p.Requests(idp.EndpointJWKS), p.Requests(idp.EndpointToken); d != 1 || j != 2 || tok != 0 {
		t.Fatalf("counters discovery=%d jwks=%d token=%d, want 1 2 0", d, j, tok)
	}

	p.FailNext(idp.EndpointToken, 2, http.StatusTooManyRequests, 2500*time.Millisecond)
	for i := range 2 {
		tr := clientCredentials(t, p, idp.ClientAnalyticsSvc, idp.AnalyticsSvcSecret, nil)
		wantError(t, tr, http.StatusTooManyRequests, "temporarily_unavailable")
		if tr.RetryAfter != "3" {
			t.Errorf("request %d: Retry-After %q, want 3", i, tr.RetryAfter)
		}
	}
	mustToken(t, clientCredentials(t, p, idp.ClientAnalyticsSvc, idp.AnalyticsSvcSecret, nil))
	if n := p.Requests(idp.EndpointToken); n != 3 {
		t.Errorf("token requests %d, want 3 (faults count)", n)
	}

	p.FailNext(idp.EndpointJWKS, 1, http.StatusInternalServerError, 0)
	resp, err := p.HTTPClient().Get(p.JWKSURL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || resp.Header.Get("Retry-After") != "" {
		t.Errorf("jwks fault: HTTP %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	p.FailNext(idp.EndpointJWKS, 5, http.StatusBadGateway, 0)
	p.FailNext(idp.EndpointJWKS, 0, 0, 0) // clears
	get(t, p, p.JWKSURL())

	p.ResetRequests()
	if n := p.Requests(idp.EndpointJWKS); n != 0 {
		t.Errorf("after reset jwks=%d", n)
	}
	if n := p.Requests("no-such-endpoint"); n != 0 {
		t.Errorf("unknown endpoint counted %d", n)
	}
}

func TestProvidersHaveDistinctKeys(t *testing.T) {
	seen := map[string]bool{}
	for range 3 {
		kid := idp.StartTest(t).SigningKeyID()
		if seen[kid] {
			t.Fatalf("two providers share the signing key %s", kid)
		}
		seen[kid] = true
	}
}

// TestConcurrentDiscovery guards against editing zitadel's shared discovery
// slices in place: under -race, parallel requests would report a data race.
func TestConcurrentDiscovery(t *testing.T) {
	p := idp.StartTest(t)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := p.HTTPClient().Get(p.DiscoveryURL())
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		}()
	}
	wg.Wait()
}
