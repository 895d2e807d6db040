package jwks_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/jwkstest"
)

var testNow = time.Unix(1_800_000_000, 0)

func fixedNow() time.Time { return testNow }

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// claimsJSON returns the JSON of a valid payload for iss, with overrides
// (nil removes a claim).
func claimsJSON(iss string, over map[string]any) string {
	c := map[string]any{
		"iss": iss, "aud": "api://orders", "sub": "u1", "scp": "access_as_user",
		"iat": testNow.Unix(), "exp": testNow.Add(time.Hour).Unix(),
	}
	for k, v := range over {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	b, _ := json.Marshal(c)
	return string(b)
}

type attackEnv struct {
	idp, attacker *jwkstest.Server
	rsaKid, ecKid string
	ecKid384      string
	v, typed      *jwks.Validator
	entra         *jwks.Validator
	tenantA       string
	tenantB       string
	tenantC       string
}

func newAttackEnv(t *testing.T) *attackEnv {
	t.Helper()
	e := &attackEnv{tenantA: "11111111-1111-1111-1111-111111111111", tenantB: "22222222-2222-2222-2222-222222222222", tenantC: "33333333-3333-3333-3333-333333333333"}
	e.idp = jwkstest.Start(t, func(o *jwkstest.Options) { o.Now = fixedNow })
	e.rsaKid = e.idp.KeyID()
	e.ecKid = e.idp.AddKey("ES256", false)
	e.ecKid384 = e.idp.AddKey("ES256", false) // a P-256 key, used to sign ES384 headers
	e.idp.UseKey(e.rsaKid)
	e.attacker = jwkstest.Start(t, func(o *jwkstest.Options) { o.Now = fixedNow })
	common := func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: e.idp.Issuer(), JWKSURL: e.idp.JWKSURL()}}
		o.Audiences = []string{"api://orders"}
		o.Algorithms = []string{"RS256", "ES256", "ES384"}
		o.HTTPClient = e.idp.Client()
		o.Now = fixedNow
	}
	e.v = newValidator(t, e.idp, common)
	e.typed = newValidator(t, e.idp, common, func(o *jwks.Options) { o.Types = []string{"at+jwt"} })
	e.entra = newValidator(t, e.idp, common, func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: e.idp.URL + "/{tenantid}/v2.0", JWKSURL: e.idp.JWKSURL(),
			Tenants: []string{e.tenantA, e.tenantB}}}
	})
	return e
}

