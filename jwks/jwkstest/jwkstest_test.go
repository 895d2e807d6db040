package jwkstest_test

import (
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/jwkstest"
)

func get(t *testing.T, s *jwkstest.Server, path string) (map[string]any, http.Header) {
	t.Helper()
	resp, err := s.Client().Get(s.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	return m, resp.Header
}

func TestWireFormat(t *testing.T) {
	for _, alg := range []string{"RS256", "ES256", "ES384", "ES512", "EdDSA", "PS256"} {
		t.Run(alg, func(t *testing.T) {
			s := jwkstest.Start(t, func(o *jwkstest.Options) { o.Algorithm = alg })
			disc, _ := get(t, s, "/.well-known/openid-configuration")
			if disc["issuer"] != s.Issuer() || disc["jwks_uri"] != s.JWKSURL() {
				t.Fatalf("discovery %v", disc)
			}
			doc, h := get(t, s, "/keys")
			if h.Get("Cache-Control") != "max-age=3600" || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
				t.Fatalf("headers %v", h)
			}
			keys := doc["keys"].([]any)
			k := keys[0].(map[string]any)
			if k["alg"] != alg || k["use"] != "sig" || k["kid"] != s.KeyID() {
				t.Fatalf("jwk %v", k)
			}
			parsed, skipped, err := jwks.ParseJWKS(s.JWKS())
			if err != nil || len(skipped) > 0 || len(parsed) != 1 {
				t.Fatalf("ParseJWKS: %v %v %v", parsed, skipped, err)
			}
		})
	}
}

func TestEntraShape(t *testing.T) {
	s := jwkstest.Start(t, func(o *jwkstest.Options) { o.Entra = true })
	doc, _ := get(t, s, "/organizations/discovery/v2.0/keys")
	k := doc["keys"].([]any)[0].(map[string]any)
	if _, ok := k["alg"]; ok {
		t.Fatal("Entra keys carry no alg")
	}
	if k["issuer"] != s.URL+"/{tenantid}/v2.0" || k["x5t"] != k["kid"] {
		t.Fatalf("jwk %v", k)
	}
	der, _ := base64.StdEncoding.DecodeString(k["x5c"].([]any)[0].(string))
	cert, err := x509.ParseCertificate(der)
	if err != nil || !cert.PublicKey.(interface{ Equal(x crypto.PublicKey) bool }).Equal(s.PublicKey()) {
		t.Fatalf("x5c does not hold the signing key: %v", err)
	}
	disc, _ := get(t, s, "/organizations/v2.0/.well-known/openid-configuration")
	if disc["issuer"] != s.URL+"/{tenantid}/v2.0" || disc["jwks_uri"] != s.URL+"/organizations/discovery/v2.0/keys" {
		t.Fatalf("discovery %v", disc)
	}
	disc, _ = get(t, s, "/t1/v2.0/.well-known/openid-configuration")
	if disc["issuer"] != s.EntraIssuer("t1") {
		t.Fatalf("tenant discovery %v", disc)
	}
}

func TestMintRotateOutage(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	s := jwkstest.Start(t, func(o *jwkstest.Options) { o.Now = func() time.Time { return now }; o.TokenLifetime = time.Minute })
	tok := s.Mint(map[string]any{"sub": "u", "exp": nil})
	parts := strings.Split(tok, ".")
	var hdr, claims map[string]any
	h, _ := base64.RawURLEncoding.DecodeString(parts[0])
	p, _ := base64.RawURLEncoding.DecodeString(parts[1])
	_ = json.Unmarshal(h, &hdr)
	_ = json.Unmarshal(p, &claims)
	if hdr["alg"] != "RS256" || hdr["kid"] != s.KeyID() || hdr["typ"] != "JWT" {
		t.Fatalf("header %v", hdr)
	}
	if claims["iss"] != s.Issuer() || claims["sub"] != "u" || claims["iat"] != float64(now.Unix()) || claims["exp"] != nil {
		t.Fatalf("claims %v", claims)
	}

	old := s.KeyID()
	soft := s.Rotate(false)
	if len(jwksKeys(t, s)) != 2 || s.KeyID() != soft {
		t.Fatal("soft rotation")
	}
	hard := s.Rotate(true)
	if ks := jwksKeys(t, s); len(ks) != 1 || ks[0] != hard || hard == old {
		t.Fatal("hard rotation")
	}
	if n := s.Requests("jwks"); n != 2 {
		t.Fatalf("Requests = %d", n)
	}
	s.SetStatus(http.StatusServiceUnavailable)
	resp, err := s.Client().Get(s.JWKSURL())
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("outage: %v %v", resp, err)
	}
	resp.Body.Close()
}

func jwksKeys(t *testing.T, s *jwkstest.Server) []string {
	doc, _ := get(t, s, "/keys")
	var kids []string
	for _, k := range doc["keys"].([]any) {
		kids = append(kids, k.(map[string]any)["kid"].(string))
	}
	return kids
}

func Example() {
	idp := jwkstest.NewServer(func(o *jwkstest.Options) { o.Algorithm = "ES256" })
	defer idp.Close()

	token := idp.Mint(map[string]any{"aud": "api://orders", "sub": "amit"})
	fmt.Println(strings.Count(token, "."), idp.Algorithm())

	idp.Rotate(true) // hard rotation: the old key is no longer published
	fmt.Println(len(idp.KeyID()) > 0)
	// Output:
	// 2 ES256
	// true
}
