package jwks_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/idbridge/idbridge/internal/jwt"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/jwkstest"
)

// smallOrderKeys returns every 32-byte encoding of an Ed25519 point of small
// order that crypto/ed25519 would take as a public key: the canonical y
// values 1, p-1, 0 and the two order-8 values, the non-canonical y = p
// (for 0) and p+1 (for 1), each with the sign bit clear and set.
func smallOrderKeys() map[string][]byte {
	le := func(hex string) []byte { // big-endian hex to little-endian bytes
		b := make([]byte, 32)
		for i := 0; i < 32; i++ {
			fmt.Sscanf(hex[62-2*i:64-2*i], "%02x", &b[i])
		}
		return b
	}
	ys := map[string][]byte{
		"identity (y=1)":       le("0000000000000000000000000000000000000000000000000000000000000001"),
		"all-zero (order 4)":   le("0000000000000000000000000000000000000000000000000000000000000000"),
		"order 2 (y=p-1)":      le("7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffec"),
		"order 8 (first y)":    le("05fc536d880238b13933c6d305acdfd5f098eff289f4c345b027b2c28f95e826"),
		"order 8 (second y)":   le("7a03ac9277fdc74ec6cc392cfa53202a0f67100d760b3cba4fd84d3d706a17c7"),
		"non-canonical 0 (=p)": le("7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffed"),
		"non-canonical 1 (=p+1)": le(
			"7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffee"),
	}
	out := map[string][]byte{}
	for name, y := range ys {
		out[name] = y
		neg := append([]byte(nil), y...)
		neg[31] |= 0x80
		out[name+", sign bit set"] = neg
	}
	return out
}

// TestEd25519SmallOrderKeys: keys of small order are refused by NewKey
// (ErrWeakKey) and skipped in a JWKS, and a token forged for them is
// refused as unknown_key. The test first shows why: for each such key a
// signature made without any private key verifies with crypto/ed25519.
func TestEd25519SmallOrderKeys(t *testing.T) {
	keys := smallOrderKeys()
	if len(keys) != 14 {
		t.Fatalf("%d encodings", len(keys))
	}
	// R candidates: the canonical small-order points.
	var rs [][]byte
	for name, k := range keys {
		if !strings.HasPrefix(name, "non-canonical") {
			rs = append(rs, k)
		}
	}
	good, _, _ := ed25519.GenerateKey(nil)
	for name, pub := range keys {
		t.Run(name, func(t *testing.T) {
			// The attack: S = 0 and R = -[k]A, one of the eight small-order
			// points, verifies the message with no private key.
			forged := 0
			for i := range 16 {
				msg := []byte(fmt.Sprintf("message %d", i))
				for _, r := range rs {
					if ed25519.Verify(ed25519.PublicKey(pub), msg, append(append([]byte(nil), r...), make([]byte, 32)...)) {
						forged++
						break
					}
				}
			}
			if forged == 0 && !strings.HasPrefix(name, "non-canonical") {
				t.Fatalf("no forgery verifies: %x is not of small order", pub)
			}

			_, err := jwks.NewKey("weak", "", ed25519.PublicKey(pub))
			if !errors.Is(err, jwks.ErrWeakKey) || !errors.Is(err, jwks.ErrUnsupportedKey) {
				t.Fatalf("NewKey = %v, want ErrWeakKey", err)
			}
			doc := fmt.Sprintf(`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"weak","x":%q},{"kty":"OKP","crv":"Ed25519","kid":"good","x":%q}]}`,
				base64.RawURLEncoding.EncodeToString(pub), base64.RawURLEncoding.EncodeToString(good))
			got, skipped, err := jwks.ParseJWKS([]byte(doc))
			if err != nil || len(got) != 1 || got[0].ID != "good" || len(skipped) != 1 || !errors.Is(skipped[0], jwks.ErrWeakKey) {
				t.Fatalf("ParseJWKS = %d keys, skipped %v, %v", len(got), skipped, err)
			}

			// End to end: the key set serving the weak key never lets the
			// forged token through.
			srv := newJWKSServer(t, []byte(doc))
			v, err := jwks.NewValidator(func(o *jwks.Options) {
				o.Issuers = []jwks.Issuer{{Issuer: "https://idp.example", JWKSURL: srv.URL}}
				o.Audiences = []string{"api://orders"}
				o.Algorithms = []string{"EdDSA"}
				o.Now = fixedNow
			})
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			in := b64(`{"alg":"EdDSA","kid":"weak"}`) + "." + b64(claimsJSON("https://idp.example", nil))
			for _, r := range rs {
				tok := in + "." + base64.RawURLEncoding.EncodeToString(append(append([]byte(nil), r...), make([]byte, 32)...))
				_, err := v.Validate(context.Background(), tok)
				if !errors.Is(err, jwks.ErrUnknownKey) || idbridge.ReasonOf(err) != "unknown_key" {
					t.Fatalf("forged token: %v", err)
				}
			}
		})
	}
	if _, err := jwks.NewKey("good", "EdDSA", good); err != nil {
		t.Fatalf("a random Ed25519 key was refused: %v", err)
	}
}

