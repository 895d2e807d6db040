package middleware_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/rbac"
)

// A requirement naming what the policy does not declare would deny
// everyone; it is refused when the route is registered.
func TestHandlerRefusesUndeclared(t *testing.T) {
	e := newEnv(t)
	scoped, err := rbac.ParsePolicy(fmt.Appendf(nil, `version: 1
issuers:
  - {name: test, issuer: %q}
roles:
  - {name: LoanViewer, permissions: [loan:read]}
mappings:
  - {id: reader, when: {scope: Loans.Read}, grant: {roles: [LoanViewer]}}
`, e.IdP.Issuer()))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		policy middleware.Policy
		reqs   []middleware.Requirement
		panic  string // "" when the route is accepted
	}{
		{"declared permission", e.Policy, []middleware.Requirement{middleware.Require("loan:approve")}, ""},
		{"permission typo", e.Policy, []middleware.Requirement{middleware.Require("loan:reed")},
			`Require("loan:reed") names permission "loan:reed", which the policy does not declare (it declares "loan:approve", "loan:read")`},
		{"declared role", e.Policy, []middleware.Requirement{middleware.RequireRole("LoanViewer", "LoanApprover")}, ""},
		{"undeclared role", e.Policy, []middleware.Requirement{middleware.RequireRole("LoanViewer", "Reports.Read")},
			`RequireRole("LoanViewer", "Reports.Read") names role "Reports.Read", which the policy does not declare (it declares "LoanApprover", "LoanViewer")`},
		{"scope of a policy without scopes", e.Policy, []middleware.Requirement{middleware.RequireScope("Loans.Write")}, ""},
		{"declared scope", scoped, []middleware.Requirement{middleware.RequireScope("Loans.Read")}, ""},
		{"scope typo", scoped, []middleware.Requirement{middleware.Authenticated(), middleware.RequireScope("Loans.Raed")},
			`RequireScope("Loans.Raed") names scope "Loans.Raed", which the policy does not declare (it declares "Loans.Read")`},
		{"no policy: the token's roles", nil, []middleware.Requirement{middleware.RequireRole("Reports.Read")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := middleware.New(e.V, func(o *middleware.Options) { o.Policy = tt.policy })
			if err != nil {
				t.Fatal(err)
			}
			for _, register := range []func(){
				func() { g.Handler(whoami, tt.reqs...) },
				func() { g.Middleware(tt.reqs...)(whoami) },
			} {
				got := catchPanic(register)
				if tt.panic == "" && got != "" || tt.panic != "" && !strings.Contains(got, tt.panic) {
					t.Errorf("panic %q, want %q", got, tt.panic)
				}
			}
		})
	}
}

func catchPanic(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}

// A guard whose validator trusts an issuer the policy does not know would
// deny every token of that issuer; New refuses it and names the issuer.
func TestNewRefusesIssuerWithoutPolicy(t *testing.T) {
	e := newEnv(t)
	const (
		tenant  = "9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c"
		other   = "1a2b3c4d-0000-4000-8000-00000000000f"
		v2      = "https://login.microsoftonline.com/" + tenant + "/v2.0"
		v2Other = "https://login.microsoftonline.com/" + other + "/v2.0"
		tmpl    = "https://login.microsoftonline.com/{tenantid}/v2.0"
	)
	policy := func(t *testing.T, issuers string) *rbac.Policy {
		p, err := rbac.ParsePolicy([]byte("version: 1\nissuers:\n" + issuers + "roles:\n  - {name: R, permissions: [p]}\n"))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	validator := func(t *testing.T, issuers ...jwks.Issuer) *jwks.Validator {
		v, err := jwks.NewValidator(func(o *jwks.Options) {
			o.Issuers, o.Audiences, o.Algorithms = issuers, []string{audience}, []string{"RS256"}
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { v.Close() })
		return v
	}
	keys := e.IdP.JWKSURL()
	tests := []struct {
		name    string
		v       *jwks.Validator
		p       *rbac.Policy
		missing string // "" when New accepts
	}{
		{"same issuer", validator(t, jwks.Issuer{Issuer: v2, JWKSURL: keys}), policy(t, "  - {name: entra, issuer: "+v2+"}\n"), ""},
		{"policy for another tenant", validator(t, jwks.Issuer{Issuer: v2, JWKSURL: keys}), policy(t, "  - {name: entra, issuer: "+v2Other+"}\n"),
			`the policy has no issuer for "` + v2 + `", which the validator trusts`},
		{"one of two", validator(t, jwks.Issuer{Issuer: v2, JWKSURL: keys}, jwks.Issuer{Issuer: e.IdP.Issuer(), JWKSURL: keys}),
			policy(t, "  - {name: entra, issuer: "+v2+"}\n"), `no issuer for "` + e.IdP.Issuer() + `"`},
		{"policy template lists the tenant", validator(t, jwks.Issuer{Issuer: v2, JWKSURL: keys}),
			policy(t, "  - {name: entra, issuer: \""+tmpl+"\", tenants: ["+tenant+"]}\n"), ""},
		{"policy template lacks the tenant", validator(t, jwks.Issuer{Issuer: v2, JWKSURL: keys}),
			policy(t, "  - {name: entra, issuer: \""+tmpl+"\", tenants: ["+other+"]}\n"), `no issuer for "` + v2 + `"`},
		{"validator template, tenants covered", validator(t, jwks.Issuer{Issuer: tmpl, JWKSURL: keys, Tenants: []string{tenant, other}}),
			policy(t, "  - {name: a, issuer: "+v2+"}\n  - {name: b, issuer: "+v2Other+"}\n"), ""},
		{"validator template, a tenant missing", validator(t, jwks.Issuer{Issuer: tmpl, JWKSURL: keys, Tenants: []string{tenant, other}}),
			policy(t, "  - {name: a, issuer: "+v2+"}\n"), `no issuer for "` + v2Other + `"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := middleware.New(tt.v, func(o *middleware.Options) { o.Policy = tt.p })
			if tt.missing == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if !errors.Is(err, idbridge.ErrInvalidOptions) || !strings.Contains(err.Error(), tt.missing) {
				t.Fatalf("New = %v, want ErrInvalidOptions with %s", err, tt.missing)
			}
		})
	}
	// Without a policy there is nothing to compare.
	if _, err := middleware.New(validator(t, jwks.Issuer{Issuer: v2, JWKSURL: keys})); err != nil {
		t.Fatal(err)
	}
}

var _ http.Handler = whoami
