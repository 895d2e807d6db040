package idp_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"

	"github.com/idbridge/idbridge/integration/idp"
)

// tokenResponse is the token endpoint's answer, success or error.
type tokenResponse struct {
	Status           int    `json:"-"`
	RetryAfter       string `json:"-"`
	AccessToken      string `json:"access_token"`
	IDToken          string `json:"id_token"`
	RefreshToken     string `json:"refresh_token"`
	TokenType        string `json:"token_type"`
	IssuedTokenType  string `json:"issued_token_type"`
	ExpiresIn        int64  `json:"expires_in"`
	Scope            string `json:"scope"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// post sends a form to target, with HTTP basic credentials when user is set.
func post(t *testing.T, p *idp.Provider, target string, form url.Values, user, pass string) tokenResponse {
	t.Helper()
	req, err := http.NewRequestWithContext(testContext(t), http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	resp, err := p.HTTPClient().Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		t.Fatalf("POST %s: HTTP %d, body is not JSON: %v", target, resp.StatusCode, err)
	}
	tr.Status = resp.StatusCode
	tr.RetryAfter = resp.Header.Get("Retry-After")
	return tr
}

func postToken(t *testing.T, p *idp.Provider, form url.Values, user, pass string) tokenResponse {
	t.Helper()
	return post(t, p, p.TokenURL(), form, user, pass)
}

// mustToken asserts a successful token response.
func mustToken(t *testing.T, tr tokenResponse) tokenResponse {
	t.Helper()
	if tr.Status != http.StatusOK || tr.AccessToken == "" {
		t.Fatalf("token request failed: HTTP %d error=%q description=%q", tr.Status, tr.Error, tr.ErrorDescription)
	}
	return tr
}

// wantError asserts an OAuth error response.
func wantError(t *testing.T, tr tokenResponse, status int, code string) {
	t.Helper()
	if tr.Status != status || tr.Error != code {
		t.Fatalf("got HTTP %d error=%q (%q), want HTTP %d error=%q", tr.Status, tr.Error, tr.ErrorDescription, status, code)
	}
}

func clientCredentials(t *testing.T, p *idp.Provider, id, secret string, extra url.Values) tokenResponse {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	for k, v := range extra {
		form[k] = v
	}
	return postToken(t, p, form, id, secret)
}

func get(t *testing.T, p *idp.Provider, target string) []byte {
	t.Helper()
	req, err := http.NewRequestWithContext(testContext(t), http.MethodGet, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := p.HTTPClient().Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d", target, resp.StatusCode)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// parse verifies token against the provider's current JWKS and returns its
// header and claims.
func parse(t *testing.T, p *idp.Provider, token string) (map[string]any, jwt.MapClaims, error) {
	t.Helper()
	kf, err := keyfunc.NewJWKSetJSON(json.RawMessage(get(t, p, p.JWKSURL())))
	if err != nil {
		t.Fatalf("jwks: %v", err)
	}
	claims := jwt.MapClaims{}
	tok, err := jwt.ParseWithClaims(token, claims, kf.Keyfunc,
		jwt.WithIssuer(p.Issuer()), jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
		jwt.WithValidMethods([]string{"RS256", "ES256"}))
	if err != nil {
		return nil, nil, err
	}
	return tok.Header, claims, nil
}

func mustParse(t *testing.T, p *idp.Provider, token string) (map[string]any, jwt.MapClaims) {
	t.Helper()
	h, c, err := parse(t, p, token)
	if err != nil {
		t.Fatalf("token does not verify: %v", err)
	}
	return h, c
}

// strs converts a JSON array claim to []string.
func strs(v any) []string {
	a, _ := v.([]any)
	out := make([]string, 0, len(a))
	for _, e := range a {
		s, _ := e.(string)
		out = append(out, s)
	}
	return out
}

func audOf(t *testing.T, c jwt.MapClaims) []string {
	t.Helper()
	a, err := c.GetAudience()
	if err != nil {
		t.Fatalf("aud: %v", err)
	}
	return a
}
