package idp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/idbridge/idbridge/integration/idp"
)

// verifyForExample checks a token against the provider's JWKS.
func verifyForExample(p *idp.Provider, token string) (jwt.MapClaims, error) {
	resp, err := p.HTTPClient().Get(p.JWKSURL())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	kf, err := keyfunc.NewJWKSetJSON(json.RawMessage(raw))
	if err != nil {
		return nil, err
	}
	claims := jwt.MapClaims{}
	_, err = jwt.ParseWithClaims(token, claims, kf.Keyfunc, jwt.WithIssuer(p.Issuer()), jwt.WithValidMethods([]string{"RS256"}))
	return claims, err
}

// A daemon gets an app-only token with client_credentials.
func Example() {
	p, err := idp.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()

	cfg := clientcredentials.Config{
		ClientID:     idp.ClientAnalyticsSvc,
		ClientSecret: idp.AnalyticsSvcSecret,
		TokenURL:     p.TokenURL(),
		Scopes:       []string{idp.ResourceLending + "/.default"},
	}
	tok, err := cfg.Token(context.WithValue(context.Background(), oauth2.HTTPClient, p.HTTPClient()))
	if err != nil {
		fmt.Println(err)
		return
	}
	claims, err := verifyForExample(p, tok.AccessToken)
	if err != nil {
		fmt.Println(err)
		return
	}
	aud, _ := claims.GetAudience()
	fmt.Println(aud, claims["roles"], claims["idtyp"], claims["tid"] == idp.ScenarioTenantID)
	// Output: [3c6e1a2b-7d4f-4e8a-9b0c-1d2e3f4a5b61] [Analytics.Read] app true
}

// A user signs in headlessly with the authorization code flow and PKCE.
func ExampleProvider_Login() {
	p, err := idp.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, p.HTTPClient())

	cfg := &oauth2.Config{
		ClientID: idp.ClientLendingWeb, ClientSecret: idp.LendingWebSecret,
		Endpoint: p.Endpoint(), RedirectURL: idp.ScenarioRedirectURI,
		Scopes: []string{"openid", "offline_access", idp.ResourceLending + "/Loans.Read"},
	}
	verifier := oauth2.GenerateVerifier()
	redirect, err := p.Login(ctx, cfg.AuthCodeURL("state", oauth2.S256ChallengeOption(verifier)), idp.UserAmit, idp.AmitPassword)
	if err != nil {
		fmt.Println(err)
		return
	}
	tok, err := cfg.Exchange(ctx, redirect.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		fmt.Println(err)
		return
	}
	claims, err := verifyForExample(p, tok.AccessToken)
	if err != nil {
		fmt.Println(err)
		return
	}
	groups, _ := claims["groups"].([]any)
	aud, _ := claims.GetAudience()
	fmt.Println(claims["name"], aud, claims["scp"], idp.GroupNames[groups[0].(string)], claims["amr"])
	fmt.Println("refresh token issued:", tok.RefreshToken != "")
	// Output:
	// Amit R [3c6e1a2b-7d4f-4e8a-9b0c-1d2e3f4a5b61] Loans.Read Lending_RM [pwd mfa]
	// refresh token issued: true
}
