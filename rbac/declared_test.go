package rbac_test

import (
	"slices"
	"testing"

	"github.com/idbridge/idbridge/rbac"
)

func TestDeclared(t *testing.T) {
	p, err := rbac.ParsePolicy([]byte(`version: 1
issuers:
  - {name: entra, issuer: "https://login.microsoftonline.com/{tenantid}/v2.0", tenants: [9B1C3F4E-2A6D-4E8B-B7C1-5D0F2E3A4B6C]}
  - {name: ad, issuer: "ldap://corp.bank.example", group_ids: dn}
roles:
  - {name: LoanViewer, permissions: [loan:read]}
  - {name: LoanApprover, permissions: [loan:read, loan:approve]}
mappings:
  - {id: a, when: {issuer: entra, scope: Loans.Read}, grant: {roles: [LoanViewer]}}
  - {id: b, when: {issuer: entra, all: [{scope: Loans.ReadWrite}, {app_role: Approver}]}, grant: {roles: [LoanApprover]}}
`))
	if err != nil {
		t.Fatal(err)
	}
	d := p.Declared()
	for _, c := range []struct{ got, want []string }{
		{d.Issuers, []string{"https://login.microsoftonline.com/{tenantid}/v2.0", "ldap://corp.bank.example"}},
		{d.Roles, []string{"LoanApprover", "LoanViewer"}},
		{d.Permissions, []string{"loan:approve", "loan:read"}},
		{d.Scopes, []string{"Loans.Read", "Loans.ReadWrite"}},
	} {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	for iss, want := range map[string]bool{
		"ldap://corp.bank.example":                                                     true,
		"https://login.microsoftonline.com/{tenantid}/v2.0":                            true,
		"https://login.microsoftonline.com/9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c/v2.0":  true,
		"https://login.microsoftonline.com/9B1C3F4E-2A6D-4E8B-B7C1-5D0F2E3A4B6C/v2.0":  true,
		"https://login.microsoftonline.com/1a2b3c4d-0000-4000-8000-00000000000f/v2.0":  false,
		"https://login.microsoftonline.com/9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c/v2.00": false,
		"https://sts.windows.net/9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c/":                false,
		"ldap://corp.bank.example/":                                                    false,
		"":                                                                             false,
	} {
		if got := p.TrustsIssuer(iss); got != want {
			t.Errorf("TrustsIssuer(%q) = %v, want %v", iss, got, want)
		}
	}
}
