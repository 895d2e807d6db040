package keyfuncset_test

import (
	"context"
	"fmt"
	"log"

	"github.com/MicahParks/keyfunc/v3"

	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/jwkstest"
	"github.com/idbridge/idbridge/jwks/keyfuncset"
)

// A service that already runs github.com/MicahParks/keyfunc/v3 hands its
// key store to the validator instead of fetching the keys a second time.
func ExampleNew() {
	idp := jwkstest.NewServer()
	defer idp.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // stops keyfunc's refresh goroutine
	k, err := keyfunc.NewDefaultCtx(ctx, []string{idp.JWKSURL()})
	if err != nil {
		log.Fatal(err)
	}
	v, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: idp.Issuer(), Keys: keyfuncset.New(k)}}
		o.Audiences = []string{"api://orders"}
		o.Algorithms = []string{"RS256"}
	})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	claims, err := v.Validate(ctx, idp.Mint(map[string]any{"aud": "api://orders", "sub": "amit"}))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(claims.Subject, claims.Header.KeyID == idp.KeyID())
	// Output: amit true
}
