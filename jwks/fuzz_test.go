package jwks_test

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/idbridge/idbridge/internal/jwt"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/jwkstest"
)

// fuzzValidator builds a validator over a static key set (no network) and
// the fake IdP that mints seeds for it.
func fuzzValidator(f *testing.F) (*jwks.Validator, *jwkstest.Server) {
	idp := jwkstest.Start(f, func(o *jwkstest.Options) { o.Now = fixedNow })
	k, err := jwks.NewKey(idp.KeyID(), "", idp.PublicKey())
	if err != nil {
		f.Fatal(err)
	}
	v, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: idp.Issuer(), Keys: jwks.NewStaticKeySet(k)}}
		o.Audiences = []string{"api://orders"}
		o.Algorithms = []string{"RS256", "ES256"}
		o.Now = fixedNow
		o.Cache = &jwks.CacheOptions{}
	})
	if err != nil {
		f.Fatal(err)
	}
	return v, idp
}

func checkFuzzResult(t *testing.T, token string, c *idbridge.Claims, err error) {
	if err == nil {
		if c == nil {
			t.Fatal("nil claims without error")
		}
		return
	}
	if c != nil {
		t.Fatal("claims with an error")
	}
	if idbridge.ReasonOf(err) == "" {
		t.Fatalf("error without reason class: %v", err)
	}
	var ve *jwks.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error is not a *ValidationError: %v", err)
	}
	for _, part := range strings.Split(token, ".") {
		if len(part) >= 24 && strings.Contains(err.Error(), part) {
			t.Fatalf("error contains a token segment: %v", err)
		}
	}
}

// FuzzValidate feeds arbitrary strings to Validate: every input yields
// claims or a classed error, never a panic.
func FuzzValidate(f *testing.F) {
	v, idp := fuzzValidator(f)
	good := idp.Mint(map[string]any{"aud": "api://orders", "sub": "u1", "scp": "a b", "roles": []string{"r"}})
	f.Add(good)
	f.Add(good + ".")
	f.Add(strings.Replace(good, ".", "..", 1))
	f.Add("")
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")
	f.Add(idp.SignRaw([]byte(`{"alg":"RS256","kid":"`+idp.KeyID()+`"}`), []byte(`{"exp":1,"exp":2}`)))
	f.Add(idp.SignRaw([]byte(`{"alg":"RS256","crit":["x"]}`), []byte(`{}`)))
	f.Add(good[:8] + "\n" + good[8:])
	f.Add(strings.Replace(good, ".", "=.", 1))
	f.Fuzz(func(t *testing.T, token string) {
		c, err := v.Validate(context.Background(), token)
		checkFuzzResult(t, token, c, err)
		// One reader: what jwt.Parse refuses, Validate refuses, and
		// what Validate accepts, jwt.Parse reads the same.
		u, uerr := jwt.Parse(token)
		if uerr != nil {
			if !errors.Is(uerr, idbridge.ErrMalformed) {
				t.Fatalf("jwt.Parse: %v", uerr)
			}
			if err == nil {
				t.Fatal("jwt.Parse refused what Validate accepted")
			}
		} else if err == nil {
			a, _ := c.MarshalJSON()
			b, _ := u.MarshalJSON()
			if string(a) != string(b) || u.Subject != c.Subject || u.Header.KeyID != c.Header.KeyID {
				t.Fatal("jwt.Parse reads the token differently")
			}
		}
	})
}

// FuzzClaimsJSON signs arbitrary payload bytes, so the fuzzer mutates the
// JSON itself rather than its base64: the claims decoder sees every shape.
func FuzzClaimsJSON(f *testing.F) {
	v, idp := fuzzValidator(f)
	hdr := []byte(`{"alg":"RS256","kid":"` + idp.KeyID() + `"}`)
	sig := strings.Split(idp.Mint(nil), ".")[2]
	f.Add([]byte(claimsJSON(idp.Issuer(), nil)))
	f.Add([]byte(claimsJSON(idp.Issuer(), map[string]any{"aud": []string{"x", "api://orders"}, "_claim_names": map[string]string{"groups": "s"}, "_claim_sources": map[string]any{"s": map[string]string{"endpoint": "e"}}})))
	f.Add([]byte(`{"iss":"\u0041","exp":1e3,"nbf":-0.5,"x":[{"y":null},true,false]}`))
	f.Add([]byte(`{"a":"\ud800\udc00","b":"\ud800"}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"scp":"a b","scope":["b","a"],"azp":"c","client_id":"c","nonce":null,"at_hash":"h"}`))
	f.Add([]byte(`{"scope":"a","client_id":"c","appid":"d","idtyp":"app"}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		// The signature does not match (except for the seed it came from),
		// which exercises parsing up to the signature check.
		token := base64.RawURLEncoding.EncodeToString(hdr) + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + sig
		c, err := v.Validate(context.Background(), token)
		checkFuzzResult(t, token, c, err)
		if signed := idp.SignRaw(hdr, payload); len(payload) < 512 {
			c, err := v.Validate(context.Background(), signed)
			checkFuzzResult(t, signed, c, err)
			if err == nil {
				if _, ok := c.Get("exp"); !ok {
					t.Fatal("valid token without exp")
				}
			}
		}
	})
}

// FuzzParseJWKS feeds arbitrary documents to the JWK Set parser.
func FuzzParseJWKS(f *testing.F) {
	for _, name := range []string{"entra-common-jwks.json", "google-jwks.json"} {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}`))
	f.Add([]byte(`{"keys":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, _, err := jwks.ParseJWKS(data)
		if err != nil && keys != nil {
			t.Fatal("keys with an error")
		}
		for _, k := range keys {
			if k == nil || k.Public == nil {
				t.Fatal("nil key")
			}
		}
	})
}
