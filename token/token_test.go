package token

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTokenAndSecretNeverPrintSecrets(t *testing.T) {
	tok := Token{
		AccessToken:  "ACCESS-SECRET-123",
		TokenType:    "Bearer",
		Expiry:       time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		RefreshToken: "REFRESH-SECRET-456",
		IDToken:      "IDTOKEN-SECRET-789",
		Scopes:       []string{"api://lending/.default"},
	}
	secret := Secret("CLIENT-SECRET-000")
	type wrapper struct {
		T   Token
		P   *Token
		S   Secret
		Any any
	}
	w := wrapper{T: tok, P: &tok, S: secret, Any: tok}
	secrets := []string{"ACCESS-SECRET", "REFRESH-SECRET", "IDTOKEN-SECRET", "CLIENT-SECRET"}

	var outputs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		outputs = append(outputs,
			fmt.Sprintf(verb, tok), fmt.Sprintf(verb, &tok), fmt.Sprintf(verb, secret), fmt.Sprintf(verb, w))
	}
	outputs = append(outputs, tok.String(), fmt.Sprint(tok), fmt.Sprintln(&tok), secret.String())
	for _, v := range []any{tok, &tok, secret, w} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		outputs = append(outputs, string(b))
	}
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&buf, nil), slog.NewTextHandler(&buf, nil)} {
		l := slog.New(h)
		l.Info("tok", "token", tok, "ptr", &tok, "secret", secret, "wrapper", w)
	}
	outputs = append(outputs, buf.String())

	for _, out := range outputs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("output leaks %s: %s", s, out)
			}
		}
	}
	if !strings.Contains(fmt.Sprintf("%+v", tok), "[redacted]") || !strings.Contains(fmt.Sprintf("%#v", secret), "[redacted]") {
		t.Error("redaction marker missing")
	}
	if !strings.Contains(fmt.Sprintf("%v", tok), "Bearer") {
		t.Error("non-secret fields should still print")
	}
	if secret.Reveal() != "CLIENT-SECRET-000" {
		t.Error("Reveal lost the value")
	}
	if Secret("").String() != "" {
		t.Error("an empty secret should print empty")
	}
}

func TestTokenTypeAndHeader(t *testing.T) {
	tests := []struct{ in, want string }{{"", "Bearer"}, {"bearer", "Bearer"}, {"BEARER", "Bearer"}, {"DPoP", "DPoP"}}
	for _, tt := range tests {
		tok := &Token{AccessToken: "abc", TokenType: tt.in}
		if got := tok.Type(); got != tt.want {
			t.Errorf("Type(%q) = %q, want %q", tt.in, got, tt.want)
		}
		r, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/", nil)
		tok.SetAuthHeader(r)
		if got := r.Header.Get("Authorization"); got != tt.want+" abc" {
			t.Errorf("header = %q", got)
		}
	}
	// A nil Token (a source that returned nil, nil) has no type and sets no
	// credential: it removes one the request already had.
	var nilTok *Token
	if got := nilTok.Type(); got != "" {
		t.Errorf("Type of a nil Token = %q", got)
	}
	for _, before := range []string{"", "Bearer earlier"} {
		r, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/", nil)
		if before != "" {
			r.Header.Set("Authorization", before)
		}
		nilTok.SetAuthHeader(r)
		if got, set := r.Header["Authorization"]; set {
			t.Errorf("a nil Token left Authorization %q (was %q)", got, before)
		}
	}
}

func TestTokenValid(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name string
		tok  *Token
		want bool
	}{
		{"nil", nil, false},
		{"empty", &Token{}, false},
		{"no expiry", &Token{AccessToken: "a"}, true},
		{"future", &Token{AccessToken: "a", Expiry: now.Add(time.Minute)}, true},
		{"past", &Token{AccessToken: "a", Expiry: now.Add(-time.Minute)}, false},
	}
	for _, tt := range tests {
		if got := tt.tok.Valid(now); got != tt.want {
			t.Errorf("%s: Valid = %v", tt.name, got)
		}
	}
}

// TestSecretHoldersNeverPrint covers every type that holds a secret in an
// unexported field: fmt prints such fields raw, without calling their
// Format or String, so each holder must redact itself.
func TestSecretHoldersNeverPrint(t *testing.T) {
	ctx := context.Background()
	key, cert := testKeyAndCert(t)
	jwtAuth, err := PrivateKeyJWT(key, func(o *JWTOptions) { o.Certificate = cert })
	if err != nil {
		t.Fatal(err)
	}
	store := NewMemoryStore()
	store.Store(ctx, "amit", "REFRESH-SECRET-1")
	path := filepath.Join(t.TempDir(), "token")
	assertion := fakeJWT(map[string]any{"sub": "ASSERTION-SECRET-2", "exp": time.Now().Add(time.Hour).Unix()})
	os.WriteFile(path, []byte(assertion), 0o600)
	fa, _ := NewFileAssertion(path)
	if _, err := fa.Assertion(ctx); err != nil {
		t.Fatal(err)
	}
	holders := map[string]any{
		"ClientSecretBasic": ClientSecretBasic("CLIENT-SECRET-3"),
		"ClientSecretPost":  ClientSecretPost("CLIENT-SECRET-3"),
		"Client":            Client{ID: "svc", TokenURL: "https://idp.example/token", Auth: ClientSecretPost("CLIENT-SECRET-3")},
		"*Client":           &Client{ID: "svc", TokenURL: "https://idp.example/token", Auth: ClientSecretBasic("CLIENT-SECRET-3")},
		"PrivateKeyJWT":     jwtAuth,
		"ClientAssertion":   ClientAssertion(fa.Assertion),
		"MemoryStore":       store,
		"FileAssertion":     fa,
		"Authorization":     Authorization{URL: "https://idp.example/authorize", State: "s", Nonce: "n", Verifier: "VERIFIER-SECRET-4"},
		"*Authorization":    &Authorization{URL: "https://idp.example/authorize", State: "s", Nonce: "n", Verifier: "VERIFIER-SECRET-4"},
		"*DeviceCode":       &DeviceCode{UserCode: "ABCD", DeviceCode: "DEVICE-SECRET-5"},
	}
	secrets := []string{"REFRESH-SECRET", "ASSERTION-SECRET", "VERIFIER-SECRET", "DEVICE-SECRET", assertion[:20], "CLIENT-SECRET", "PRIVATE", key.D.String()[:12]}
	for name, h := range holders {
		t.Run(name, func(t *testing.T) {
			var outs []string
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
				outs = append(outs, fmt.Sprintf(verb, h), fmt.Sprintf(verb, []any{h}), fmt.Sprintf(verb, struct{ H any }{h}))
			}
			b, err := json.Marshal(h)
			if err != nil {
				t.Fatal(err)
			}
			outs = append(outs, string(b))
			var buf bytes.Buffer
			slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "h", h)
			slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "h", h)
			outs = append(outs, buf.String())
			for _, out := range outs {
				for _, s := range secrets {
					if strings.Contains(out, s) {
						t.Fatalf("output leaks %q: %s", s, out)
					}
				}
			}
		})
	}
}
