package jwks_test

import (
	"testing"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/jwks"
)

// ValidUntil is the last moment Validate still accepts the claims by time.
func TestValidUntil(t *testing.T) {
	iat := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	exp := iat.Add(time.Hour)
	tests := []struct {
		name       string
		maxAge     time.Duration
		leeway     time.Duration
		iat, exp   time.Time
		want       time.Time
		wantLeeway time.Duration
	}{
		{"exp", 0, 0, iat, exp, exp.Add(jwks.DefaultLeeway), jwks.DefaultLeeway},
		{"exp, no leeway", 0, -1, iat, exp, exp, 0},
		{"max age first", 10 * time.Minute, 5 * time.Second, iat, exp, iat.Add(10*time.Minute + 5*time.Second + 1), 5 * time.Second},
		{"exp first", 2 * time.Hour, 5 * time.Second, iat, exp, exp.Add(5 * time.Second), 5 * time.Second},
		{"max age, no exp", 10 * time.Minute, 5 * time.Second, iat, time.Time{}, iat.Add(10*time.Minute + 5*time.Second + 1), 5 * time.Second},
		{"neither", 0, 0, iat, time.Time{}, time.Time{}, jwks.DefaultLeeway},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := jwks.NewValidator(func(o *jwks.Options) {
				o.Issuers = []jwks.Issuer{{Issuer: "https://issuer.example", Keys: jwks.NewStaticKeySet()}}
				o.Audiences, o.Algorithms = []string{"api"}, []string{"RS256"}
				o.MaxAge, o.Leeway = tt.maxAge, tt.leeway
			})
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			if got := v.ValidUntil(&idbridge.Claims{IssuedAt: tt.iat, ExpiresAt: tt.exp}); !got.Equal(tt.want) {
				t.Errorf("ValidUntil = %v, want %v", got, tt.want)
			}
			if got := v.ValidUntil(nil); !got.Equal(time.Unix(0, 0)) {
				t.Errorf("ValidUntil(nil) = %v, want the Unix epoch (over at once)", got)
			}
			if v.Leeway() != tt.wantLeeway {
				t.Errorf("Leeway = %v, want %v", v.Leeway(), tt.wantLeeway)
			}
			if got := v.Issuers(); len(got) != 1 || got[0] != "https://issuer.example" {
				t.Errorf("Issuers = %q", got)
			}
		})
	}
}
