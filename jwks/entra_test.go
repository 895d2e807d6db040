package jwks_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/idbridge/idbridge"
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
	if !errors.Is(err, idbridge.ErrInvalidOptions) {
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
			e.Versions = []string{jwks.EntraV2, jwks.EntraV1}
			e.Tenants = []string{tenantA, strings.ToUpper(tenantB)}
		})
		o.Audiences = []string{jwkstest.APIClientID, "api://" + jwkstest.APIClientID}
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
			aud := jwkstest.APIClientID // v2.0: the client ID; v1.0: the App ID URI
			if strings.HasSuffix(tt.iss, "/") || strings.Contains(tt.iss, "/sts/") {
				aud = "api://" + jwkstest.APIClientID
			}
			c, err := v.Validate(ctx, idp.Mint(map[string]any{"aud": aud, "iss": tt.iss, "tid": tt.tid, "scp": "Loans.Read"}))
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

// TestEntraRefuses: tenants and client IDs that can never match a token
// fail at NewValidator, with text that says what was expected.
func TestEntraRefuses(t *testing.T) {
	tests := []struct {
		name   string
		tenant string
		client string // "" uses Entra, otherwise EntraAPI
		fn     func(*jwks.EntraOptions)
		want   string
	}{
		{"empty tenant", "", "", nil, `Entra tenant is empty; want the directory (tenant) ID GUID`},
		{"angle placeholder", "<tenant-id>", "", nil, `Entra tenant "<tenant-id>" is a placeholder; want the directory (tenant) ID GUID`},
		{"brace placeholder", "{tenant}", "", nil, `Entra tenant "{tenant}" is a placeholder`},
		{"your-tenant", "your-tenant-id", "", nil, `Entra tenant "your-tenant-id" is a placeholder`},
		{"domain", "contoso.onmicrosoft.com", "", nil, `Entra tenant "contoso.onmicrosoft.com" is a domain name, but tokens carry the tenant ID GUID in iss and tid`},
		{"not a GUID", "contoso", "", nil, `Entra tenant "contoso" is not a tenant ID`},
		{"short GUID", tenantA[:35], "", nil, `is not a tenant ID`},
		{"common without tenants", "common", "", nil, `issuer template "https://login.microsoftonline.com/{tenantid}/v2.0" needs a tenant allow-list`},
		{"organizations with a domain in Tenants", "organizations", "", func(o *jwks.EntraOptions) { o.Tenants = []string{"contoso.com"} },
			`EntraOptions.Tenants entry "contoso.com" is not a tenant ID; want a GUID`},
		{"unknown version", tenantA, "", func(o *jwks.EntraOptions) { o.Versions = []string{"3.0"} }, `Entra version "3.0": want "2.0" or "1.0"`},
		{"API bad tenant", "<tenant-id>", tenantB, nil, `Entra tenant "<tenant-id>" is a placeholder`},
		{"API App ID URI as client ID", tenantA, "api://lending", nil,
			`Entra client ID "api://lending" is an App ID URI; want the application (client) ID GUID (the aud of v2.0 tokens) and the URI in EntraOptions.AppIDURIs`},
		{"API client placeholder", tenantA, "<client-id>", nil, `Entra client ID "<client-id>" is not a GUID`},
		{"API empty client", tenantA, " ", nil, `Entra client ID " " is not a GUID`},
		{"API bad App ID URI", tenantA, tenantB, func(o *jwks.EntraOptions) { o.AppIDURIs = []string{"lending"} },
			`Entra App ID URI "lending": want an absolute URI such as api://` + tenantB},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fns []func(*jwks.EntraOptions)
			if tt.fn != nil {
				fns = append(fns, tt.fn)
			}
			opt := func(o *jwks.Options) {
				o.Issuers = jwks.Entra(tt.tenant, fns...)
				o.Audiences, o.Algorithms = []string{tenantB}, []string{"RS256"}
			}
			if tt.client != "" {
				opt = jwks.EntraAPI(tt.tenant, tt.client, fns...)
			}
			v, err := jwks.NewValidator(opt)
			if !errors.Is(err, idbridge.ErrInvalidOptions) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewValidator = %v, %v; want ErrInvalidOptions with %q", v, err, tt.want)
			}
		})
	}
	// The App ID URI is the message's subject, never a token.
	if _, err := jwks.NewValidator(jwks.EntraAPI(tenantA, "")); err == nil || !strings.Contains(err.Error(), "client ID is empty") {
		t.Fatalf("empty client ID: %v", err)
	}
}

