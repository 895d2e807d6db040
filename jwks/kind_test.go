package jwks_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/jwkstest"
)

// TestAccessTokensOnly: Validate takes access tokens only. Every shape of
// ID token is refused as type whatever its typ, with or without the
// verified-token cache; Entra, RFC 9068 and app-only access tokens pass.
func TestAccessTokensOnly(t *testing.T) {
	idp := jwkstest.Start(t, func(o *jwkstest.Options) { o.Now = fixedNow })
	plain := newValidator(t, idp, func(o *jwks.Options) { o.Now = fixedNow })
	cached := newValidator(t, idp, func(o *jwks.Options) { o.Now = fixedNow; o.Cache = &jwks.CacheOptions{} })
	const api = "api://orders"
	jwt := map[string]any{"typ": "JWT"} // as Entra types both kinds
	atJWT := map[string]any{"typ": "at+jwt"}
	tests := []struct {
		name   string
		header map[string]any
		claims map[string]any
		want   error
	}{
		// ID tokens, as Entra and other OpenID providers issue them.
		{"Entra v2 ID token (sign-in)", jwt, map[string]any{"aud": api, "nonce": "n-1", "oid": "o", "tid": "t", "ver": "2.0", "preferred_username": "amit"}, jwks.ErrType},
		{"ID token without typ", map[string]any{"typ": nil}, map[string]any{"aud": api, "nonce": "n-1"}, jwks.ErrType},
		{"ID token with app roles", jwt, map[string]any{"aud": api, "nonce": "n-1", "roles": []string{"LoanViewer"}}, jwks.ErrType},
		{"ID token with roles and scp", jwt, map[string]any{"aud": api, "nonce": "n-1", "roles": []string{"R"}, "scp": "a"}, jwks.ErrType},
		{"ID token with an empty nonce", jwt, map[string]any{"aud": api, "nonce": "", "roles": []string{"R"}}, jwks.ErrType},
		{"code-flow ID token (at_hash)", jwt, map[string]any{"aud": api, "at_hash": "x4W2", "azp": api, "roles": []string{"R"}}, jwks.ErrType},
		{"hybrid-flow ID token (c_hash)", jwt, map[string]any{"aud": api, "c_hash": "x4W2", "roles": []string{"R"}}, jwks.ErrType},
		{"refreshed ID token (no nonce)", jwt, map[string]any{"aud": api, "scp": nil, "oid": "o", "tid": "t", "name": "Amit"}, jwks.ErrType},
		{"ID token typed id_token+jwt", map[string]any{"typ": "id_token+jwt"}, map[string]any{"aud": api, "scp": nil}, jwks.ErrType},
		{"null nonce, no permissions", jwt, map[string]any{"aud": api, "nonce": nil, "scp": nil}, jwks.ErrType},
		{"empty scp, no roles", jwt, map[string]any{"aud": api, "scp": ""}, jwks.ErrType},
		{"empty roles", jwt, map[string]any{"aud": api, "roles": []string{}}, jwks.ErrType},
		// Entra ID tokens carry roles when the user has app roles on the
		// client, and those from the token endpoint need no nonce: with aud
		// the API's own client ID (one app registration for both), only the
		// missing azp/appid tells them apart.
		{"Entra v2 ID token with roles, no nonce", jwt, map[string]any{"aud": api, "scp": nil, "roles": []string{"LoanViewer"}, "tid": "t", "oid": "o", "ver": "2.0", "preferred_username": "amit"}, jwks.ErrType},
		{"Entra v1 ID token with roles, no nonce", jwt, map[string]any{"aud": api, "scp": nil, "roles": []string{"LoanViewer"}, "tid": "t", "oid": "o", "ver": "1.0", "unique_name": "amit"}, jwks.ErrType},
		{"Entra v2 token with scp but no azp", jwt, map[string]any{"aud": api, "scp": "Loans.Read", "tid": "t", "oid": "o", "ver": "2.0"}, jwks.ErrType},
		{"Entra app-only token without roles or idtyp", jwt, map[string]any{"aud": api, "scp": nil, "azp": "c", "azpacr": "1"}, jwks.ErrType},
		// Access tokens.
		{"Entra delegated (scp)", jwt, map[string]any{"aud": api, "scp": "Loans.Read", "azp": "c", "ver": "2.0"}, nil},
		{"Entra v2 delegated with tenant (azpacr)", jwt, map[string]any{"aud": api, "scp": "Loans.Read", "azp": "c", "azpacr": "0", "tid": "t", "ver": "2.0"}, nil},
		{"Entra v1 app-only with tenant (appidacr)", jwt, map[string]any{"aud": api, "scp": nil, "roles": []string{"Loans.Batch"}, "appid": "c", "appidacr": "1", "tid": "t", "ver": "1.0"}, nil},
		{"Entra app-only (roles)", jwt, map[string]any{"aud": api, "roles": []string{"Loans.Batch"}, "azp": "c", "idtyp": "app"}, nil},
		{"Entra app-only without roles (idtyp app)", jwt, map[string]any{"aud": api, "idtyp": "app", "azp": "c"}, nil},
		{"RFC 9068 (at+jwt, scope, client_id)", atJWT, map[string]any{"aud": api, "scope": "profile orders.read", "client_id": "c"}, nil},
		{"RFC 9068 application/at+jwt", map[string]any{"typ": "application/at+jwt"}, map[string]any{"aud": api, "scope": "profile", "client_id": "c"}, nil},
		{"RFC 9068 without scope", atJWT, map[string]any{"aud": api, "scp": nil, "client_id": "c"}, nil},
		{"at+jwt is an access token even with a nonce", atJWT, map[string]any{"aud": api, "nonce": "n", "client_id": "c"}, nil},
		{"scope in a token typed JWT", jwt, map[string]any{"aud": api, "scope": "profile", "client_id": "c"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := idp.MintWithHeader(tt.header, tt.claims)
			for _, v := range []*jwks.Validator{plain, cached, cached} { // twice: a refusal is never cached
				c, err := v.Validate(context.Background(), tok)
				if tt.want == nil {
					if err != nil || c == nil {
						t.Fatalf("Validate = %v", err)
					}
					continue
				}
				if !errors.Is(err, tt.want) || idbridge.ReasonOf(err) != "type" || c != nil {
					t.Fatalf("Validate = %v, want type", err)
				}
			}
		})
	}
}

