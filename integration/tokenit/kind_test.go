package tokenit

import (
	"errors"
	"testing"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/integration/idp"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/token"
)

// TestAccessTokensOnly: the provider's ID tokens — from the sign-in and
// from a refresh — are refused by access-token validation as type even
// when their aud (the signing-in client) is an accepted audience, while its
// delegated and app-only access tokens pass; ID-token validation refuses
// the access tokens.
func TestAccessTokensOnly(t *testing.T) {
	p := idp.StartTest(t)
	ctx := testContext(t)
	amit := signIn(t, p, idp.UserAmit, idp.AmitPassword, "offline_access", idp.ResourceLending+"/Loans.Read")
	app := appToken(t, p, idp.ResourceLending+"/.default")

	c := lendingWeb()
	c.TokenURL = p.TokenURL()
	store := token.NewMemoryStore()
	r, err := token.NewRefresh(c, store, "lending-web/amit", nil, refreshOpts(p, nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Seed(ctx, amit); err != nil {
		t.Fatal(err)
	}
	refreshed, err := r.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// Both audiences accepted, so only the kind of token can refuse.
	v := accessTokenValidator(t, p, idp.ClientLendingWeb, idp.LendingAppID)
	tests := []struct {
		name      string
		token     string
		accessErr error // from Validate
		idErr     error // from ValidateIDToken
	}{
		{"sign-in ID token", amit.IDToken, jwks.ErrType, nil},
		{"refreshed ID token", refreshed.IDToken, jwks.ErrType, nil},
		{"delegated access token", amit.AccessToken, nil, jwks.ErrType},
		{"refreshed access token", refreshed.AccessToken, nil, jwks.ErrType},
		{"app-only access token", app, nil, jwks.ErrType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.token == "" {
				t.Skip("the provider issued no such token")
			}
			check := func(what string, err, want error) {
				t.Helper()
				if want == nil && err != nil || want != nil && (!errors.Is(err, want) || idbridge.ReasonOf(err) != "type") {
					t.Fatalf("%s = %v, want %v", what, err, want)
				}
			}
			_, err := v.Validate(ctx, tt.token)
			check("Validate", err, tt.accessErr)
			_, err = v.ValidateIDToken(ctx, tt.token, "")
			check("ValidateIDToken", err, tt.idErr)
		})
	}
}
