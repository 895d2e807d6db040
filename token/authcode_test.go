package token

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/jwks"
)

// nonceValidator is an IDTokenValidator that accepts "id-<nonce>".
type nonceValidator struct{ calls int }

func (v *nonceValidator) ValidateIDToken(_ context.Context, idToken, nonce string) (*idbridge.Claims, error) {
	v.calls++
	if idToken != "id-"+nonce {
		return nil, errors.New("nonce mismatch")
	}
	return &idbridge.Claims{}, nil
}

var _ IDTokenValidator = (*jwks.Validator)(nil)

func newTestAuthCode(t *testing.T, respond func(int, url.Values, http.Header) (int, map[string]string, string)) (*AuthCode, *fakeIdP, *nonceValidator) {
	t.Helper()
	idp := newFakeIdP(t, respond)
	v := &nonceValidator{}
	ac, err := NewAuthCode(Client{ID: "lending-web", TokenURL: idp.URL(), Auth: ClientSecretBasic("s")},
		"https://idp.example/authorize?tenant=x", "https://lending.example/callback", v, []string{"offline_access"})
	if err != nil {
		t.Fatal(err)
	}
	return ac, idp, v
}

func TestAuthCodeStart(t *testing.T) {
	ac, _, _ := newTestAuthCode(t, nil)
	a, err := ac.Start(url.Values{"login_hint": {"amit@bank.example"}, "state": {"attacker"}})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(a.URL)
	q := u.Query()
	sum := sha256.Sum256([]byte(a.Verifier.Reveal()))
	for k, want := range map[string]string{
		"response_type": "code", "client_id": "lending-web", "redirect_uri": "https://lending.example/callback",
		"scope": "openid offline_access", "state": a.State, "nonce": a.Nonce, "code_challenge_method": "S256",
		"code_challenge": base64.RawURLEncoding.EncodeToString(sum[:]), "login_hint": "amit@bank.example", "tenant": "x",
	} {
		if q.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, q.Get(k), want)
		}
	}
	if len(a.Verifier.Reveal()) < 43 || strings.Contains(a.URL, a.Verifier.Reveal()) {
		t.Error("verifier too short or exposed in the URL")
	}
	b, _ := ac.Start(nil)
	if a.State == b.State || a.Nonce == b.Nonce || a.Verifier == b.Verifier {
		t.Error("state, nonce or verifier reused across sign-ins")
	}
}

func TestAuthCodeExchange(t *testing.T) {
	var nonce string
	ac, idp, v := newTestAuthCode(t, func(_ int, form url.Values, _ http.Header) (int, map[string]string, string) {
		if form.Get("code") != "the-code" {
			return 400, nil, `{"error":"invalid_grant"}`
		}
		return 200, nil, `{"access_token":"at","token_type":"Bearer","expires_in":3600,"refresh_token":"rt","id_token":"id-` + nonce + `"}`
	})
	a, _ := ac.Start(nil)
	nonce = a.Nonce
	tests := []struct {
		name     string
		cb       url.Values
		want     error
		requests int
	}{
		{"state mismatch", url.Values{"state": {"forged"}, "code": {"the-code"}}, ErrInvalidCallback, 0},
		{"no state", url.Values{"code": {"the-code"}}, ErrInvalidCallback, 0},
		{"no code", url.Values{"state": {a.State}}, ErrInvalidCallback, 0},
		{"user declined", url.Values{"state": {a.State}, "error": {"access_denied"}, "error_description": {"AADSTS65004: User declined"}}, ErrRejected, 0},
		{"login required", url.Values{"state": {a.State}, "error": {"login_required"}}, ErrSignInRequired, 0},
		{"bad code", url.Values{"state": {a.State}, "code": {"stale"}}, ErrSignInRequired, 1},
		{"ok", url.Values{"state": {a.State}, "code": {"the-code"}}, nil, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, claims, err := ac.Exchange(context.Background(), a, tt.cb)
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
			} else if err != nil || tok.RefreshToken != "rt" || claims == nil {
				t.Fatalf("Exchange = %v, %v, %v", tok, claims, err)
			}
			if idp.count() != tt.requests {
				t.Fatalf("%d requests to the IdP, want %d", idp.count(), tt.requests)
			}
		})
	}
	f := idp.form(1)
	if f.Get("code_verifier") != a.Verifier.Reveal() || f.Get("redirect_uri") != "https://lending.example/callback" || f.Get("grant_type") != "authorization_code" {
		t.Fatalf("token request %v", f)
	}
	if v.calls != 1 {
		t.Fatalf("validator called %d times", v.calls)
	}
}

