package ssf_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/idbridge/idbridge/jwks/revocation"
	"github.com/idbridge/idbridge/jwks/revocation/ssf"
)

// A governance system (the SSF transmitter) reports that Leo's account is
// disabled; the receiver validates the SET and revokes Leo's tokens.
func ExampleReceiver() {
	// The transmitter: its signing key and JWKS endpoint.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pt, _ := key.PublicKey.Bytes()
	b64 := base64.RawURLEncoding.EncodeToString
	jwksDoc := fmt.Sprintf(`{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","x":%q,"y":%q}]}`, b64(pt[1:33]), b64(pt[33:]))
	transmitter := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, jwksDoc)
	}))
	defer transmitter.Close()

	// The receiver, in the Lending API.
	list, _ := revocation.New()
	rcv, err := ssf.NewReceiver(list, func(o *ssf.Options) {
		o.Issuer = "https://ssf.governance.example"
		o.JWKSURL = transmitter.URL + "/jwks.json"
		o.Audience = "https://lending.example/ssf/events"
		o.EntraTenantID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
		o.HTTPClient = transmitter.Client()
	})
	if err != nil {
		log.Fatal(err)
	}
	defer rcv.Close()
	api := httptest.NewServer(rcv)
	defer api.Close()

	// The transmitter pushes a RISC account-disabled SET (RFC 8935).
	set := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{
		"iss": "https://ssf.governance.example", "aud": "https://lending.example/ssf/events",
		"iat": time.Now().Unix(), "jti": "4d3559ec67504aaba65d40b0363faad8",
		"events": map[string]any{ssf.AccountDisabled: map[string]any{
			"subject": map[string]any{"format": "opaque", "id": "7b2c1e8a-4f3d-4a9e-9c61-0e5d2f1a3b44"},
			"reason":  "leaver",
		}},
	})
	set.Header["typ"], set.Header["kid"] = "secevent+jwt", "k1"
	signed, _ := set.SignedString(key)
	resp, err := http.Post(api.URL, "application/secevent+jwt", strings.NewReader(signed))
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status)
	for _, e := range list.Entries() {
		fmt.Println(e)
	}
	// Output:
	// 202 Accepted
	// subject tid=72f988bf-86f1-41af-91ab-2d7cd011db47 oid=7b2c1e8a-4f3d-4a9e-9c61-0e5d2f1a3b44
}
