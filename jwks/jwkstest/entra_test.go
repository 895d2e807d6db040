package jwkstest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/jwkstest"
)

func decode(t *testing.T, tok string, part int) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[part])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestEntraShapes: each minted token carries the claims Entra puts in that
// kind and version of token, and none it leaves out.
func TestEntraShapes(t *testing.T) {
	s := jwkstest.Start(t, func(o *jwkstest.Options) { o.Entra = true })
	const tid, api, client = jwkstest.TenantID, jwkstest.APIClientID, jwkstest.ClientAppID
	tests := []struct {
		name    string
		token   string
		want    map[string]any
		without []string
	}{
		{"v2 delegated", s.EntraAccessToken(jwkstest.EntraToken{Scopes: []string{"Loans.Read", "Loans.Write"}}), map[string]any{
			"iss": s.URL + "/" + tid + "/v2.0", "aud": api, "ver": "2.0", "azp": client, "azpacr": "1", "scp": "Loans.Read Loans.Write",
			"tid": tid, "oid": jwkstest.UserObjectID, "preferred_username": "amit.r@bank.example", "name": "Amit R",
		}, []string{"appid", "upn", "unique_name", "idtyp", "nonce", "roles"}},
		{"v1 delegated", s.EntraAccessToken(jwkstest.EntraToken{Version: jwks.EntraV1}), map[string]any{
			"iss": s.URL + "/" + tid + "/", "aud": "api://" + api, "ver": "1.0", "appid": client, "appidacr": "1", "scp": "user_impersonation",
			"upn": "amit.r@bank.example", "unique_name": "amit.r@bank.example",
		}, []string{"azp", "preferred_username", "idtyp", "nonce"}},
		{"v2 app-only", s.EntraAppToken(jwkstest.EntraToken{Roles: []string{"Loans.Batch"}}), map[string]any{
			"aud": api, "ver": "2.0", "azp": client, "idtyp": "app", "oid": jwkstest.AppObjectID, "sub": jwkstest.AppObjectID,
		}, []string{"scp", "preferred_username", "name", "nonce"}},
		{"v1 app-only", s.EntraAppToken(jwkstest.EntraToken{Version: jwks.EntraV1, Roles: []string{"Loans.Batch"}}), map[string]any{
			"aud": "api://" + api, "ver": "1.0", "appid": client, "idtyp": "app",
		}, []string{"scp", "azp", "upn"}},
		{"ID token", s.EntraIDToken(jwkstest.EntraToken{}, "n-0S6"), map[string]any{
			"aud": client, "ver": "2.0", "nonce": "n-0S6", "tid": tid, "preferred_username": "amit.r@bank.example",
		}, []string{"scp", "roles", "azp", "appid", "idtyp"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if h := decode(t, tt.token, 0); h["typ"] != "JWT" || h["alg"] != "RS256" || h["kid"] == "" {
				t.Fatalf("header %v", h)
			}
			c := decode(t, tt.token, 1)
			for k, v := range tt.want {
				if c[k] != v {
					t.Errorf("%s = %v, want %v", k, c[k], v)
				}
			}
			for _, k := range tt.without {
				if _, ok := c[k]; ok {
					t.Errorf("has %s = %v", k, c[k])
				}
			}
			for _, k := range []string{"iat", "nbf", "exp", "uti", "sub", "oid", "tid"} {
				if c[k] == nil {
					t.Errorf("no %s", k)
				}
			}
			if c["sub"] == c["oid"] && c["idtyp"] != "app" {
				t.Errorf("a user's sub is pairwise, not the oid")
			}
		})
	}
	// The ID token validates as one for the signing-in client.
	v, err := jwks.NewValidator(s.EntraAPI(tid, client))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if _, err := v.ValidateIDToken(context.Background(), s.EntraIDToken(jwkstest.EntraToken{}, "n-0S6"), "n-0S6"); err != nil {
		t.Fatal(err)
	}
}