// TestIDTokenStillRefusesAccessTokens: ValidateIDToken refuses access
// tokens of every kind, and takes the ID tokens Validate refuses.
func TestIDTokenStillRefusesAccessTokens(t *testing.T) {
	idp := jwkstest.Start(t, func(o *jwkstest.Options) { o.Now = fixedNow })
	v := newValidator(t, idp, func(o *jwks.Options) { o.Now = fixedNow; o.Audiences = []string{"web"} })
	tests := []struct {
		name   string
		header map[string]any
		claims map[string]any
		want   error
	}{
		{"ID token", nil, map[string]any{"aud": "web", "nonce": "n"}, nil},
		{"ID token with roles", nil, map[string]any{"aud": "web", "nonce": "n", "roles": []string{"R"}}, nil},
		{"ID token with at_hash", nil, map[string]any{"aud": "web", "nonce": "n", "at_hash": "h"}, nil},
		{"Entra access token", nil, map[string]any{"aud": "web", "scp": "Loans.Read"}, jwks.ErrType},
		{"Entra app-only token", nil, map[string]any{"aud": "web", "idtyp": "app", "roles": []string{"R"}}, jwks.ErrType},
		{"RFC 9068 typed", map[string]any{"typ": "at+jwt"}, map[string]any{"aud": "web", "nonce": "n"}, jwks.ErrType},
		{"RFC 9068 untyped", nil, map[string]any{"aud": "web", "scope": "openid", "client_id": "web"}, jwks.ErrType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := v.ValidateIDToken(context.Background(), idp.MintWithHeader(tt.header, tt.claims), "")
			if tt.want == nil && err != nil || tt.want != nil && (!errors.Is(err, tt.want) || c != nil) {
				t.Fatalf("ValidateIDToken = %v, want %v", err, tt.want)
			}
			if tt.want != nil && idbridge.ReasonOf(err) != "type" {
				t.Fatalf("reason %q", idbridge.ReasonOf(err))
			}
		})
	}
}