// TestAttackTokens feeds forged, malformed and confused tokens to the
// validator; each must fail with its reason class, never panic, and never
// echo the token in the error.
func TestAttackTokens(t *testing.T) {
	e := newAttackEnv(t)
	iss := e.idp.Issuer()
	valid := claimsJSON(iss, nil)
	rsHdr := fmt.Sprintf(`{"alg":"RS256","kid":%q,"typ":"JWT"}`, e.rsaKid)
	sign := func(h, p string) string { return e.idp.SignRaw([]byte(h), []byte(p)) }
	withKey := func(kid, h, p string) string {
		e.idp.UseKey(kid)
		defer e.idp.UseKey(e.rsaKid)
		return sign(h, p)
	}
	unsigned := func(h, p, sig string) string { return b64(h) + "." + b64(p) + "." + sig }
	goodSig := strings.Split(sign(rsHdr, valid), ".")[2]
	hs := func(alg string, secret []byte) string {
		in := b64(fmt.Sprintf(`{"alg":%q,"kid":%q}`, alg, e.rsaKid)) + "." + b64(valid)
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(in))
		return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(e.idp.PublicKey())
	tamper := func(tok string) string { // valid signature, payload changed afterwards
		parts := strings.Split(tok, ".")
		parts[1] = b64(claimsJSON(iss, map[string]any{"sub": "admin"}))
		return strings.Join(parts, ".")
	}
	attackerJWK := string(e.attacker.JWKS())
	attackerKeyObj := attackerJWK[strings.Index(attackerJWK, "[")+1 : strings.LastIndex(attackerJWK, "]")]
	deep := strings.Repeat("[", 500) + strings.Repeat("]", 500)
	entraIss := func(tid string) string { return e.idp.URL + "/" + tid + "/v2.0" }

	type row struct {
		name  string
		token string
		v     *jwks.Validator
		want  error
	}
	rows := []row{
		// Shape and encoding.
		{"empty", "", nil, jwks.ErrMalformed},
		{"no dots", "abcdef", nil, jwks.ErrMalformed},
		{"one dot", b64(rsHdr) + "." + b64(valid), nil, jwks.ErrMalformed},
		{"three dots", sign(rsHdr, valid) + ".x", nil, jwks.ErrMalformed},
		{"JWE five segments", "a.b.c.d.e", nil, jwks.ErrMalformed},
		{"many dots", strings.Repeat(".", 5000), nil, jwks.ErrMalformed},
		{"trailing dot", sign(rsHdr, valid) + ".", nil, jwks.ErrMalformed},
		{"oversized", sign(rsHdr, claimsJSON(iss, map[string]any{"pad": strings.Repeat("x", 16<<10)})), nil, jwks.ErrTooLarge},
		{"oversized garbage", strings.Repeat("A", 1<<20), nil, jwks.ErrTooLarge},
		{"bad base64 header", "!!!." + b64(valid) + "." + goodSig, nil, jwks.ErrMalformed},
		{"padded base64", b64(rsHdr) + "=." + b64(valid) + "." + goodSig, nil, jwks.ErrMalformed},
		{"std base64 alphabet", strings.NewReplacer("-", "+", "_", "/").Replace(sign(rsHdr, valid)) + "+/", nil, jwks.ErrMalformed},
		{"newline in token", b64(rsHdr)[:4] + "\n" + b64(rsHdr)[4:] + "." + b64(valid) + "." + goodSig, nil, jwks.ErrMalformed},
		{"non-canonical base64 bits", b64(rsHdr) + "." + b64(valid) + "." + goodSig[:len(goodSig)-1] + "B", nil, jwks.ErrMalformed},
		{"header not JSON", sign("not json", valid), nil, jwks.ErrMalformed},
		{"header is array", sign(`["alg","RS256"]`, valid), nil, jwks.ErrMalformed},
		{"header trailing data", sign(rsHdr+"x", valid), nil, jwks.ErrMalformed},
		{"payload is array", sign(rsHdr, `[1,2]`), nil, jwks.ErrMalformed},
		{"payload invalid UTF-8", sign(rsHdr, `{"iss":"`+iss+`","sub":"\xff"}`), nil, jwks.ErrMalformed},
		{"payload deep nesting", sign(rsHdr, strings.TrimSuffix(valid, "}")+`,"x":`+deep+`}`), nil, jwks.ErrMalformed},
		{"payload control char", sign(rsHdr, strings.Replace(valid, `"u1"`, "\"u\x01\"", 1)), nil, jwks.ErrMalformed},

		// Algorithms.
		{"alg none", unsigned(`{"alg":"none"}`, valid, ""), nil, jwks.ErrAlgorithm},
		{"alg None", unsigned(`{"alg":"None"}`, valid, ""), nil, jwks.ErrAlgorithm},
		{"alg NONE", unsigned(`{"alg":"NONE"}`, valid, ""), nil, jwks.ErrAlgorithm},
		{"alg nOnE with signature", unsigned(`{"alg":"nOnE","kid":"`+e.rsaKid+`"}`, valid, goodSig), nil, jwks.ErrAlgorithm},
		{"alg missing", sign(`{"kid":"`+e.rsaKid+`"}`, valid), nil, jwks.ErrAlgorithm},
		{"alg empty", sign(`{"alg":"","kid":"`+e.rsaKid+`"}`, valid), nil, jwks.ErrAlgorithm},
		{"alg HS256 keyed with the public key", hs("HS256", pubDER), nil, jwks.ErrAlgorithm},
		{"alg HS512", hs("HS512", []byte("secret")), nil, jwks.ErrAlgorithm},
		{"alg PS256 not allowed", sign(`{"alg":"PS256","kid":"`+e.rsaKid+`"}`, valid), nil, jwks.ErrAlgorithm},
		{"alg rs256 lowercase", sign(`{"alg":"rs256","kid":"`+e.rsaKid+`"}`, valid), nil, jwks.ErrAlgorithm},
		{"alg not a string", sign(`{"alg":256,"kid":"`+e.rsaKid+`"}`, valid), nil, jwks.ErrMalformed},
		{"RS256 header, EC key", withKey(e.ecKid, `{"alg":"RS256","kid":"`+e.ecKid+`"}`, valid), nil, jwks.ErrAlgorithm},
		{"ES256 header, RSA key", sign(`{"alg":"ES256","kid":"`+e.rsaKid+`"}`, valid), nil, jwks.ErrAlgorithm},
		{"ES384 header, P-256 key", withKey(e.ecKid384, `{"alg":"ES384","kid":"`+e.ecKid384+`"}`, valid), nil, jwks.ErrAlgorithm},
		{"empty signature", unsigned(rsHdr, valid, ""), nil, jwks.ErrSignature},

		// Key selection.
		{"unknown kid", sign(`{"alg":"RS256","kid":"nope"}`, valid), nil, jwks.ErrUnknownKey},
		{"kid path traversal", sign(`{"alg":"RS256","kid":"../../../etc/passwd"}`, valid), nil, jwks.ErrUnknownKey},
		{"kid injection", sign(`{"alg":"RS256","kid":"x' OR '1'='1"}`, valid), nil, jwks.ErrUnknownKey},
		{"kid long", sign(`{"alg":"RS256","kid":"`+strings.Repeat("k", 4000)+`"}`, valid), nil, jwks.ErrUnknownKey},
		{"kid with NUL", sign(`{"alg":"RS256","kid":"`+e.rsaKid+`\u0000"}`, valid), nil, jwks.ErrUnknownKey},
		{"kid with a lone surrogate", sign(`{"alg":"RS256","kid":"\ud800"}`, valid), nil, jwks.ErrUnknownKey},
		{"kid with CRLF", sign(`{"alg":"RS256","kid":"a\r\nX-Injected: 1"}`, valid), nil, jwks.ErrUnknownKey},
		{"kid empty string, several keys", sign(`{"alg":"RS256","kid":""}`, valid), nil, jwks.ErrUnknownKey},
		{"kid missing, several keys", sign(`{"alg":"RS256"}`, valid), nil, jwks.ErrUnknownKey},
		{"kid not a string", sign(`{"alg":"RS256","kid":7}`, valid), nil, jwks.ErrMalformed},
		{"jku to attacker keys", e.attacker.MintWithHeader(map[string]any{"jku": e.attacker.JWKSURL()}, map[string]any{"iss": iss, "aud": "api://orders"}), nil, jwks.ErrUnknownKey},
		{"x5u to attacker", e.attacker.MintWithHeader(map[string]any{"x5u": e.attacker.URL + "/cert.pem"}, map[string]any{"iss": iss, "aud": "api://orders"}), nil, jwks.ErrUnknownKey},
		{"embedded jwk", e.attacker.MintWithHeader(map[string]any{"jwk": json.RawMessage(attackerKeyObj)}, map[string]any{"iss": iss, "aud": "api://orders"}), nil, jwks.ErrUnknownKey},
		{"embedded x5c", e.attacker.MintWithHeader(map[string]any{"x5c": []string{base64.StdEncoding.EncodeToString(pubDER)}}, map[string]any{"iss": iss, "aud": "api://orders"}), nil, jwks.ErrUnknownKey},
		{"attacker key, victim kid", e.attacker.MintWithHeader(map[string]any{"kid": e.rsaKid}, map[string]any{"iss": iss, "aud": "api://orders"}), nil, jwks.ErrSignature},
		{"tampered payload", tamper(sign(rsHdr, valid)), nil, jwks.ErrSignature},
		{"truncated signature", unsigned(rsHdr, valid, truncSig(goodSig)), nil, jwks.ErrSignature},
		{"signature of another token", unsigned(rsHdr, claimsJSON(iss, map[string]any{"sub": "admin"}), goodSig), nil, jwks.ErrSignature},

		// Headers.
		{"crit unknown", sign(`{"alg":"RS256","kid":"`+e.rsaKid+`","crit":["exp"],"exp":1}`, valid), nil, jwks.ErrMalformed},
		{"crit b64 false", sign(`{"alg":"RS256","kid":"`+e.rsaKid+`","crit":["b64"],"b64":false}`, valid), nil, jwks.ErrMalformed},
		{"b64 false without crit", sign(`{"alg":"RS256","kid":"`+e.rsaKid+`","b64":false}`, valid), nil, jwks.ErrMalformed},
		{"duplicate alg", sign(`{"alg":"HS256","alg":"RS256","kid":"`+e.rsaKid+`"}`, valid), nil, jwks.ErrMalformed},
		{"alg again in capitals", sign(`{"alg":"RS256","kid":"`+e.rsaKid+`","ALG":"none"}`, valid), nil, jwks.ErrMalformed},
		{"kid again with a Kelvin sign", sign(`{"alg":"RS256","kid":"`+e.rsaKid+`","\u212aid":"x"}`, valid), nil, jwks.ErrMalformed},
		{"typ again in capitals", sign(`{"alg":"RS256","kid":"`+e.rsaKid+`","typ":"JWT","Typ":"at+jwt"}`, valid), nil, jwks.ErrMalformed},
		{"crit in capitals", sign(`{"alg":"RS256","kid":"`+e.rsaKid+`","CRIT":["exp"]}`, valid), nil, jwks.ErrMalformed},
		{"x5t#s256 in lower case", sign(`{"alg":"RS256","kid":"`+e.rsaKid+`","x5t#s256":"x"}`, valid), nil, jwks.ErrMalformed},
		{"jku in capitals", sign(`{"alg":"RS256","kid":"`+e.rsaKid+`","JKU":"https://evil.example/keys"}`, valid), nil, jwks.ErrMalformed},
		{"duplicate kid escaped", sign(`{"alg":"RS256","kid":"`+e.rsaKid+`","\u006bid":"x"}`, valid), nil, jwks.ErrMalformed},
		{"typ JWT where at+jwt required", sign(rsHdr, valid), e.typed, jwks.ErrType},
		{"typ missing where at+jwt required", sign(`{"alg":"RS256","kid":"`+e.rsaKid+`"}`, valid), e.typed, jwks.ErrType},

		// Claims.
		{"duplicate exp", sign(rsHdr, strings.TrimSuffix(valid, "}")+`,"exp":9999999999}`), nil, jwks.ErrMalformed},
		{"duplicate iss escaped", sign(rsHdr, strings.TrimSuffix(valid, "}")+`,"\u0069ss":"https://evil"}`), nil, jwks.ErrMalformed},
		{"duplicate unknown claim", sign(rsHdr, strings.TrimSuffix(valid, "}")+`,"x":1,"x":2}`), nil, jwks.ErrMalformed},
		{"duplicate unknown claim after many", sign(rsHdr, strings.TrimSuffix(valid, "}")+manyClaims(40)+`,"c7":1}`), nil, jwks.ErrMalformed},
		{"exp again in capitals", sign(rsHdr, strings.TrimSuffix(valid, "}")+`,"EXP":9999999999}`), nil, jwks.ErrMalformed},
		{"sub again with long s", sign(rsHdr, `{"ſub":"admin",`+strings.TrimPrefix(valid, "{")), nil, jwks.ErrMalformed},
		{"duplicate nested member", sign(rsHdr, strings.TrimSuffix(valid, "}")+`,"x":{"admin":false,"admin":true}}`), nil, jwks.ErrMalformed},
		{"duplicate claim source endpoint", sign(rsHdr, strings.TrimSuffix(valid, "}")+`,"_claim_sources":{"s":{"endpoint":"https://graph","endpoint":"https://evil"}}}`), nil, jwks.ErrMalformed},
		{"duplicate ignored header parameter", sign(`{"alg":"RS256","kid":"`+e.rsaKid+`","jku":"a","jku":"b"}`, valid), nil, jwks.ErrMalformed},
		{"exp is a string", sign(rsHdr, claimsJSON(iss, map[string]any{"exp": "9999999999"})), nil, jwks.ErrMalformed},
		{"exp is huge", sign(rsHdr, strings.Replace(valid, `"exp":`, `"exp":1e400,"e":`, 1)), nil, jwks.ErrMalformed},
		{"aud is a number", sign(rsHdr, claimsJSON(iss, map[string]any{"aud": 42})), nil, jwks.ErrMalformed},
		{"aud array with number", sign(rsHdr, claimsJSON(iss, map[string]any{"aud": []any{"api://orders", 1}})), nil, jwks.ErrMalformed},
		{"roles is a string", sign(rsHdr, claimsJSON(iss, map[string]any{"roles": "Admin"})), nil, jwks.ErrMalformed},
		{"iss is an object", sign(rsHdr, claimsJSON(iss, map[string]any{"iss": map[string]any{"a": 1}})), nil, jwks.ErrMalformed},
		{"exp negative", sign(rsHdr, claimsJSON(iss, map[string]any{"exp": -1})), nil, jwks.ErrExpired},
		{"exp zero", sign(rsHdr, claimsJSON(iss, map[string]any{"exp": 0})), nil, jwks.ErrExpired},
		{"exp fraction just past (leeway included)", sign(rsHdr, claimsJSON(iss, map[string]any{"exp": float64(testNow.Add(-jwks.DefaultLeeway).Unix()) - 0.5})), nil, jwks.ErrExpired},
		{"exp beyond 2^53", sign(rsHdr, claimsJSON(iss, map[string]any{"exp": 1 << 54})), nil, jwks.ErrMalformed},
		{"exp NaN-like literal", sign(rsHdr, strings.Replace(valid, `"exp":`, `"exp":NaN,"e":`, 1)), nil, jwks.ErrMalformed},
		{"exp boolean", sign(rsHdr, claimsJSON(iss, map[string]any{"exp": true})), nil, jwks.ErrMalformed},
		{"exp array", sign(rsHdr, claimsJSON(iss, map[string]any{"exp": []int64{testNow.Add(time.Hour).Unix()}})), nil, jwks.ErrMalformed},
		{"nbf huge", sign(rsHdr, claimsJSON(iss, map[string]any{"nbf": int64(1) << 52})), nil, jwks.ErrNotYetValid},
		{"iat huge", sign(rsHdr, claimsJSON(iss, map[string]any{"iat": int64(1) << 52})), nil, jwks.ErrIssuedInFuture},
		{"nbf is a string", sign(rsHdr, claimsJSON(iss, map[string]any{"nbf": "0"})), nil, jwks.ErrMalformed},
		{"aud only empty strings", sign(rsHdr, claimsJSON(iss, map[string]any{"aud": []string{"", ""}})), nil, jwks.ErrAudience},
		{"aud empty string", sign(rsHdr, claimsJSON(iss, map[string]any{"aud": ""})), nil, jwks.ErrAudience},
		{"payload with a BOM", sign(rsHdr, "\ufeff"+valid), nil, jwks.ErrMalformed},
		{"header with a BOM", sign("\ufeff"+rsHdr, valid), nil, jwks.ErrMalformed},
		{"payload in UTF-16", sign(rsHdr, "\xff\xfe{\x00}\x00"), nil, jwks.ErrMalformed},
		{"payload nested 33 deep", sign(rsHdr, strings.TrimSuffix(valid, "}")+`,"x":`+strings.Repeat(`{"a":`, 33)+"1"+strings.Repeat("}", 33)+`}`), nil, jwks.ErrMalformed},
		{"iss with a trailing slash added", sign(rsHdr, claimsJSON(iss+"/", nil)), nil, jwks.ErrIssuer},
		{"iss with a trailing dot in the host", sign(rsHdr, claimsJSON(strings.Replace(iss, "127.0.0.1", "127.0.0.1.", 1), nil)), nil, jwks.ErrIssuer},
		{"exp missing", sign(rsHdr, claimsJSON(iss, map[string]any{"exp": nil})), nil, jwks.ErrMissingClaim},
		{"exp null", sign(rsHdr, strings.Replace(valid, fmt.Sprintf(`"exp":%d`, testNow.Add(time.Hour).Unix()), `"exp":null`, 1)), nil, jwks.ErrMissingClaim},
		{"expired", sign(rsHdr, claimsJSON(iss, map[string]any{"exp": testNow.Add(-2 * time.Minute).Unix()})), nil, jwks.ErrExpired},
		{"not yet valid", sign(rsHdr, claimsJSON(iss, map[string]any{"nbf": testNow.Add(2 * time.Minute).Unix()})), nil, jwks.ErrNotYetValid},
		{"issued in future", sign(rsHdr, claimsJSON(iss, map[string]any{"iat": testNow.Add(2 * time.Minute).Unix()})), nil, jwks.ErrIssuedInFuture},
		{"iss missing", sign(rsHdr, claimsJSON(iss, map[string]any{"iss": nil})), nil, jwks.ErrMissingClaim},
		{"iss suffix trick", sign(rsHdr, claimsJSON(iss+".evil.example", nil)), nil, jwks.ErrIssuer},
		{"iss trailing slash", sign(rsHdr, claimsJSON(iss+"/", nil)), nil, jwks.ErrIssuer},
		{"iss prefix trick", sign(rsHdr, claimsJSON("https://evil.example/"+iss, nil)), nil, jwks.ErrIssuer},
		{"iss case", sign(rsHdr, claimsJSON(strings.ToUpper(iss), nil)), nil, jwks.ErrIssuer},
		{"aud other API", sign(rsHdr, claimsJSON(iss, map[string]any{"aud": "api://payments"})), nil, jwks.ErrAudience},
		{"aud prefix", sign(rsHdr, claimsJSON(iss, map[string]any{"aud": "api://orders-evil"})), nil, jwks.ErrAudience},
		{"aud empty list", sign(rsHdr, claimsJSON(iss, map[string]any{"aud": []string{}})), nil, jwks.ErrAudience},
		{"aud missing", sign(rsHdr, claimsJSON(iss, map[string]any{"aud": nil})), nil, jwks.ErrAudience},

		// Several tenants (Entra template).
		{"tenant not allowed", sign(rsHdr, claimsJSON(entraIss(e.tenantC), map[string]any{"tid": e.tenantC})), e.entra, jwks.ErrTenant},
		{"tid differs from iss tenant", sign(rsHdr, claimsJSON(entraIss(e.tenantA), map[string]any{"tid": e.tenantB})), e.entra, jwks.ErrIssuer},
		{"tid missing", sign(rsHdr, claimsJSON(entraIss(e.tenantA), nil)), e.entra, jwks.ErrMissingClaim},
		{"tid with slash", sign(rsHdr, claimsJSON(entraIss(e.tenantA+"/x"), map[string]any{"tid": e.tenantA + "/x"})), e.entra, jwks.ErrTenant},
		{"template issuer literally", sign(rsHdr, claimsJSON(e.idp.URL+"/{tenantid}/v2.0", map[string]any{"tid": e.tenantA})), e.entra, jwks.ErrIssuer},
	}
	if len(rows) < 40 {
		t.Fatalf("only %d attack tokens", len(rows))
	}
	jwksBefore := e.attacker.Requests("jwks")
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			v := r.v
			if v == nil {
				v = e.v
			}
			c, err := v.Validate(context.Background(), r.token)
			if !errors.Is(err, r.want) {
				t.Fatalf("Validate = %v, want %v", err, r.want)
			}
			if c != nil {
				t.Fatal("claims returned with an error")
			}
			want := r.want.(interface{ Reason() idbridge.Reason }).Reason()
			if got := idbridge.ReasonOf(err); got != want {
				t.Fatalf("Reason = %q, want %q", got, want)
			}
			var ve *jwks.ValidationError
			if !errors.As(err, &ve) || ve.Reason() != want {
				t.Fatalf("not a *ValidationError with reason %q: %#v", want, err)
			}
			assertNoToken(t, err, r.token)
		})
	}
	if n := e.attacker.Requests("jwks"); n != jwksBefore {
		t.Fatalf("validator fetched the attacker's JWKS %d times", n-jwksBefore)
	}
}

// manyClaims returns n extra members ,"c0":0,"c1":0,... for a payload.
func manyClaims(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `,"c%d":0`, i)
	}
	return b.String()
}

func truncSig(sig string) string {
	raw, _ := base64.RawURLEncoding.DecodeString(sig)
	return base64.RawURLEncoding.EncodeToString(raw[:len(raw)-3])
}

// assertNoToken fails if err's text in any format contains the token or
// one of its segments.
func assertNoToken(t *testing.T, err error, token string) {
	t.Helper()
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		s := fmt.Sprintf(f, err)
		for _, part := range strings.Split(token, ".") {
			if len(part) >= 16 && strings.Contains(s, part) {
				t.Fatalf("error %s contains a token segment", f)
			}
		}
	}
}
