package token

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/idbridge/idbridge/internal/backoff"
)

func TestParseToken(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	jwtAT := fakeJWT(map[string]any{"exp": now.Add(30 * time.Minute).Unix()})
	tests := []struct {
		name    string
		ct      string
		body    string
		wantErr error
		check   func(t *testing.T, tok *Token)
	}{
		{name: "rfc 6749", body: `{"access_token":"a","token_type":"Bearer","expires_in":3600,"refresh_token":"r","scope":"openid profile"}`,
			check: func(t *testing.T, tok *Token) {
				if tok.AccessToken != "a" || tok.RefreshToken != "r" || !tok.Expiry.Equal(now.Add(time.Hour)) || len(tok.Scopes) != 2 {
					t.Errorf("got %+v", tok)
				}
			}},
		{name: "entra v2 extras", body: `{"token_type":"Bearer","scope":"api://x/.default","expires_in":86399,"ext_expires_in":90000,"refresh_in":43199,"access_token":"a"}`,
			check: func(t *testing.T, tok *Token) {
				if !tok.RefreshAt.Equal(now.Add(43199*time.Second)) || !tok.ExtExpiry.Equal(now.Add(90000*time.Second)) {
					t.Errorf("refresh_in/ext_expires_in: %v %v", tok.RefreshAt, tok.ExtExpiry)
				}
			}},
		{name: "entra v1 string numbers", body: `{"access_token":"a","token_type":"Bearer","expires_in":"3599","ext_expires_in":"3599","expires_on":"1700000000"}`,
			check: func(t *testing.T, tok *Token) {
				if !tok.Expiry.Equal(now.Add(3599 * time.Second)) {
					t.Errorf("expiry %v", tok.Expiry)
				}
			}},
		{name: "id token and exchange type", body: `{"access_token":"a","token_type":"N_A","id_token":"i","issued_token_type":"urn:ietf:params:oauth:token-type:jwt"}`,
			check: func(t *testing.T, tok *Token) {
				if tok.IDToken != "i" || tok.IssuedTokenType != TokenTypeJWT {
					t.Errorf("got %+v", tok)
				}
			}},
		{name: "form encoded", ct: "application/x-www-form-urlencoded", body: "access_token=a&token_type=bearer&expires_in=60",
			check: func(t *testing.T, tok *Token) {
				if tok.AccessToken != "a" || !tok.Expiry.Equal(now.Add(time.Minute)) {
					t.Errorf("got %+v", tok)
				}
			}},
		{name: "expiry from jwt when expires_in missing", body: `{"access_token":"` + jwtAT + `","token_type":"Bearer"}`,
			check: func(t *testing.T, tok *Token) {
				if !tok.Expiry.Equal(now.Add(30 * time.Minute)) {
					t.Errorf("expiry %v", tok.Expiry)
				}
			}},
		{name: "no access token", body: `{"token_type":"Bearer"}`, wantErr: ErrIdPUnavailable},
		{name: "html", body: `<html>maintenance</html>`, wantErr: ErrIdPUnavailable},
		{name: "negative expires_in", body: `{"access_token":"a","expires_in":-5}`, wantErr: ErrIdPUnavailable},
		{name: "bad form number", ct: "application/x-www-form-urlencoded", body: "access_token=a&expires_in=soon", wantErr: ErrIdPUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.ct != "" {
				h.Set("Content-Type", tt.ct)
			}
			tok, err := parseToken([]byte(tt.body), h, now)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if err != nil && strings.Contains(err.Error(), "maintenance") {
					t.Fatalf("error quotes the body: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, tok)
		})
	}
}

func TestParseError(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		status     int
		body       string
		retryAfter string
		want       error
		check      func(t *testing.T, e *Error)
	}{
		{name: "entra invalid_client", status: 401,
			body: `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '00000000-0000-0000-0000-000000000001'.\r\nTrace ID: 0f7e\r\nCorrelation ID: 3c1b\r\nTimestamp: 2026-01-01 00:00:00Z","error_codes":[7000215],"timestamp":"2026-01-01 00:00:00Z","trace_id":"0f7e","correlation_id":"3c1b","error_uri":"https://login.microsoftonline.com/error?code=7000215"}`,
			want: ErrRejected,
			check: func(t *testing.T, e *Error) {
				if e.Code != "invalid_client" || len(e.ErrorCodes) != 1 || e.ErrorCodes[0] != 7000215 || e.TraceID != "0f7e" || e.CorrelationID != "3c1b" || e.Status != 401 {
					t.Errorf("got %#v", e)
				}
				if strings.ContainsAny(e.Error(), "\r\n") {
					t.Errorf("control characters in %q", e.Error())
				}
			}},
		{name: "invalid_grant", status: 400, body: `{"error":"invalid_grant","error_description":"AADSTS70008: The refresh token has expired due to inactivity."}`, want: ErrSignInRequired},
		{name: "interaction_required with claims", status: 400, body: `{"error":"interaction_required","claims":"{\"access_token\":{\"capolids\":{\"essential\":true}}}"}`, want: ErrSignInRequired,
			check: func(t *testing.T, e *Error) {
				if !strings.Contains(e.Claims, "capolids") {
					t.Errorf("claims %q", e.Claims)
				}
			}},
		{name: "429 with seconds", status: 429, retryAfter: "7", body: `{"error":"temporarily_unavailable"}`, want: ErrIdPUnavailable,
			check: func(t *testing.T, e *Error) {
				if e.RetryAfter != 7*time.Second {
					t.Errorf("RetryAfter %v", e.RetryAfter)
				}
			}},
		{name: "503 with date", status: 503, retryAfter: now.Add(2 * time.Minute).Format(http.TimeFormat), body: `<html>down</html>`, want: ErrIdPUnavailable,
			check: func(t *testing.T, e *Error) {
				if e.RetryAfter != 2*time.Minute || e.Code != "" {
					t.Errorf("got %#v", e)
				}
			}},
		{name: "huge retry-after is capped", status: 429, retryAfter: "999999999", want: ErrIdPUnavailable,
			check: func(t *testing.T, e *Error) {
				if e.RetryAfter != backoff.MaxRetryAfter {
					t.Errorf("RetryAfter %v", e.RetryAfter)
				}
			}},
		{name: "400 without body", status: 400, want: ErrRejected},
		{name: "500 with oauth code", status: 500, body: `{"error":"invalid_request"}`, want: ErrIdPUnavailable},
		{name: "device pending", status: 400, body: `{"error":"authorization_pending"}`, want: ErrRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.retryAfter != "" {
				h.Set("Retry-After", tt.retryAfter)
			}
			e := parseError([]byte(tt.body), tt.status, h, now, nil)
			if !errors.Is(e, tt.want) {
				t.Fatalf("class %v, want %v", e.Unwrap(), tt.want)
			}
			if tt.check != nil {
				tt.check(t, e)
			}
		})
	}
}

