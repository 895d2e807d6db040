package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

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
`, e.idp.Issuer()))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		policy middleware.Policy
		reqs   []middleware.Requirement
		panic  string // "" when the route is accepted
	}{
		{"declared permission", e.policy, []middleware.Requirement{middleware.Require("loan:approve")}, ""},
		{"permission typo", e.policy, []middleware.Requirement{middleware.Require("loan:reed")},
			`Require("loan:reed") names permission "loan:reed", which the policy does not declare (it declares "loan:approve", "loan:read")`},
		{"declared role", e.policy, []middleware.Requirement{middleware.RequireRole("LoanViewer", "LoanApprover")}, ""},
		{"undeclared role", e.policy, []middleware.Requirement{middleware.RequireRole("LoanViewer", "Reports.Read")},
			`RequireRole("LoanViewer", "Reports.Read") names role "Reports.Read", which the policy does not declare (it declares "LoanApprover", "LoanViewer")`},
		{"scope of a policy without scopes", e.policy, []middleware.Requirement{middleware.RequireScope("Loans.Write")}, ""},
		{"declared scope", scoped, []middleware.Requirement{middleware.RequireScope("Loans.Read")}, ""},
		{"scope typo", scoped, []middleware.Requirement{middleware.Authenticated(), middleware.RequireScope("Loans.Raed")},
			`RequireScope("Loans.Raed") names scope "Loans.Raed", which the policy does not declare (it declares "Loans.Read")`},
		{"no policy: the token's roles", nil, []middleware.Requirement{middleware.RequireRole("Reports.Read")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := middleware.New(e.v, func(o *middleware.Options) { o.Policy = tt.policy })
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

// The gRPC side: Options.Methods and Default are checked by New; a
// service's own requirements, known only at the first call, fail closed.
func TestGRPCRefusesUndeclared(t *testing.T) {
	e := newEnv(t)
	for name, fn := range map[string]func(*middleware.Options){
		"method": func(o *middleware.Options) {
			o.Methods = map[string][]middleware.Requirement{"/a.B/C": {middleware.Require("loan:reed")}}
		},
		"default": func(o *middleware.Options) { o.Default = []middleware.Requirement{middleware.RequireRole("LoanViewr")} },
	} {
		_, err := middleware.New(e.v, func(o *middleware.Options) { o.Policy = e.policy }, fn)
		if !errors.Is(err, middleware.ErrInvalidOptions) || !strings.Contains(err.Error(), "which the policy does not declare") {
			t.Errorf("%s: New = %v, want ErrInvalidOptions naming the undeclared name", name, err)
		}
	}

	g := e.guard(t)
	icpt := g.UnaryServerInterceptor()
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+e.mint(map[string]any{"groups": []string{groupRM}})))
	_, err := icpt(ctx, nil, &grpc.UnaryServerInfo{Server: &overrideTypo{}, FullMethod: "/a.B/C"},
		func(context.Context, any) (any, error) { return nil, nil })
	if status.Code(err) != codes.Internal {
		t.Fatalf("override naming an undeclared permission: %v, want Internal", err)
	}
}

// CheckService finds, at start, what the service's own requirements would
// fail at the first call.
func TestCheckService(t *testing.T) {
	e := newEnv(t)
	g := e.guard(t, func(o *middleware.Options) {
		o.Methods = map[string][]middleware.Requirement{"/a.B/Listed": {middleware.Require("loan:read")}}
	})
	desc := &grpc.ServiceDesc{ServiceName: "a.B", Methods: []grpc.MethodDesc{{MethodName: "C"}, {MethodName: "Listed"}}, Streams: []grpc.StreamDesc{{StreamName: "D"}}}
	err := g.CheckService(desc, &overrideTypo{})
	if !errors.Is(err, middleware.ErrMisconfigured) || !strings.Contains(err.Error(), `/a.B/C: middleware: guard misconfigured: Require("loan:reed")`) ||
		!strings.Contains(err.Error(), "/a.B/D: ") || strings.Contains(err.Error(), "Listed") {
		t.Errorf("CheckService = %v", err)
	}
	if err := g.CheckService(desc, struct{}{}); err != nil {
		t.Errorf("CheckService of a service without its own requirements: %v", err)
	}
}

type overrideTypo struct{}

func (*overrideTypo) AuthRequirements(method string) ([]middleware.Requirement, bool) {
	if strings.HasSuffix(method, "/Listed") {
		return nil, false // Options.Methods applies
	}
	return []middleware.Requirement{middleware.Require("loan:reed")}, true
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
	keys := e.idp.JWKSURL()
	tests := []struct {
		name    string
		v       *jwks.Validator
		p       *rbac.Policy
		missing string // "" when New accepts
	}{
		{"same issuer", validator(t, jwks.Issuer{Issuer: v2, JWKSURL: keys}), policy(t, "  - {name: entra, issuer: "+v2+"}\n"), ""},
		{"policy for another tenant", validator(t, jwks.Issuer{Issuer: v2, JWKSURL: keys}), policy(t, "  - {name: entra, issuer: "+v2Other+"}\n"),
			`the policy has no issuer for "` + v2 + `", which the validator trusts`},
		{"one of two", validator(t, jwks.Issuer{Issuer: v2, JWKSURL: keys}, jwks.Issuer{Issuer: e.idp.Issuer(), JWKSURL: keys}),
			policy(t, "  - {name: entra, issuer: "+v2+"}\n"), `no issuer for "` + e.idp.Issuer() + `"`},
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
			if !errors.Is(err, middleware.ErrInvalidOptions) || !strings.Contains(err.Error(), tt.missing) {
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
