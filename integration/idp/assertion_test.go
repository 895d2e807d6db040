package idp_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/idbridge/idbridge/integration/idp"
)

const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

func sign(t *testing.T, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPrivateKeyJWT(t *testing.T) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherRSA, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	const ecClient = "ec-daemon"
	p := idp.StartTest(t, func(o *idp.Options) {
		o.Clients = append(o.Clients, idp.Client{ID: ecClient, Roles: []string{"EC.Run"},
			PublicKeys: map[string]crypto.PublicKey{"ec-1": ecKey.Public()}, GrantTypes: []string{idp.GrantClientCredentials}})
	})
	cbs := idp.CBSBatchKey()
	now := time.Now()
	claims := func(client string, mod func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"iss": client, "sub": client, "aud": p.TokenURL(), "iat": now.Unix(),
			"exp": now.Add(5 * time.Minute).Unix(), "jti": uuid.NewString()}
		if mod != nil {
			mod(c)
		}
		return c
	}
	replayed := sign(t, jwt.SigningMethodRS256, cbs.Key, cbs.KID, claims(idp.ClientCBSBatch, nil))

	tests := []struct {
		name      string
		assertion string
		clientID  string // form client_id, optional
		wantRoles []string
		wantError string
	}{
		{name: "RS256", assertion: replayed, wantRoles: []string{idp.RoleCBSBatch}},
		{name: "PS256", assertion: sign(t, jwt.SigningMethodPS256, cbs.Key, cbs.KID, claims(idp.ClientCBSBatch, nil)), wantRoles: []string{idp.RoleCBSBatch}},
		{name: "ES256", assertion: sign(t, jwt.SigningMethodES256, ecKey, "ec-1", claims(ecClient, nil)), wantRoles: []string{"EC.Run"}},
		{name: "aud is the issuer, with client_id", clientID: idp.ClientCBSBatch, wantRoles: []string{idp.RoleCBSBatch},
			assertion: sign(t, jwt.SigningMethodRS256, cbs.Key, cbs.KID, claims(idp.ClientCBSBatch, func(c jwt.MapClaims) { c["aud"] = []string{p.Issuer()} }))},
		{name: "no kid, one key", wantRoles: []string{idp.RoleCBSBatch},
			assertion: sign(t, jwt.SigningMethodRS256, cbs.Key, "", claims(idp.ClientCBSBatch, nil))},
		{name: "replayed jti", assertion: replayed, wantError: "invalid_client"},
		{name: "wrong key", assertion: sign(t, jwt.SigningMethodRS256, otherRSA, cbs.KID, claims(idp.ClientCBSBatch, nil)), wantError: "invalid_client"},
		{name: "unknown kid", assertion: sign(t, jwt.SigningMethodRS256, cbs.Key, "nope", claims(idp.ClientCBSBatch, nil)), wantError: "invalid_client"},
		{name: "HS256 with a guessed secret", assertion: sign(t, jwt.SigningMethodHS256, []byte("secret"), cbs.KID, claims(idp.ClientCBSBatch, nil)), wantError: "invalid_client"},
		{name: "wrong audience", wantError: "invalid_client",
			assertion: sign(t, jwt.SigningMethodRS256, cbs.Key, cbs.KID, claims(idp.ClientCBSBatch, func(c jwt.MapClaims) { c["aud"] = "https://elsewhere.example" }))},
		{name: "expired", wantError: "invalid_client",
			assertion: sign(t, jwt.SigningMethodRS256, cbs.Key, cbs.KID, claims(idp.ClientCBSBatch, func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Hour).Unix() }))},
		{name: "no exp", wantError: "invalid_client",
			assertion: sign(t, jwt.SigningMethodRS256, cbs.Key, cbs.KID, claims(idp.ClientCBSBatch, func(c jwt.MapClaims) { delete(c, "exp") }))},
		{name: "not yet valid", wantError: "invalid_client",
			assertion: sign(t, jwt.SigningMethodRS256, cbs.Key, cbs.KID, claims(idp.ClientCBSBatch, func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Hour).Unix() }))},
		{name: "iss differs from sub", wantError: "invalid_client",
			assertion: sign(t, jwt.SigningMethodRS256, cbs.Key, cbs.KID, claims(idp.ClientCBSBatch, func(c jwt.MapClaims) { c["sub"] = idp.ClientAnalyticsSvc }))},
		{name: "client_id differs from iss", clientID: idp.ClientAnalyticsSvc, wantError: "invalid_client",
			assertion: sign(t, jwt.SigningMethodRS256, cbs.Key, cbs.KID, claims(idp.ClientCBSBatch, nil))},
		{name: "client without keys", wantError: "invalid_client",
			assertion: sign(t, jwt.SigningMethodRS256, cbs.Key, cbs.KID, claims(idp.ClientAnalyticsSvc, nil))},
		{name: "garbage", assertion: "a.b.c", wantError: "invalid_client"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {assertionType},
				"client_assertion": {tc.assertion}, "scope": {idp.ResourceCBS + "/.default"}}
			if tc.clientID != "" {
				form.Set("client_id", tc.clientID)
			}
			tr := postToken(t, p, form, "", "")
			if tc.wantError != "" {
				wantError(t, tr, http.StatusUnauthorized, tc.wantError)
				return
			}
			mustToken(t, tr)
			_, c := mustParse(t, p, tr.AccessToken)
			if aud := audOf(t, c); !slices.Equal(aud, []string{idp.CBSAppID}) || c["idtyp"] != "app" || !slices.Equal(strs(c["roles"]), tc.wantRoles) {
				t.Errorf("claims %v", c)
			}
		})
	}
}
