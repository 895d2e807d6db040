package rbac

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/reason"
)

const (
	tenantA = "9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c"
	tenantB = "1a2b3c4d-0000-4000-8000-00000000000f"
)

// migrating is an API that accepts v1.0 and v2.0 tokens of one tenant,
// with its groups and rules declared once.
const migrating = `version: 1
issuers:
  - name: entra
    issuer: https://login.microsoftonline.com/` + tenantA + `/v2.0
    v1_issuer: https://sts.windows.net/` + tenantA + `/
groups:
  - {id: ` + lendingRM + `, name: Lending_RM, issuer: entra}
  - {id: ` + leavers + `, name: HR_Leavers, issuer: entra}
roles:
  - {name: LoanViewer, permissions: [loan:read]}
mappings:
  - {id: rm, when: {group: Lending_RM}, grant: {roles: [LoanViewer]}}
deny:
  - {id: leaver, reason: revoked, when: {group: HR_Leavers}}
tests:
  - name: a v1.0 token of the tenant is decided as a v2.0 one
    claims: {iss: "https://sts.windows.net/` + tenantA + `/", tid: ` + tenantA + `, groups: [` + lendingRM + `]}
    expect: {allowed: true, roles: [LoanViewer]}
`

func TestV1Issuer(t *testing.T) {
	p, err := ParsePolicy([]byte(migrating))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range p.Test(t.Context()) {
		if !r.Passed {
			t.Errorf("inline test %q: %v", r.Name, r.Failures)
		}
	}
	v1, v2 := "https://sts.windows.net/"+tenantA+"/", "https://login.microsoftonline.com/"+tenantA+"/v2.0"
	tests := []struct {
		name   string
		c      *idbridge.Claims
		reason idbridge.Reason // "" for allowed
	}{
		{"v2.0", &idbridge.Claims{Issuer: v2, TenantID: tenantA, Groups: []string{lendingRM}}, ""},
		{"v1.0", &idbridge.Claims{Issuer: v1, TenantID: tenantA, Groups: []string{lendingRM}}, ""},
		{"v1.0 leaver", &idbridge.Claims{Issuer: v1, TenantID: tenantA, Groups: []string{lendingRM, leavers}}, reason.Revoked},
		{"v2.0 leaver", &idbridge.Claims{Issuer: v2, TenantID: tenantA, Groups: []string{lendingRM, leavers}}, reason.Revoked},
		{"v1.0 of another tenant", &idbridge.Claims{Issuer: "https://sts.windows.net/" + tenantB + "/", TenantID: tenantB, Groups: []string{lendingRM}}, reason.Issuer},
		{"v1.0 without the slash", &idbridge.Claims{Issuer: strings.TrimSuffix(v1, "/"), TenantID: tenantA, Groups: []string{lendingRM}}, reason.Issuer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := p.Decide(tt.c)
			if d.OK() != (tt.reason == "") || d.Reason() != tt.reason {
				t.Fatalf("ok %v reason %q (%v), want %q", d.OK(), d.Reason(), d.Err(), tt.reason)
			}
			if tt.reason == "" && !slices.Equal(d.Roles(), []string{"LoanViewer"}) {
				t.Fatalf("roles %v", d.Roles())
			}
		})
	}
	if got := p.Declared().Issuers; !slices.Equal(got, []string{v2, v1}) {
		t.Errorf("Declared().Issuers = %q", got)
	}
	if !p.TrustsIssuer(v1) || !p.TrustsIssuer(v2) || p.TrustsIssuer("https://sts.windows.net/"+tenantB+"/") {
		t.Error("TrustsIssuer")
	}
}

func TestV1IssuerMultiTenant(t *testing.T) {
	p, err := ParsePolicy([]byte(`version: 1
issuers:
  - name: entra
    issuer: https://login.microsoftonline.com/{tenantid}/v2.0
    v1_issuer: https://sts.windows.net/{tenantid}/
    tenants: [` + tenantA + `]
groups:
  - {id: ` + lendingRM + `, name: Lending_RM}
roles:
  - {name: LoanViewer, permissions: [loan:read]}
mappings:
  - {id: rm, when: {group: Lending_RM}, grant: {roles: [LoanViewer]}}
`))
	if err != nil {
		t.Fatal(err)
	}
	v1 := func(tid string) string { return "https://sts.windows.net/" + tid + "/" }
	tests := []struct {
		name   string
		c      *idbridge.Claims
		reason idbridge.Reason
	}{
		{"v1.0 of a listed tenant", &idbridge.Claims{Issuer: v1(tenantA), TenantID: tenantA, Groups: []string{lendingRM}}, ""},
		{"v2.0 of a listed tenant", &idbridge.Claims{Issuer: "https://login.microsoftonline.com/" + tenantA + "/v2.0", TenantID: tenantA, Groups: []string{lendingRM}}, ""},
		{"v1.0 of an unlisted tenant", &idbridge.Claims{Issuer: v1(tenantB), TenantID: tenantB, Groups: []string{lendingRM}}, reason.Tenant},
		{"v1.0 iss of one tenant, tid of another", &idbridge.Claims{Issuer: v1(tenantA), TenantID: tenantB, Groups: []string{lendingRM}}, reason.Issuer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := p.Decide(tt.c)
			if d.OK() != (tt.reason == "") || d.Reason() != tt.reason {
				t.Fatalf("ok %v reason %q (%v), want %q", d.OK(), d.Reason(), d.Err(), tt.reason)
			}
		})
	}
	if !p.TrustsIssuer(v1(tenantA)) || p.TrustsIssuer(v1(tenantB)) || !p.TrustsIssuer("https://sts.windows.net/{tenantid}/") {
		t.Error("TrustsIssuer")
	}
}