func TestAuthCodeRejectsWrongNonceAndMissingIDToken(t *testing.T) {
	body := `{"access_token":"at","token_type":"Bearer","id_token":"id-replayed"}`
	ac, _, _ := newTestAuthCode(t, func(int, url.Values, http.Header) (int, map[string]string, string) { return 200, nil, body })
	a, _ := ac.Start(nil)
	if _, _, err := ac.Exchange(context.Background(), a, url.Values{"state": {a.State}, "code": {"c"}}); err == nil {
		t.Fatal("replayed ID token accepted")
	}
	body = `{"access_token":"at","token_type":"Bearer"}`
	if _, _, err := ac.Exchange(context.Background(), a, url.Values{"state": {a.State}, "code": {"c"}}); !errors.Is(err, ErrInvalidCallback) {
		t.Fatalf("missing id_token: %v", err)
	}
	if _, _, err := ac.Exchange(context.Background(), nil, url.Values{}); !errors.Is(err, ErrInvalidCallback) {
		t.Fatalf("no sign-in: %v", err)
	}
}

func TestNewAuthCodeValidates(t *testing.T) {
	c := Client{ID: "c", TokenURL: "https://idp.example/token"}
	v := &nonceValidator{}
	for name, fn := range map[string]func() error{
		"no validator": func() error {
			_, err := NewAuthCode(c, "https://idp.example/a", "https://app/cb", nil, nil)
			return err
		},
		"no redirect": func() error { _, err := NewAuthCode(c, "https://idp.example/a", "", v, nil); return err },
		"http auth":   func() error { _, err := NewAuthCode(c, "http://idp.example/a", "https://app/cb", v, nil); return err },
	} {
		if err := fn(); !errors.Is(err, idbridge.ErrInvalidOptions) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestAuthCodeExchangeRequiresNonce: a validator skips the nonce check when
// given no nonce (jwks.Validator does), so a sign-in restored without its
// nonce must be refused, not silently lose its replay protection.
func TestAuthCodeExchangeRequiresNonce(t *testing.T) {
	ac, idp, v := newTestAuthCode(t, func(int, url.Values, http.Header) (int, map[string]string, string) {
		return 200, nil, `{"access_token":"at","token_type":"Bearer","id_token":"id-"}`
	})
	a, _ := ac.Start(nil)
	a.Nonce = ""
	if _, _, err := ac.Exchange(context.Background(), a, url.Values{"state": {a.State}, "code": {"c"}}); !errors.Is(err, ErrInvalidCallback) {
		t.Fatalf("sign-in without nonce: err = %v", err)
	}
	if idp.count() != 0 || v.calls != 0 {
		t.Fatalf("code redeemed (%d requests, %d validations) for a sign-in without nonce", idp.count(), v.calls)
	}
}

// TestInteractiveSignInsAreAudited: a user's sign-in is a step of the story
// the audit log tells; AuthCode and Device take Options.Audit, so they must
// use it, and never log a token.
func TestInteractiveSignInsAreAudited(t *testing.T) {
	access := fakeJWT(map[string]any{"iss": "https://idp.example/v2.0", "tid": "t1", "sub": "amit-sub", "oid": "amit-oid", "azp": "lending-web", "uti": "uti-1"})
	var nonce string
	idp := newFakeIdP(t, func(_ int, form url.Values, _ http.Header) (int, map[string]string, string) {
		if form.Get("grant_type") == "" {
			return 200, nil, `{"device_code":"D","user_code":"U","verification_uri":"https://idp.example/device","interval":1}`
		}
		return 200, nil, `{"access_token":"` + access + `","token_type":"Bearer","expires_in":3600,"id_token":"id-` + nonce + `"}`
	})
	var buf bytes.Buffer
	var mu sync.Mutex
	h := slog.NewJSONHandler(&lockedWriter{w: &buf, mu: &mu}, nil)
	c := Client{ID: "lending-web", TokenURL: idp.URL(), Auth: ClientSecretBasic("s")}
	ac, _ := NewAuthCode(c, "https://idp.example/authorize", "https://app.example/cb", &nonceValidator{}, nil, func(o *Options) { o.Audit = h })
	a, _ := ac.Start(nil)
	nonce = a.Nonce
	if _, _, err := ac.Exchange(context.Background(), a, url.Values{"state": {a.State}, "code": {"c"}}); err != nil {
		t.Fatal(err)
	}
	d, _ := NewDevice(c, idp.srv.URL+"/devicecode", nil, func(o *Options) { o.Audit = h })
	d.after = func(time.Duration) <-chan time.Time { ch := make(chan time.Time, 1); ch <- time.Now(); return ch }
	dc, _ := d.Start(context.Background())
	if _, err := d.Poll(context.Background(), dc); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	if n := strings.Count(out, `"event":"token.issued"`); n != 2 {
		t.Fatalf("%d token.issued events, want 2:\n%s", n, out)
	}
	for _, want := range []string{`"oid":"amit-oid"`, `"azp":"lending-web"`, `"token_id":"`} {
		if !strings.Contains(out, want) {
			t.Errorf("audit lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, access) || strings.Contains(out, "uti-1") {
		t.Fatalf("audit carries the token or its uti:\n%s", out)
	}
}

// TestAuthCodeFailuresAreAudited: every failed web sign-in is a
// signin.failed event naming the stage and class, and never carries the
// code, the state, the verifier or a token.
func TestAuthCodeFailuresAreAudited(t *testing.T) {
	var nonce string
	idp := newFakeIdP(t, func(_ int, form url.Values, _ http.Header) (int, map[string]string, string) {
		switch form.Get("code") {
		case "stale-code-7f3a":
			return 400, nil, `{"error":"invalid_grant","error_description":"AADSTS70008: The provided authorization code has expired."}`
		case "no-id-token":
			return 200, nil, `{"access_token":"at-secret-9c1d","token_type":"Bearer","expires_in":3600}`
		}
		return 200, nil, `{"access_token":"at-secret-9c1d","token_type":"Bearer","expires_in":3600,"id_token":"id-replayed-` + nonce + `"}`
	})
	var buf bytes.Buffer
	c := Client{ID: "lending-web", TokenURL: idp.URL(), Auth: ClientSecretBasic("client-secret-5e2b")}
	ac, err := NewAuthCode(c, "https://idp.example/authorize", "https://app.example/cb", &nonceValidator{}, nil,
		func(o *Options) { o.Audit = slog.NewJSONHandler(&buf, nil) })
	if err != nil {
		t.Fatal(err)
	}
	a, _ := ac.Start(nil)
	nonce = a.Nonce
	tests := []struct {
		name                     string
		cb                       url.Values
		stage, reason, errorCode string
	}{
		{"forged state", url.Values{"state": {"forged"}, "code": {"the-code"}}, "state", "malformed", ""},
		{"IdP error", url.Values{"state": {a.State}, "error": {"access_denied"}}, "idp_error", "forbidden", "access_denied"},
		{"code redemption", url.Values{"state": {a.State}, "code": {"stale-code-7f3a"}}, "exchange", "", "invalid_grant"},
		{"no ID token", url.Values{"state": {a.State}, "code": {"no-id-token"}}, "id_token", "malformed", ""},
		{"wrong nonce", url.Values{"state": {a.State}, "code": {"c"}}, "id_token", "malformed", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf.Reset()
			if _, _, err := ac.Exchange(context.Background(), a, tt.cb); err == nil {
				t.Fatal("sign-in succeeded")
			}
			var ev map[string]any
			if err := json.Unmarshal(buf.Bytes(), &ev); err != nil {
				t.Fatalf("want one event: %v\n%s", err, buf.String())
			}
			if ev["event"] != "signin.failed" || ev["stage"] != tt.stage || ev["level"] != "WARN" || ev["reason"] == nil {
				t.Fatalf("event %v", ev)
			}
			if tt.reason != "" && ev["reason"] != tt.reason {
				t.Errorf("reason %v, want %s", ev["reason"], tt.reason)
			}
			if tt.errorCode != "" && ev["error_code"] != tt.errorCode {
				t.Errorf("error_code %v, want %s", ev["error_code"], tt.errorCode)
			}
			for _, secret := range []string{"stale-code-7f3a", a.State, a.Verifier.Reveal(), a.Nonce, "at-secret-9c1d", "client-secret-5e2b"} {
				if strings.Contains(buf.String(), secret) {
					t.Fatalf("audit carries a secret %q:\n%s", secret, buf.String())
				}
			}
		})
	}
}