// TestExplicitTypeDecidesKind: with Options.Types requiring an explicit
// type such as secevent+jwt (RFC 8417), the typ says what the token is: a
// security event token carries no permission claim and is accepted, and
// "JWT" is refused by the typ check.
func TestExplicitTypeDecidesKind(t *testing.T) {
	idp := jwkstest.Start(t, func(o *jwkstest.Options) { o.Now = fixedNow })
	v := newValidator(t, idp, func(o *jwks.Options) { o.Now = fixedNow; o.Types = []string{"secevent+jwt"} })
	set := map[string]any{"aud": "api://orders", "scp": nil, "jti": "j", "events": map[string]any{"https://schemas.openid.net/secevent/caep/event-type/session-revoked": map[string]any{}}}
	if _, err := v.Validate(context.Background(), idp.MintWithHeader(map[string]any{"typ": "secevent+jwt"}, set)); err != nil {
		t.Fatalf("SET: %v", err)
	}
	if _, err := v.Validate(context.Background(), idp.MintWithHeader(map[string]any{"typ": "JWT"}, set)); !errors.Is(err, jwks.ErrType) {
		t.Fatalf("typ JWT: %v", err)
	}
}

// TestIssuerRejectionNamesTrusted: an issuer rejection says which issuers
// are trusted, printed without user info or query, and never quotes the
// token.
func TestIssuerRejectionNamesTrusted(t *testing.T) {
	idp := jwkstest.Start(t, func(o *jwkstest.Options) { o.Now = fixedNow })
	k, err := jwks.NewKey(idp.KeyID(), "", idp.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	ks := jwks.NewStaticKeySet(k)
	const secretIssuer = "https://svc:hunter2@idp.example/realms/bank?sig=s3cr3t"
	v, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = append([]jwks.Issuer{{Issuer: secretIssuer, Keys: ks}},
			jwks.Entra("organizations", func(e *jwks.EntraOptions) { e.Tenants = []string{"11111111-1111-1111-1111-111111111111"} })...)
		o.Issuers[1].JWKSURL, o.Issuers[1].Keys = "", ks
		o.Audiences = []string{"api://orders"}
		o.Algorithms = []string{"RS256"}
		o.Now = fixedNow
	})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	tok := idp.Mint(map[string]any{"iss": "https://sts.windows.net/11111111-1111-1111-1111-111111111111/", "tid": "11111111-1111-1111-1111-111111111111", "aud": "api://orders"})
	_, err = v.Validate(context.Background(), tok)
	if !errors.Is(err, jwks.ErrIssuer) {
		t.Fatalf("Validate = %v", err)
	}
	msg := err.Error()
	for _, want := range []string{"https://idp.example/realms/bank", "https://login.microsoftonline.com/{tenantid}/v2.0"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not name trusted issuer %s", msg, want)
		}
	}
	for _, secret := range []string{"hunter2", "s3cr3t", "svc:"} {
		if strings.Contains(msg, secret) {
			t.Errorf("error %q prints %q", msg, secret)
		}
	}
	assertNoToken(t, err, tok)
}

