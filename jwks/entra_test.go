package jwks_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/jwkstest"
)

const (
	tenantA = "11111111-1111-1111-1111-111111111111"
	tenantB = "22222222-2222-2222-2222-222222222222"
	tenantC = "33333333-3333-3333-3333-333333333333"
)

func TestEntraIssuers(t *testing.T) {
	tests := []struct {
		tenant string
		fn     func(*jwks.EntraOptions)
		want   []jwks.Issuer
	}{
		{tenantA, nil, []jwks.Issuer{{
			Issuer:  "https://login.microsoftonline.com/" + tenantA + "/v2.0",
			JWKSURL: "https://login.microsoftonline.com/" + tenantA + "/discovery/v2.0/keys",
		}}},
		{"organizations", func(o *jwks.EntraOptions) { o.V1 = true; o.Tenants = []string{tenantA} }, []jwks.Issuer{
			{Issuer: "https://login.microsoftonline.com/{tenantid}/v2.0", JWKSURL: "https://login.microsoftonline.com/organizations/discovery/v2.0/keys", Tenants: []string{tenantA}},
			{Issuer: "https://sts.windows.net/{tenantid}/", JWKSURL: "https://login.microsoftonline.com/organizations/discovery/v2.0/keys", Tenants: []string{tenantA}},
		}},
		{"consumers", nil, []jwks.Issuer{{
			Issuer:  "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0",
			JWKSURL: "https://login.microsoftonline.com/consumers/discovery/v2.0/keys",
		}}},
		{tenantB, func(o *jwks.EntraOptions) { o.AppID = "app 1"; o.Authority = "https://login.microsoftonline.us/" }, []jwks.Issuer{{
			Issuer:  "https://login.microsoftonline.us/" + tenantB + "/v2.0",
			JWKSURL: "https://login.microsoftonline.us/" + tenantB + "/discovery/v2.0/keys?appid=app+1",
		}}},
	}
	for _, tt := range tests {
		var fns []func(*jwks.EntraOptions)
		if tt.fn != nil {
			fns = append(fns, tt.fn)
		}
		got := jwks.Entra(tt.tenant, fns...)
		if len(got) != len(tt.want) {
			t.Fatalf("Entra(%q) = %+v", tt.tenant, got)
		}
		for i := range got {
			if got[i].Issuer != tt.want[i].Issuer || got[i].JWKSURL != tt.want[i].JWKSURL ||
				strings.Join(got[i].Tenants, ",") != strings.Join(tt.want[i].Tenants, ",") {
				t.Errorf("Entra(%q)[%d] = %+v, want %+v", tt.tenant, i, got[i], tt.want[i])
			}
		}
	}
	// Multi-tenant issuers without an allow-list are refused.
	_, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = jwks.Entra("common")
		o.Audiences = []string{"api://orders"}
		o.Algorithms = []string{"RS256"}
	})
	if !errors.Is(err, jwks.ErrInvalidOptions) {
		t.Fatalf("common without tenants: %v", err)
	}
}