// TestEntraAPI: the audiences and issuers of an Entra-protected API are
// those Entra puts in the tokens it issues for it: v2.0 tokens carry the
// client ID, v1.0 tokens the App ID URI (or the client ID).
func TestEntraAPI(t *testing.T) {
	const api, other = jwkstest.APIClientID, "99999999-9999-4999-8999-999999999999"
	idp := jwkstest.Start(t, func(o *jwkstest.Options) { o.Entra = true })
	ctx := context.Background()
	v2 := jwkstest.EntraToken{Tenant: tenantA, API: api, Scopes: []string{"Loans.Read"}}
	v1 := v2
	v1.Version = jwks.EntraV1
	v1custom := v1
	v1custom.AppIDURI = "https://lending.bank.example"
	tests := []struct {
		name  string
		fn    func(*jwks.EntraOptions)
		token string
		want  error
	}{
		{"v2 client ID", nil, idp.EntraAccessToken(v2), nil},
		{"v2 app-only", nil, idp.EntraAppToken(jwkstest.EntraToken{Tenant: tenantA, API: api, Roles: []string{"Loans.Batch"}}), nil},
		{"v2 for another API", nil, idp.EntraAccessToken(jwkstest.EntraToken{Tenant: tenantA, API: other}), jwks.ErrAudience},
		{"v2 of another tenant", nil, idp.EntraAccessToken(jwkstest.EntraToken{Tenant: tenantB, API: api}), jwks.ErrIssuer},
		{"v2 with App ID URI aud", nil, idp.EntraAccessToken(jwkstest.EntraToken{Tenant: tenantA, API: api,
			Claims: map[string]any{"aud": "api://" + api}}), nil},
		{"v1 by default", nil, idp.EntraAccessToken(v1), jwks.ErrIssuer},
		{"v1 asked", func(o *jwks.EntraOptions) { o.Versions = []string{jwks.EntraV1} }, idp.EntraAccessToken(v1), nil},
		{"v1 asked, v2 token", func(o *jwks.EntraOptions) { o.Versions = []string{jwks.EntraV1} }, idp.EntraAccessToken(v2), jwks.ErrIssuer},
		{"v1 with client ID aud", func(o *jwks.EntraOptions) { o.Versions = []string{jwks.EntraV1} },
			idp.EntraAccessToken(jwkstest.EntraToken{Version: jwks.EntraV1, Tenant: tenantA, API: api, Claims: map[string]any{"aud": api}}), nil},
		{"migration v1", func(o *jwks.EntraOptions) { o.Versions = []string{jwks.EntraV2, jwks.EntraV1} }, idp.EntraAccessToken(v1), nil},
		{"migration v2", func(o *jwks.EntraOptions) { o.Versions = []string{jwks.EntraV2, jwks.EntraV1} }, idp.EntraAccessToken(v2), nil},
		{"v1 custom URI not configured", func(o *jwks.EntraOptions) { o.Versions = []string{jwks.EntraV1} }, idp.EntraAccessToken(v1custom), jwks.ErrAudience},
		{"v1 custom URI configured", func(o *jwks.EntraOptions) {
			o.Versions, o.AppIDURIs = []string{jwks.EntraV1}, []string{"https://lending.bank.example"}
		}, idp.EntraAccessToken(v1custom), nil},
		{"custom URI replaces the default", func(o *jwks.EntraOptions) {
			o.Versions, o.AppIDURIs = []string{jwks.EntraV1}, []string{"https://lending.bank.example"}
		}, idp.EntraAccessToken(v1), jwks.ErrAudience},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fns []func(*jwks.EntraOptions)
			if tt.fn != nil {
				fns = append(fns, tt.fn)
			}
			v, err := jwks.NewValidator(idp.EntraAPI(tenantA, strings.ToUpper(api), fns...))
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			c, err := v.Validate(ctx, tt.token)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Validate = %v, want %v", err, tt.want)
			}
			if err == nil && (c.TenantID != tenantA || c.Client() != jwkstest.ClientAppID) {
				t.Fatalf("claims tid %q client %q", c.TenantID, c.Client())
			}
		})
	}
}

// FuzzEntraAPI: any tenant and client ID either configure a validator whose
// tenant and client ID are ones Entra could put in a token, or are refused
// with ErrInvalidOptions; never a panic, never a silent misconfiguration.
func FuzzEntraAPI(f *testing.F) {
	for _, s := range [][2]string{{tenantA, tenantB}, {"", ""}, {"common", tenantB}, {"<tenant-id>", "api://x"},
		{"contoso.onmicrosoft.com", tenantB}, {"consumers", strings.ToUpper(tenantB)}, {tenantA + "/", tenantB}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, tenant, client string) {
		v, err := jwks.NewValidator(jwks.EntraAPI(tenant, client, func(o *jwks.EntraOptions) { o.Tenants = []string{tenantA} }))
		if err != nil {
			if !errors.Is(err, idbridge.ErrInvalidOptions) {
				t.Fatalf("error %v is not ErrInvalidOptions", err)
			}
			return
		}
		defer v.Close()
		lower := strings.ToLower(tenant)
		known := lower == "common" || lower == "organizations" || lower == "consumers"
		if !known && (len(tenant) != 36 || strings.Count(tenant, "-") != 4) || len(client) != 36 {
			t.Fatalf("EntraAPI(%q, %q) accepted", tenant, client)
		}
	})
}
