package bench

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The Entra-like identity every compared library must accept.
const (
	tenantID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	issuer   = "https://login.microsoftonline.com/" + tenantID + "/v2.0"
	audience = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b" // the API's client ID: aud of Entra v2.0 tokens
	leeway   = 60 * time.Second
	subject  = "Vb3XkL0xQ9mZr7Tq2WnYp4Hs6Jd8Fg1Ck5Ae3Uo7Ii0"
)

// entraClaims is the struct a service using golang-jwt or go-oidc would
// decode an Entra v2.0 access token into: the same typed fields idbridge's
// idbridge.Claims exposes for this token, so all libraries decode equally much.
type entraClaims struct {
	jwt.RegisteredClaims
	AIO               string   `json:"aio"`
	AZP               string   `json:"azp"`
	AZPACR            string   `json:"azpacr"`
	Name              string   `json:"name"`
	OID               string   `json:"oid"`
	PreferredUsername string   `json:"preferred_username"`
	RH                string   `json:"rh"`
	Roles             []string `json:"roles"`
	SCP               string   `json:"scp"`
	Groups            []string `json:"groups"`
	WIDs              []string `json:"wids"`
	SID               string   `json:"sid"`
	TID               string   `json:"tid"`
	UTI               string   `json:"uti"`
	Ver               string   `json:"ver"`
	XMSCC             []string `json:"xms_cc"`
}

// entraPayload returns the claims of a v2.0 Entra access token for a user in
// 20 groups, as Entra issues it to an API (typ JWT, tid-specific issuer):
// about 2.5 KB signed with RS256.
func entraPayload(now time.Time, aud string) map[string]any {
	groups := make([]string, 20)
	for i := range groups {
		groups[i] = fmt.Sprintf("%08x-4f1b-4b8e-9d6a-%012x", 0x0c3d9a2e+i, 0x1f2e3d4c5b60+i*7919)
	}
	return map[string]any{
		"aud":                aud,
		"iss":                issuer,
		"iat":                now.Add(-time.Minute).Unix(),
		"nbf":                now.Add(-time.Minute).Unix(),
		"exp":                now.Add(time.Hour).Unix(),
		"aio":                "AXQAi/8YAAAA2Jk0fX7oAyN+Wq7Lkq6z3mA9C7xQ5kM0yq1n9mS2iH4o6B5vR7lU9jP1cE3fW8dK2gT6sY0hN4bV7zX1aQ==",
		"azp":                "5f1e3c2b-7a6d-4e9f-8b1c-0d2e3f4a5b6c",
		"azpacr":             "0",
		"name":               "Amit R",
		"oid":                "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
		"preferred_username": "amit.r@contoso.com",
		"rh":                 "0.AXQAv4j5cvGGr0GRqy180BHbRw8BHl9temdOn4scDS4_SlsMAKE.",
		"roles":              []string{"LoanViewer", "KYC_ReadOnly"},
		"scp":                "Loans.Read Customers.Read",
		"groups":             groups,
		"sid":                "003a5e1b-7c2d-4e8f-9a0b-1c2d3e4f5a6b",
		"sub":                subject,
		"tid":                tenantID,
		"uti":                "Qx7bY2nA9kW3mP5rT8vZ1c",
		"ver":                "2.0",
		"xms_cc":             []string{"cp1"},
	}
}

// jwtFixture is one signing key, its JWK Set and the tokens it signed.
type jwtFixture struct {
	alg      string
	kid      string
	priv     crypto.Signer
	pub      crypto.PublicKey
	jwks     []byte // {"keys":[...]} with the one public key
	token    string // the Entra-like access token every library must accept
	input    []byte // token's signing input, header.payload
	sig      []byte // token's raw signature
	badSig   string // token with one signature bit flipped
	wrongAud string // validly signed, but for another API
	expired  string // validly signed, exp two hours ago
}

var (
	fixturesMu sync.Mutex
	fixtures   = map[string]*jwtFixture{}
)

// fixture returns the fixture for alg ("RS256" or "ES256"), generating its
// key once per process so that tests and benchmarks share it.
func fixture(tb testing.TB, alg string) *jwtFixture {
	tb.Helper()
	fixturesMu.Lock()
	defer fixturesMu.Unlock()
	if f, ok := fixtures[alg]; ok {
		return f
	}
	f, err := newFixture(alg, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	fixtures[alg] = f
	return f
}

func newFixture(alg string, now time.Time) (*jwtFixture, error) {
	f := &jwtFixture{alg: alg}
	var jwk map[string]any
	switch alg {
	case "RS256":
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		f.priv, f.pub = k, &k.PublicKey
		jwk = map[string]any{
			"kty": "RSA",
			"n":   b64(k.N.Bytes()),
			"e":   b64(big.NewInt(int64(k.E)).Bytes()),
		}
	case "ES256":
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		f.priv, f.pub = k, &k.PublicKey
		pt, err := k.PublicKey.Bytes() // 0x04 || X || Y
		if err != nil {
			return nil, err
		}
		jwk = map[string]any{
			"kty": "EC",
			"crv": "P-256",
			"x":   b64(pt[1:33]),
			"y":   b64(pt[33:]),
		}
	default:
		return nil, fmt.Errorf("bench: unsupported alg %q", alg)
	}
	// Entra's kid and x5t are the base64url SHA-1 thumbprint of the
	// certificate; any 27-character value has the same cost.
	f.kid = "CNv0OI3RwqlHFEVnaoMAshCH2XE"
	jwk["kid"], jwk["use"], jwk["alg"] = f.kid, "sig", alg
	set, err := json.Marshal(map[string]any{"keys": []any{jwk}})
	if err != nil {
		return nil, err
	}
	f.jwks = set

	if f.token, err = f.mint(entraPayload(now, audience)); err != nil {
		return nil, err
	}
	if f.wrongAud, err = f.mint(entraPayload(now, "99999999-9999-4999-8999-999999999999")); err != nil {
		return nil, err
	}
	if f.expired, err = f.mint(entraPayload(now.Add(-3*time.Hour), audience)); err != nil {
		return nil, err
	}
	i := strings.LastIndexByte(f.token, '.')
	f.input = []byte(f.token[:i])
	if f.sig, err = base64.RawURLEncoding.DecodeString(f.token[i+1:]); err != nil {
		return nil, err
	}
	bad := append([]byte(nil), f.sig...)
	bad[len(bad)/2] ^= 1
	f.badSig = f.token[:i+1] + b64(bad)
	return f, nil
}

// mint signs claims as Entra does: header alg, kid, x5t and typ JWT.
func (f *jwtFixture) mint(claims map[string]any) (string, error) {
	h, err := json.Marshal(map[string]any{"typ": "JWT", "alg": f.alg, "kid": f.kid, "x5t": f.kid})
	if err != nil {
		return "", err
	}
	p, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := b64(h) + "." + b64(p)
	sum := sha256.Sum256([]byte(input))
	var sig []byte
	switch k := f.priv.(type) {
	case *rsa.PrivateKey:
		if sig, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:]); err != nil {
			return "", err
		}
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, k, sum[:])
		if err != nil {
			return "", err
		}
		sig = make([]byte, 64) // JWS form: fixed-width r || s
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
	}
	return input + "." + b64(sig), nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