// TestGenericTypeKeepsAccessTokenRule: Options.Types that admit a typ
// saying only "a JWT" (JWT, JOSE, or no typ at all) do not tell an access
// token from an ID token, so the claims still decide: an ID token typed
// so is refused as type, as without Options.Types.
func TestGenericTypeKeepsAccessTokenRule(t *testing.T) {
	idp := jwkstest.Start(t, func(o *jwkstest.Options) { o.Now = fixedNow })
	lax := newValidator(t, idp, func(o *jwks.Options) { o.Now = fixedNow; o.Types = []string{"JWT", "JOSE", "", "at+jwt"} })
	idToken := map[string]any{"aud": "api://orders", "nonce": "n-1", "oid": "o"}
	tests := []struct {
		name   string
		header map[string]any
		claims map[string]any
		want   error
	}{
		{"ID token without typ (Types lists \"\")", map[string]any{"typ": nil}, idToken, jwks.ErrType},
		{"ID token typed JOSE", map[string]any{"typ": "JOSE"}, idToken, jwks.ErrType},
		{"ID token typed application/jose", map[string]any{"typ": "application/jose"}, idToken, jwks.ErrType},
		{"ID token typed JWT", map[string]any{"typ": "JWT"}, idToken, jwks.ErrType},
		{"no permission claim, no typ", map[string]any{"typ": nil}, map[string]any{"aud": "api://orders", "scp": nil}, jwks.ErrType},
		{"access token without typ", map[string]any{"typ": nil}, map[string]any{"aud": "api://orders", "scp": "Loans.Read"}, nil},
		{"access token typed JOSE", map[string]any{"typ": "JOSE"}, map[string]any{"aud": "api://orders", "roles": []string{"R"}}, nil},
		{"RFC 9068 at+jwt", map[string]any{"typ": "at+jwt"}, map[string]any{"aud": "api://orders", "scope": "s", "client_id": "c"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := lax.Validate(context.Background(), idp.MintWithHeader(tt.header, tt.claims))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) || idbridge.ReasonOf(err) != "type" || c != nil {
				t.Fatalf("Validate = %v, want type", err)
			}
		})
	}
}

// TestIDTokenRefusesEntraAppOnlyTokens: Entra stamps how the client
// authenticated (azpacr in v2.0, appidacr in v1.0) on access tokens only,
// so an app-only token without idtyp, whose aud can be a web app's own
// client ID, is never taken as that app's ID token.
func TestIDTokenRefusesEntraAppOnlyTokens(t *testing.T) {
	idp := jwkstest.Start(t, func(o *jwkstest.Options) { o.Now = fixedNow })
	v := newValidator(t, idp, func(o *jwks.Options) { o.Now = fixedNow; o.Audiences = []string{"web"} })
	tests := []struct {
		name   string
		claims map[string]any
		want   error
	}{
		{"v2.0 app-only (azpacr, roles, no idtyp)", map[string]any{"aud": "web", "azp": "c", "azpacr": "1", "roles": []string{"R"}, "oid": "sp", "ver": "2.0"}, jwks.ErrType},
		{"v1.0 app-only (appidacr, roles, no idtyp)", map[string]any{"aud": "web", "appid": "c", "appidacr": "2", "roles": []string{"R"}, "oid": "sp", "ver": "1.0"}, jwks.ErrType},
		{"v2.0 app-only without roles", map[string]any{"aud": "web", "azp": "c", "azpacr": "0", "oid": "sp", "scp": nil}, jwks.ErrType},
		{"ID token with roles", map[string]any{"aud": "web", "nonce": "n", "roles": []string{"R"}}, nil},
		{"ID token without nonce", map[string]any{"aud": "web", "oid": "u", "name": "Amit", "scp": nil}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := v.ValidateIDToken(context.Background(), idp.MintWithHeader(nil, tt.claims), "")
			if tt.want == nil {
				if err != nil {
					t.Fatalf("ValidateIDToken = %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) || idbridge.ReasonOf(err) != "type" || c != nil {
				t.Fatalf("ValidateIDToken = %v, want type", err)
			}
		})
	}
}
