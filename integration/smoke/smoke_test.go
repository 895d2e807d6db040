// Package smoke checks, with nothing but the standard OAuth and JWT
// libraries, that the integration-test provider issues tokens a validator
// written against Entra would accept.
package smoke

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/idbridge/idbridge/integration/idp"
)

func TestClientCredentialsTokenVerifies(t *testing.T) {
	p := idp.StartTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	cfg := clientcredentials.Config{
		ClientID:     idp.ClientAnalyticsSvc,
		ClientSecret: idp.AnalyticsSvcSecret,
		TokenURL:     p.TokenURL(),
		Scopes:       []string{idp.ResourceAnalytics + "/.default"},
	}
	tok, err := cfg.Token(context.WithValue(ctx, oauth2.HTTPClient, p.HTTPClient()))
	if err != nil {
		t.Fatalf("client_credentials: %v", err)
	}

	kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{p.JWKSURL()}, keyfunc.Override{Client: p.HTTPClient()})
	if err != nil {
		t.Fatalf("keyfunc: %v", err)
	}
	claims := jwt.MapClaims{}
	parsed, err := jwt.ParseWithClaims(tok.AccessToken, claims, kf.Keyfunc,
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithIssuer(p.Issuer()),
		jwt.WithAudience(idp.AnalyticsAppID),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(5*time.Second),
	)
	if err != nil {
		t.Fatalf("the access token does not verify: %v", err)
	}
	if parsed.Header["kid"] != p.SigningKeyID() {
		t.Errorf("kid %v, want %s", parsed.Header["kid"], p.SigningKeyID())
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || !exp.After(time.Now()) {
		t.Errorf("exp %v (%v)", exp, err)
	}

	want := map[string]any{"tid": idp.ScenarioTenantID, "azp": idp.ClientAnalyticsSvc, "ver": "2.0", "idtyp": "app"}
	for k, v := range want {
		if claims[k] != v {
			t.Errorf("%s = %v, want %v", k, claims[k], v)
		}
	}
	if oid, _ := claims["oid"].(string); oid == "" || claims["sub"] != oid {
		t.Errorf("oid %v and sub %v must both name the service principal", claims["oid"], claims["sub"])
	}
	roles, _ := claims["roles"].([]any)
	if !slices.Equal(roles, []any{idp.RoleAnalyticsRead}) {
		t.Errorf("roles %v, want [%s]", claims["roles"], idp.RoleAnalyticsRead)
	}
	if _, ok := claims["scp"]; ok {
		t.Errorf("an app-only token carries scp %v", claims["scp"])
	}
}
