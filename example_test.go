package idbridge_test

import (
	"context"
	"fmt"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/jwkstest"
)

// ReasonOf turns any idbridge error into the reason class that errors, audit
// events and HTTP/gRPC answers share, so an API can log and count
// rejections without matching on error strings.
func ExampleReasonOf() {
	idp := jwkstest.NewServer() // stands in for the bank's identity provider
	defer idp.Close()
	v, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: idp.Issuer()}}
		o.Audiences = []string{jwkstest.APIClientID} // the API's client ID: aud of Entra v2.0 tokens
		o.Algorithms = []string{"RS256"}
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()

	for _, tok := range []string{
		idp.Mint(map[string]any{"aud": jwkstest.APIClientID}),
		idp.Mint(map[string]any{"aud": "api://payments"}),
		idp.Mint(map[string]any{"aud": jwkstest.APIClientID, "exp": 1}),
		"not-a-token",
	} {
		_, err := v.Validate(context.Background(), tok)
		fmt.Printf("%q\n", idbridge.ReasonOf(err))
	}
	// Output:
	// ""
	// "audience"
	// "expired"
	// "malformed"
}