func TestV1IssuerRefused(t *testing.T) {
	issuer := func(iss, v1 string, extra ...string) string {
		s := "version: 1\nissuers:\n  - name: entra\n    issuer: " + iss + "\n    v1_issuer: " + v1 + "\n"
		for _, e := range extra {
			s += e + "\n"
		}
		return s + "roles: [{name: R}]\n"
	}
	v2A := "https://login.microsoftonline.com/" + tenantA + "/v2.0"
	tests := []struct {
		name, policy, want string
	}{
		{"mismatched tenants", issuer(v2A, "https://sts.windows.net/"+tenantB+"/"),
			`policy:3:5: issuers[0].v1_issuer: v1_issuer "https://sts.windows.net/` + tenantB + `/" names tenant ` + tenantB + ` but issuer "` + v2A + `" names tenant ` + tenantA + `: both must be the same tenant's, written alike (want https://sts.windows.net/` + tenantA + `/)`},
		{"tenant in another case", issuer(v2A, "https://sts.windows.net/"+strings.ToUpper(tenantA)+"/"),
			`policy:3:5: issuers[0].v1_issuer: v1_issuer "https://sts.windows.net/` + strings.ToUpper(tenantA) + `/" names tenant ` + strings.ToUpper(tenantA) + ` but issuer "` + v2A + `" names tenant ` + tenantA + `: both must be the same tenant's, written alike (want https://sts.windows.net/` + tenantA + `/)`},
		{"template and a fixed tenant", issuer("https://login.microsoftonline.com/{tenantid}/v2.0", "https://sts.windows.net/"+tenantA+"/", "    tenants: ["+tenantA+"]"),
			`policy:3:5: issuers[0].v1_issuer: v1_issuer "https://sts.windows.net/` + tenantA + `/" names tenant ` + tenantA + ` but issuer "https://login.microsoftonline.com/{tenantid}/v2.0" names tenant {tenantid}: both must be the same tenant's, written alike (want https://sts.windows.net/{tenantid}/)`},
		{"not an Entra v2.0 issuer", issuer("https://accounts.google.com", "https://sts.windows.net/"+tenantA+"/"),
			`policy:3:5: issuers[0].v1_issuer: v1_issuer pairs an Entra v2.0 issuer (https://login.microsoftonline.com/{tenant}/v2.0) with the same tenant's v1.0 issuer; issuer "https://accounts.google.com" is not one`},
		{"v1.0 issuer as issuer", issuer("https://sts.windows.net/"+tenantA+"/", "https://sts.windows.net/"+tenantA+"/"),
			`policy:3:5: issuers[0].v1_issuer: v1_issuer pairs an Entra v2.0 issuer (https://login.microsoftonline.com/{tenant}/v2.0) with the same tenant's v1.0 issuer; issuer "https://sts.windows.net/` + tenantA + `/" is not one`},
		{"v2.0 issuer as v1_issuer", issuer(v2A, v2A),
			`policy:3:5: issuers[0].v1_issuer: v1_issuer "` + v2A + `" must be Entra's v1.0 issuer https://sts.windows.net/` + tenantA + `/, as v1.0 tokens carry it`},
		{"v1.0 issuer without the slash", issuer(v2A, "https://sts.windows.net/"+tenantA),
			`policy:3:5: issuers[0].v1_issuer: v1_issuer "https://sts.windows.net/` + tenantA + `" must be Entra's v1.0 issuer https://sts.windows.net/` + tenantA + `/, as v1.0 tokens carry it`},
		{"domain instead of tenant ID", issuer("https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0", "https://sts.windows.net/contoso.onmicrosoft.com/"),
			`policy:3:5: issuers[0].v1_issuer: v1_issuer pairs an Entra v2.0 issuer (https://login.microsoftonline.com/{tenant}/v2.0) with the same tenant's v1.0 issuer; issuer "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0" is not one`},
		{"v1.0 issuer also declared alone", issuer(v2A, "https://sts.windows.net/"+tenantA+"/", "  - {name: entra-v1, issuer: \"https://sts.windows.net/"+tenantA+"/\"}"),
			`policy:6:5: issuers[1].issuer: duplicate issuer "https://sts.windows.net/` + tenantA + `/"`},
		{"template instance declared alone", issuer("https://login.microsoftonline.com/{tenantid}/v2.0", "https://sts.windows.net/{tenantid}/", "    tenants: ["+tenantA+"]", "  - {name: entra-v1, issuer: \"https://sts.windows.net/"+tenantA+"/\"}"),
			`policy:7:5: issuers[1].issuer: issuer "https://sts.windows.net/` + tenantA + `/" is also issuer "https://login.microsoftonline.com/{tenantid}/v2.0" for tenant ` + tenantA + `; declare it once`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePolicy([]byte(tt.policy))
			if !errors.Is(err, ErrInvalidPolicy) || err.Error() != tt.want {
				t.Fatalf("err:\n%v\nwant:\n%s", err, tt.want)
			}
		})
	}
}
