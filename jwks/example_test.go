package jwks_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/jwkstest"
)

// The common setup for an API: trust one issuer, accept one audience, allow
// one algorithm, cache verified tokens.
func ExampleNewValidator() {
	idp := jwkstest.NewServer() // stands in for your OpenID provider
	defer idp.Close()

	v, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: idp.Issuer()}} // keys found by OpenID discovery
		o.Audiences = []string{"api://orders"}
		o.Algorithms = []string{"RS256"}
		o.Cache = &jwks.CacheOptions{}
	})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	ctx := context.Background()
	token := idp.Mint(map[string]any{"aud": "api://orders", "sub": "amit", "scp": "Orders.Read"})
	claims, err := v.Validate(ctx, token)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(claims.Subject, claims.HasScope("Orders.Read"))
	// The verified JOSE header: which key signed the token, and how.
	fmt.Println(claims.Header.Algorithm, claims.Header.KeyID == idp.KeyID())

	_, err = v.Validate(ctx, idp.Mint(map[string]any{"aud": "api://payments"}))
	fmt.Println(idbridge.ReasonOf(err), errors.Is(err, jwks.ErrAudience))
	var ve *jwks.ValidationError
	fmt.Println(errors.As(err, &ve) && ve.Reason() == idbridge.ReasonAudience)
	// Output:
	// amit true
	// RS256 true
	// audience true
	// true
}

// An API registered in Microsoft Entra ID, configured from its tenant and
// application (client) ID as Microsoft.Identity.Web is: v2.0 tokens carry
// the client ID as aud, v1.0 tokens the App ID URI.
func ExampleEntraAPI() {
	// A stand-in for login.microsoftonline.com and sts.windows.net that
	// publishes keys in Entra's shape and mints tokens as Entra issues them.
	entra := jwkstest.NewServer(func(o *jwkstest.Options) { o.Entra = true })
	defer entra.Close()

	const (
		tenant  = "72f988bf-86f1-41af-91ab-2d7cd011db47" // Directory (tenant) ID
		lending = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b" // Application (client) ID
		other   = "99999999-9999-4999-8999-999999999999" // another API
	)
	v, err := jwks.NewValidator(jwks.EntraAPI(tenant, lending, func(e *jwks.EntraOptions) {
		e.Versions = []string{jwks.EntraV2, jwks.EntraV1} // while the API migrates to v2.0
		e.Authority, e.V1Authority = entra.URL, entra.URL // in production leave them empty
	}))
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	for _, token := range []string{
		entra.EntraAccessToken(jwkstest.EntraToken{Tenant: tenant, API: lending, Scopes: []string{"Loans.Read"}}),
		entra.EntraAccessToken(jwkstest.EntraToken{Version: jwks.EntraV1, Tenant: tenant, API: lending, Scopes: []string{"Loans.Read"}}),
		entra.EntraAccessToken(jwkstest.EntraToken{Tenant: tenant, API: other, Scopes: []string{"Loans.Read"}}),
	} {
		claims, err := v.Validate(context.Background(), token)
		if err != nil {
			fmt.Println("rejected:", idbridge.ReasonOf(err))
			continue
		}
		fmt.Println(claims.Version, claims.Audience, claims.Scopes)
	}
	// Output:
	// 2.0 [6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b] [Loans.Read]
	// 1.0 [api://6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b] [Loans.Read]
	// rejected: audience
}

// A multi-tenant API behind Microsoft Entra ID: trust v2.0 and v1.0 tokens
// of two customer tenants, refuse every other tenant.
func ExampleEntra() {
	// A stand-in for login.microsoftonline.com that publishes keys in Entra's
	// shape; in production leave Authority and V1Authority empty.
	entra := jwkstest.NewServer(func(o *jwkstest.Options) { o.Entra = true })
	defer entra.Close()

	const (
		lending  = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b" // the API's client ID: aud of v2.0 tokens
		contoso  = "72f988bf-86f1-41af-91ab-2d7cd011db47"
		fabrikam = "0b3d1f6e-5c2a-4d8e-9f1a-2b3c4d5e6f70"
		stranger = "deadbeef-0000-4000-8000-000000000000"
	)
	v, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = jwks.Entra("organizations", func(e *jwks.EntraOptions) {
			e.Tenants = []string{contoso, fabrikam}
			e.Versions = []string{jwks.EntraV2, jwks.EntraV1}
			e.Authority, e.V1Authority = entra.URL, entra.URL+"/sts"
		})
		o.Audiences = []string{lending}
		o.Algorithms = []string{"RS256"}
	})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	for _, tid := range []string{contoso, fabrikam, stranger} {
		token := entra.EntraAppToken(jwkstest.EntraToken{Tenant: tid, API: lending, Roles: []string{"LoanViewer"}})
		claims, err := v.Validate(context.Background(), token)
		if err != nil {
			fmt.Println(tid[:8], "rejected:", idbridge.ReasonOf(err))
			continue
		}
		fmt.Println(tid[:8], "accepted:", claims.Roles)
	}
	// Output:
	// 72f988bf accepted: [LoanViewer]
	// 0b3d1f6e accepted: [LoanViewer]
	// deadbeef rejected: tenant
}

// An OpenID Connect login: the ID token must carry the nonce the client
// sent with the authorization request.
func ExampleValidator_ValidateIDToken() {
	idp := jwkstest.NewServer()
	defer idp.Close()
	v, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: idp.Issuer(), JWKSURL: idp.JWKSURL()}}
		o.Audiences = []string{"web-client"}
		o.Algorithms = []string{"RS256"}
	})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	idToken := idp.Mint(map[string]any{"aud": "web-client", "sub": "amit", "nonce": "n-0S6_WzA2Mj"})
	_, err = v.ValidateIDToken(context.Background(), idToken, "n-0S6_WzA2Mj")
	fmt.Println(err)
	_, err = v.ValidateIDToken(context.Background(), idToken, "another-nonce")
	fmt.Println(idbridge.ReasonOf(err))
	// Output:
	// <nil>
	// missing_claim
}