// TestEntraMultiTenant runs v1.0 and v2.0 tokens of several tenants through
// an Entra-shaped fake IdP (keys without alg, with an issuer template).
func TestEntraMultiTenant(t *testing.T) {
	idp := jwkstest.Start(t, func(o *jwkstest.Options) { o.Entra = true })
	v := newValidator(t, idp, func(o *jwks.Options) {
		o.Issuers = jwks.Entra("organizations", func(e *jwks.EntraOptions) {
			e.Authority, e.V1Authority = idp.URL, idp.URL+"/sts"
			e.V1 = true
			e.Tenants = []string{tenantA, strings.ToUpper(tenantB)}
		})
		o.Algorithms = []string{"RS256"}
	})
	ctx := context.Background()
	tests := []struct {
		name string
		iss  string
		tid  any
		want error
	}{
		{"v2 tenant A", idp.URL + "/" + tenantA + "/v2.0", tenantA, nil},
		{"v2 tenant B", idp.URL + "/" + tenantB + "/v2.0", tenantB, nil},
		{"v1 tenant A", idp.URL + "/sts/" + tenantA + "/", tenantA, nil},
		{"v2 tenant C", idp.URL + "/" + tenantC + "/v2.0", tenantC, jwks.ErrTenant},
		{"v1 tenant C", idp.URL + "/sts/" + tenantC + "/", tenantC, jwks.ErrTenant},
		{"iss tenant differs from tid", idp.URL + "/" + tenantC + "/v2.0", tenantA, jwks.ErrIssuer},
		{"no tid", idp.URL + "/" + tenantA + "/v2.0", nil, jwks.ErrMissingClaim},
		{"v1 path without trailing slash", idp.URL + "/sts/" + tenantA, tenantA, jwks.ErrIssuer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := v.Validate(ctx, idp.Mint(map[string]any{"aud": "api://orders", "iss": tt.iss, "tid": tt.tid}))
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Validate = %v, want %v", err, tt.want)
			}
			if err == nil && c.TenantID != tt.tid {
				t.Fatalf("tid %q", c.TenantID)
			}
		})
	}
	if n := idp.Requests("jwks"); n != 1 {
		t.Fatalf("v1 and v2 issuers should share one key set: %d JWKS fetches", n)
	}
}

// TestEntraRealKeys checks the key-issuer binding against Microsoft's real
// JWKS: a consumer-tenant key must not verify another tenant's tokens.
// Nobody can sign with these keys, so a token whose key fits stops at the
// signature check, and one whose key is bound elsewhere stops before it.
func TestEntraRealKeys(t *testing.T) {
	data, err := os.ReadFile("testdata/entra-common-jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	keys, _, err := jwks.ParseJWKS(data)
	if err != nil {
		t.Fatal(err)
	}
	signer := jwkstest.Start(t) // signs with its own key: signatures never verify
	v, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: "https://login.microsoftonline.com/{tenantid}/v2.0", Keys: jwks.NewStaticKeySet(keys...)}}
		o.Tenants = []string{tenantA, jwks.EntraConsumersTenant}
		o.Audiences = []string{"api://orders"}
		o.Algorithms = []string{"RS256"}
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	iss := func(tid string) string { return "https://login.microsoftonline.com/" + tid + "/v2.0" }
	tests := []struct {
		name, kid, tid string
		want           error
	}{
		{"template key, tenant A", "Mc7l3Iz93g7uwgNeEmmw_WYGPko", tenantA, jwks.ErrSignature},
		{"consumer key, tenant A", "8IIDH6M8c3cXoeojKme8Jvqsr2Y", tenantA, jwks.ErrIssuer},
		{"consumer key, consumer tenant", "8IIDH6M8c3cXoeojKme8Jvqsr2Y", jwks.EntraConsumersTenant, jwks.ErrSignature},
		{"unknown kid", "nope", tenantA, jwks.ErrUnknownKey},
	}
	for _, tt := range tests {
		tok := signer.MintWithHeader(map[string]any{"kid": tt.kid}, map[string]any{"aud": "api://orders", "iss": iss(tt.tid), "tid": tt.tid})
		if _, err := v.Validate(ctx, tok); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	// Google's keys carry alg RS256: an RS384 token naming one is refused.
	data, _ = os.ReadFile("testdata/google-jwks.json")
	gkeys, _, _ := jwks.ParseJWKS(data)
	g, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: "https://accounts.google.com", Keys: jwks.NewStaticKeySet(gkeys...)}}
		o.Audiences = []string{"api://orders"}
		o.Algorithms = []string{"RS256", "RS384"}
	})
	if err != nil {
		t.Fatal(err)
	}
	tok := signer.MintWithHeader(map[string]any{"kid": gkeys[0].ID, "alg": "RS384"}, map[string]any{"aud": "api://orders", "iss": "https://accounts.google.com"})
	if _, err := g.Validate(ctx, tok); !errors.Is(err, jwks.ErrAlgorithm) {
		t.Fatalf("alg differing from the JWK alg: %v", err)
	}
}
