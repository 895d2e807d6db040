package ssf_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	transmitterIss = "https://ssf.governance.example"
	receiverAud    = "https://lending.example/ssf/events"
	tid            = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	leoOID         = "7b2c1e8a-4f3d-4a9e-9c61-0e5d2f1a3b44"
)

// transmitter mints SETs with golang-jwt (not the SDK's own code) and
// serves its JWKS over HTTPS, as an SSF transmitter does.
type transmitter struct {
	rsa  *rsa.PrivateKey
	ec   *ecdsa.PrivateKey
	srv  *httptest.Server
	now  time.Time
	jtis int
}

// keys holds two key pairs, generated once: the transmitter's and a
// forger's with the same kids.
var keys = sync.OnceValue(func() (k [2]struct {
	rsa *rsa.PrivateKey
	ec  *ecdsa.PrivateKey
}) {
	for i := range k {
		var err error
		if k[i].rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if k[i].ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
	}
	return k
})

func newTransmitter(t testing.TB, now time.Time) *transmitter { return newKeyedTransmitter(t, now, 0) }

// newForger is a transmitter with other keys under the same kids.
func newForger(t testing.TB, now time.Time) *transmitter { return newKeyedTransmitter(t, now, 1) }

func newKeyedTransmitter(t testing.TB, now time.Time, i int) *transmitter {
	t.Helper()
	rk, ek := keys()[i].rsa, keys()[i].ec
	tr := &transmitter{rsa: rk, ec: ek, now: now}
	b64 := base64.RawURLEncoding.EncodeToString
	pt, err := ek.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		t.Fatal(err)
	}
	jwksJSON, _ := json.Marshal(map[string]any{"keys": []map[string]string{
		{"kty": "RSA", "kid": "rsa-1", "use": "sig", "n": b64(rk.N.Bytes()), "e": b64(big.NewInt(int64(rk.E)).Bytes())},
		{"kty": "EC", "kid": "ec-1", "use": "sig", "crv": "P-256", "x": b64(pt[1:33]), "y": b64(pt[33:])},
	}})
	tr.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jwksJSON)
	}))
	t.Cleanup(tr.srv.Close)
	return tr
}

func (tr *transmitter) jwksURL() string { return tr.srv.URL + "/jwks.json" }

// set returns the claims of a SET with one event; override adds or (with
// nil) removes claims.
func (tr *transmitter) set(event string, payload map[string]any, override map[string]any) jwt.MapClaims {
	tr.jtis++
	c := jwt.MapClaims{
		"iss": transmitterIss, "aud": receiverAud, "iat": tr.now.Unix(),
		"jti":    "set-" + big.NewInt(int64(tr.jtis)).String() + "-" + tr.now.Format("150405.000"),
		"events": map[string]any{event: payload},
	}
	for k, v := range override {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// sign signs claims with RS256 ("rsa") or ES256 ("ec"), typ secevent+jwt
// unless header overrides it.
func (tr *transmitter) sign(t testing.TB, alg string, c jwt.MapClaims, header map[string]any) string {
	t.Helper()
	var tok *jwt.Token
	var key any
	switch alg {
	case "ec":
		tok, key = jwt.NewWithClaims(jwt.SigningMethodES256, c), tr.ec
		tok.Header["kid"] = "ec-1"
	default:
		tok, key = jwt.NewWithClaims(jwt.SigningMethodRS256, c), tr.rsa
		tok.Header["kid"] = "rsa-1"
	}
	tok.Header["typ"] = "secevent+jwt"
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func issSub(iss, sub string) map[string]any {
	return map[string]any{"format": "iss_sub", "iss": iss, "sub": sub}
}
func opaque(id string) map[string]any { return map[string]any{"format": "opaque", "id": id} }