// nonCanonical returns the spellings of segment seg (0 header, 1 payload,
// 2 signature) of tok that decode to the same bytes, or to bytes that the
// strict decoder accepted before, but are not canonical base64url.
func nonCanonical(tok string, seg int) map[string]string {
	parts := strings.Split(tok, ".")
	s := parts[seg]
	with := func(v string) string {
		p := append([]string(nil), parts...)
		p[seg] = v
		return strings.Join(p, ".")
	}
	out := map[string]string{
		"LF inside":        with(s[:4] + "\n" + s[4:]),
		"CR inside":        with(s[:4] + "\r" + s[4:]),
		"CRLF at the end":  with(s + "\r\n"),
		"LF at the start":  with("\n" + s),
		"space inside":     with(s[:4] + " " + s[4:]),
		"tab inside":       with(s[:4] + "\t" + s[4:]),
		"one padding char": with(s + "="),
		"plus for minus":   with(strings.Replace(s[:len(s)-1], s[2:3], "+", 1) + s[len(s)-1:]),
		"slash":            with(s[:3] + "/" + s[4:]),
	}
	if len(s)%4 != 0 { // the last character carries unused bits
		out["padding"] = with(s + strings.Repeat("=", 4-len(s)%4))
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		last := strings.IndexByte(alphabet, s[len(s)-1])
		out["non-zero trailing bits"] = with(s[:len(s)-1] + string(alphabet[last|1]))
	}
	return out
}

// TestNonCanonicalBase64: every segment of a valid token, spelt in any way
// other than canonical base64url, is refused as malformed — by Validate
// (with and without the verified-token cache warm) and by the SDK's unverified
// reader (internal/jwt), which share one set of rules.
func TestNonCanonicalBase64(t *testing.T) {
	idp := jwkstest.Start(t, func(o *jwkstest.Options) { o.Now = fixedNow })
	plain := newValidator(t, idp, func(o *jwks.Options) { o.Now = fixedNow })
	cached := newValidator(t, idp, func(o *jwks.Options) { o.Now = fixedNow; o.Cache = &jwks.CacheOptions{} })
	ctx := context.Background()
	hdr := fmt.Sprintf(`{"alg":"RS256","kid":%q}`, idp.KeyID())
	// Two tokens: segments of a length that is a multiple of 4 (where a
	// lone CR or LF used to go unnoticed) and of other lengths (trailing
	// bits).
	var tokens []string
	for _, want := range []int{0, 2} {
		h, p := hdr, claimsJSON(idp.Issuer(), map[string]any{"scp": "read"})
		for len(b64(h))%4 != want {
			h = " " + h
		}
		for len(b64(p))%4 != want {
			p = " " + p
		}
		tokens = append(tokens, idp.SignRaw([]byte(h), []byte(p)))
	}
	for _, tok := range tokens {
		for _, v := range []*jwks.Validator{plain, cached} {
			if _, err := v.Validate(ctx, tok); err != nil {
				t.Fatalf("canonical token refused: %v", err)
			}
		}
		if _, err := jwt.Parse(tok); err != nil {
			t.Fatalf("jwt.Parse: %v", err)
		}
		for seg, segName := range []string{"header", "payload", "signature"} {
			for name, bad := range nonCanonical(tok, seg) {
				t.Run(fmt.Sprintf("%s len%%4=%d %s", segName, len(strings.Split(tok, ".")[seg])%4, name), func(t *testing.T) {
					for _, v := range []*jwks.Validator{plain, cached} {
						c, err := v.Validate(ctx, bad)
						if !errors.Is(err, jwks.ErrMalformed) || idbridge.ReasonOf(err) != "malformed" || c != nil {
							t.Fatalf("Validate = %v, want malformed", err)
						}
						assertNoToken(t, err, tok)
					}
					if _, err := jwt.Parse(bad); !errors.Is(err, idbridge.ErrMalformed) {
						t.Fatalf("jwt.Parse = %v, want malformed", err)
					}
				})
			}
		}
	}
}