func TestErrorNeverLeaksSecrets(t *testing.T) {
	jwt := fakeJWT(map[string]any{"sub": "x"})
	body := `{"error":"invalid_grant","error_description":"refresh token REFRESH-SECRET-42 is bad; assertion ` + jwt + ` rejected; secret s3cr3t-value"}`
	e := parseError([]byte(body), 400, http.Header{}, time.Now(), []string{"REFRESH-SECRET-42", "s3cr3t-value"})
	for _, out := range []string{e.Error(), e.Message} {
		for _, s := range []string{"REFRESH-SECRET-42", "s3cr3t-value", jwt} {
			if strings.Contains(out, s) {
				t.Errorf("%q leaks %q", out, s)
			}
		}
	}
	long := parseError([]byte(`{"error":"x","error_description":"`+strings.Repeat("é", 1000)+`"}`), 400, http.Header{}, time.Now(), nil)
	if len(long.Message) > maxDescription+4 {
		t.Errorf("description not cut: %d bytes", len(long.Message))
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"0", 0}, {"-3", 0}, {"12", 12 * time.Second}, {"soon", 0},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
	}
	for _, tt := range tests {
		if got := backoff.RetryAfter(tt.in, now); got != tt.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func FuzzParseToken(f *testing.F) {
	f.Add([]byte(`{"access_token":"a","token_type":"Bearer","expires_in":3600}`), false)
	f.Add([]byte(`{"access_token":"a","expires_in":"3599","refresh_in":"1"}`), false)
	f.Add([]byte(`access_token=a&expires_in=1`), true)
	f.Add([]byte(`{"access_token":"a.eyJleHAiOjF9.c"}`), false)
	f.Add([]byte(`{"expires_in":1e400}`), false)
	now := time.Now()
	f.Fuzz(func(t *testing.T, body []byte, form bool) {
		h := http.Header{}
		if form {
			h.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		tok, err := parseToken(body, h, now)
		if err == nil && tok.AccessToken == "" {
			t.Fatal("accepted a response without access token")
		}
		if err != nil && !errors.Is(err, ErrIdPUnavailable) {
			t.Fatalf("untyped error %v", err)
		}
	})
}

func FuzzParseError(f *testing.F) {
	f.Add([]byte(`{"error":"invalid_grant","error_codes":[70008],"trace_id":"t"}`), 400, "5")
	f.Add([]byte(`<html/>`), 503, "Wed, 21 Oct 2015 07:28:00 GMT")
	f.Add([]byte(`{"error":123}`), 429, "")
	now := time.Now()
	f.Fuzz(func(t *testing.T, body []byte, status int, ra string) {
		h := http.Header{}
		h.Set("Retry-After", ra)
		e := parseError(body, status, h, now, []string{"SECRET-VALUE"})
		if e.Unwrap() == nil {
			t.Fatal("no class")
		}
		if strings.Contains(e.Error(), "SECRET-VALUE") {
			t.Fatal("secret in error")
		}
		if e.RetryAfter < 0 || e.RetryAfter > backoff.MaxRetryAfter {
			t.Fatalf("RetryAfter %v", e.RetryAfter)
		}
	})
}

func FuzzJWTExpiry(f *testing.F) {
	f.Add(fakeJWT(map[string]any{"exp": 1700000000}))
	f.Add("a.b.c")
	f.Add("..")
	f.Fuzz(func(t *testing.T, s string) {
		if exp, ok := jwtExpiry(s); ok && exp.IsZero() {
			t.Fatal("ok with zero time")
		}
	})
}

func TestParseErrorCapsErrorCodes(t *testing.T) {
	body := `{"error":"invalid_client","error_codes":[` + strings.Repeat("1,", 10000) + `1]}`
	e := parseError([]byte(body), 400, http.Header{}, time.Now(), nil)
	if len(e.ErrorCodes) > maxErrorCodes || len(e.Error()) > 200 {
		t.Fatalf("%d error codes kept, Error() of %d bytes", len(e.ErrorCodes), len(e.Error()))
	}
}
