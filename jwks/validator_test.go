package jwks_test

import (
	"context"
	"errors"
	"testing"

	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/jwkstest"
)

func newValidator(t *testing.T, idp *jwkstest.Server, fns ...func(*jwks.Options)) *jwks.Validator {
	t.Helper()
	v, err := jwks.NewValidator(append([]func(*jwks.Options){func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: idp.Issuer(), JWKSURL: idp.JWKSURL()}}
		o.Audiences = []string{"api://orders"}
		o.Algorithms = []string{"RS256", "ES256", "EdDSA"}
		o.HTTPClient = idp.Client()
	}}, fns...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

func TestValidateSmoke(t *testing.T) {
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			idp := jwkstest.Start(t, func(o *jwkstest.Options) { o.Algorithm = alg })
			v := newValidator(t, idp)
			tok := idp.Mint(map[string]any{"aud": "api://orders", "sub": "u1", "scp": "read write", "roles": []string{"Admin"}})
			c, err := v.Validate(context.Background(), tok)
			if err != nil {
				t.Fatal(err)
			}
			if c.Subject != "u1" || !c.HasScope("write") || !c.HasRole("Admin") || c.Algorithm() != alg {
				t.Fatalf("claims %+v", c)
			}
			_, err = v.Validate(context.Background(), idp.Mint(map[string]any{"aud": "api://other"}))
			if !errors.Is(err, jwks.ErrAudience) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}
