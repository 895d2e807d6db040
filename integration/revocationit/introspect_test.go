package revocationit

import (
	"context"
	"errors"
	"testing"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/integration/idp"
	"github.com/idbridge/idbridge/jwks/revocation"
	"github.com/idbridge/idbridge/token"
)

// token.Introspector answers, wrapped with the list, refuse a revoked
// caller: the real provider (zitadel/oidc) still says active, the list
// says revoked.
func TestIntrospectorAnswersRevoked(t *testing.T) {
	p := idp.StartTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	withHTTP := func(o *token.Options) { o.HTTPClient = p.HTTPClient() }
	cc, err := token.NewClientCredentials(token.Client{ID: idp.ClientAnalyticsSvc, TokenURL: p.TokenURL(), Auth: token.ClientSecretBasic(idp.AnalyticsSvcSecret)},
		[]string{idp.ResourceLending + "/.default"}, withHTTP)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cc.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	in, err := token.NewIntrospector(token.Client{ID: idp.ClientLendingAPI, TokenURL: p.TokenURL(), Auth: token.ClientSecretBasic(idp.LendingAPISecret)},
		p.IntrospectionURL(), func(o *token.IntrospectorOptions) {
			o.Issuers = []string{p.Issuer()}
			o.Audiences = []string{idp.LendingAppID}
			o.HTTPClient = p.HTTPClient()
		})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	list, _ := revocation.New()
	v := revocation.NewValidator(in, list)
	c, err := v.Validate(ctx, tok.AccessToken)
	if err != nil {
		t.Fatalf("before the revocation: %v", err)
	}
	must(t, list.Revoke(ctx, revocation.IssuerSubject(c.Issuer, c.Subject)))
	if _, err := v.Validate(ctx, tok.AccessToken); !errors.Is(err, revocation.ErrRevoked) || idbridge.ReasonOf(err) != "revoked" {
		t.Fatalf("after the revocation: %v", err)
	}
	if _, err := in.Validate(ctx, tok.AccessToken); err != nil {
		t.Fatalf("the provider itself: %v", err)
	}
}
