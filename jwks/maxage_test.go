package jwks_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/jwkstest"
)

// Options.MaxAge validates tokens without exp by the age of their iat, as
// Security Event Tokens (RFC 8417) need.
func TestMaxAge(t *testing.T) {
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	idp := jwkstest.Start(t, func(o *jwkstest.Options) { o.Now = func() time.Time { return now } })
	newV := func(maxAge time.Duration) *jwks.Validator {
		v, err := jwks.NewValidator(func(o *jwks.Options) {
			o.Issuers = []jwks.Issuer{{Issuer: idp.Issuer(), JWKSURL: idp.JWKSURL()}}
			o.Audiences = []string{"https://receiver.example/ssf"}
			o.Algorithms = []string{"RS256"}
			o.MaxAge = maxAge
			o.Now = func() time.Time { return now }
			o.HTTPClient = idp.Client()
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { v.Close() })
		return v
	}
	aud := "https://receiver.example/ssf"
	tests := []struct {
		name   string
		maxAge time.Duration
		claims map[string]any
		want   error
	}{
		{"no exp, fresh iat", time.Hour, map[string]any{"aud": aud, "exp": nil}, nil},
		{"no exp, iat within leeway of max age", time.Hour, map[string]any{"aud": aud, "exp": nil, "iat": now.Add(-time.Hour - 30*time.Second).Unix()}, nil},
		{"no exp, iat too old", time.Hour, map[string]any{"aud": aud, "exp": nil, "iat": now.Add(-2 * time.Hour).Unix()}, jwks.ErrExpired},
		{"no exp, no iat", time.Hour, map[string]any{"aud": aud, "exp": nil, "iat": nil}, jwks.ErrMissingClaim},
		{"exp present and past", time.Hour, map[string]any{"aud": aud, "exp": now.Add(-time.Hour).Unix()}, jwks.ErrExpired},
		{"iat in the future", time.Hour, map[string]any{"aud": aud, "exp": nil, "iat": now.Add(time.Hour).Unix()}, jwks.ErrIssuedInFuture},
		{"without MaxAge exp stays required", 0, map[string]any{"aud": aud, "exp": nil}, jwks.ErrMissingClaim},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newV(tt.maxAge).Validate(context.Background(), idp.Mint(tt.claims))
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Validate = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: idp.Issuer(), JWKSURL: idp.JWKSURL()}}
		o.Audiences, o.Algorithms, o.MaxAge = []string{aud}, []string{"RS256"}, -time.Second
	}); !errors.Is(err, idbridge.ErrInvalidOptions) {
		t.Fatalf("negative MaxAge: %v", err)
	}
}