// TestKeyIssuerBinding: a key whose JWK names an issuer verifies only that
// issuer's tokens, compared as whole URLs; v1.0 and v2.0 issuers of one
// tenant are equivalent only between Entra's own authorities, or those
// jwks.Entra was configured with.
func TestKeyIssuerBinding(t *testing.T) {
	idp := jwkstest.Start(t, func(o *jwkstest.Options) { o.Now = fixedNow })
	const (
		v2T1     = "https://login.microsoftonline.com/11111111-1111-1111-1111-111111111111/v2.0"
		v1T1     = "https://sts.windows.net/11111111-1111-1111-1111-111111111111/"
		v1T2     = "https://sts.windows.net/22222222-2222-2222-2222-222222222222/"
		v2T2     = "https://login.microsoftonline.com/22222222-2222-2222-2222-222222222222/v2.0"
		evilV1T1 = "https://evil.example/11111111-1111-1111-1111-111111111111/"
		evilV2T1 = "https://evil.example/11111111-1111-1111-1111-111111111111/v2.0"
		v2Any    = "https://login.microsoftonline.com/{tenantid}/v2.0"
		v1Any    = "https://sts.windows.net/{tenantid}/"
		other    = "https://idp.example/realms/bank"
		otherV1  = "https://idp.example/realms/bank/"
	)
	trusted := []string{v2T1, v1T1, v1T2, v2T2, evilV1T1, evilV2T1, other, otherV1}
	validatorFor := func(keyIssuer string) *jwks.Validator {
		k, err := jwks.NewKey(idp.KeyID(), "", idp.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		k.Issuer = keyIssuer
		ks := jwks.NewStaticKeySet(k)
		v, err := jwks.NewValidator(func(o *jwks.Options) {
			for _, iss := range trusted {
				o.Issuers = append(o.Issuers, jwks.Issuer{Issuer: iss, Keys: ks})
			}
			o.Audiences = []string{"api://orders"}
			o.Algorithms = []string{"RS256"}
			o.Now = fixedNow
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { v.Close() })
		return v
	}
	tests := []struct {
		key, iss string
		want     error
	}{
		{v2T1, v2T1, nil},
		{v2T1, v1T1, nil}, // Entra: one key set for v1.0 and v2.0 tokens
		{v1T1, v2T1, nil},
		{v2Any, v1T1, nil},
		{v2Any, v2T2, nil},
		{v1Any, v2T1, nil},
		{other, other, nil},
		{v2T1, v1T2, jwks.ErrIssuer},     // another tenant
		{v2T1, v2T2, jwks.ErrIssuer},     // another tenant
		{v2T1, evilV1T1, jwks.ErrIssuer}, // same tenant segment, another host
		{v2T1, evilV2T1, jwks.ErrIssuer},
		{v2Any, evilV1T1, jwks.ErrIssuer},
		{v2Any, evilV2T1, jwks.ErrIssuer},
		{evilV2T1, v1T1, jwks.ErrIssuer},
		{evilV2T1, evilV1T1, jwks.ErrIssuer}, // v1/v2 shapes on a host that is not Entra's
		{evilV1T1, v1T1, jwks.ErrIssuer},
		{other, otherV1, jwks.ErrIssuer},
		{otherV1, other, jwks.ErrIssuer},
	}
	for _, tt := range tests {
		t.Run(tt.key+" signs "+tt.iss, func(t *testing.T) {
			v := validatorFor(tt.key)
			tok := idp.SignRaw([]byte(fmt.Sprintf(`{"alg":"RS256","kid":%q}`, idp.KeyID())), []byte(claimsJSON(tt.iss, nil)))
			_, err := v.Validate(context.Background(), tok)
			if tt.want == nil && err != nil || tt.want != nil && (!errors.Is(err, tt.want) || idbridge.ReasonOf(err) != "issuer") {
				t.Fatalf("Validate = %v, want %v", err, tt.want)
			}
			if tt.want != nil && !strings.Contains(err.Error(), "is bound to issuer "+tt.key) {
				t.Fatalf("error %q does not name the key's issuer", err)
			}
		})
	}
}

// TestKeyIssuerBindingConfigured: another authority's v1.0 and v2.0
// issuers (sovereign clouds, test servers) are equivalent only as
// jwks.Entra built them, not when listed by hand, even with the same keys.
func TestKeyIssuerBindingConfigured(t *testing.T) {
	idp := jwkstest.Start(t, func(o *jwkstest.Options) { o.Entra = true; o.Now = fixedNow })
	const tid = "11111111-1111-1111-1111-111111111111"
	v1 := idp.URL + "/sts/" + tid + "/"
	linked := newValidator(t, idp, func(o *jwks.Options) {
		o.Issuers = jwks.Entra(tid, func(e *jwks.EntraOptions) { e.Authority, e.V1Authority, e.V1 = idp.URL, idp.URL+"/sts", true })
		o.Now = fixedNow
	})
	v1Only := newValidator(t, idp, func(o *jwks.Options) {
		o.Issuers = jwks.Entra(tid, func(e *jwks.EntraOptions) {
			e.Authority, e.V1Authority, e.Versions = idp.URL, idp.URL+"/sts", []string{jwks.EntraV1}
		})
		o.Now = fixedNow
	})
	separate := newValidator(t, idp, func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{
			{Issuer: idp.EntraIssuer(tid), JWKSURL: idp.URL + "/" + tid + "/discovery/v2.0/keys"},
			{Issuer: v1, JWKSURL: idp.JWKSURL()}, // the same keys, but not configured as one tenant
		}
		o.Now = fixedNow
	})
	tok := idp.Mint(map[string]any{"iss": v1, "tid": tid, "aud": "api://orders"})
	for _, v := range []*jwks.Validator{linked, v1Only} {
		if _, err := v.Validate(context.Background(), tok); err != nil {
			t.Fatalf("v1.0 token, Entra validator: %v", err)
		}
	}
	if _, err := separate.Validate(context.Background(), tok); !errors.Is(err, jwks.ErrIssuer) {
		t.Fatalf("v1.0 token, unlinked issuers: %v, want issuer", err)
	}
}
