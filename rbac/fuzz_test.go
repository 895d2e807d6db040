package rbac

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/idbridge/idbridge"
)

func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte(minimal + `deny:
  - {id: leaver, reason: revoked, when: {group: RM, mfa: true}}
separation_of_duties:
  - {id: s, roles: [Viewer, Viewer2]}
tests:
  - name: t
    claims: {iss: "https://issuer.example/v2.0", groups: [4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13], amr: [mfa]}
    expect: {allowed: false, reason: revoked, denied_by: leaver, roles: [Viewer], can: [loan:read]}
`))
	f.Add([]byte(strings.Replace(minimal, "grant: {roles: [Viewer]}", "grant: {roles: [Viewer], aws: [{role_arn: 'arn:aws:iam::111122223333:role/R', duration: 1h, session_tags: {a: b}, source_identity: email}]}", 1)))
	f.Add([]byte(minimal + "deny:\n  - {id: d, when: {any: [{group: RM}, {all: [{scope: x}, {mfa: true}]}]}}\n"))
	f.Add([]byte("version: 1\nissuers: [{name: a, issuer: 'x:y', group_ids: dn}]\ngroups: [{id: 'cn=a,dc=b', name: A}]\nroles: [{name: R}]\nmappings: [{id: m, when: {group: A}, grant: {roles: [R]}}]\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte(migrating))
	f.Add([]byte("version: 1\nmappings: [{when: {any: [{any: [{any: []}]}]}}]\n"))
	f.Add([]byte("{{{{"))
	f.Add([]byte("version: 1\ntests: [{name: t, claims: {a: {b: {c: [1, 2, {d: null}]}}}, expect: {allowed: true}}]\n"))
	f.Add([]byte("version: 1\nissuers: [{name: e, issuer: 'https://x/{tenantid}/v2.0', tenants: [9B1C3F4E-2A6D-4E8B-B7C1-5D0F2E3A4B6C]}]\nroles: [{name: R}]\nmappings: [{id: m, when: {tenant: 9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c, app_role: A}, grant: {roles: [R]}}]\n"))
	claimSets := []*idbridge.Claims{
		nil,
		{},
		{Issuer: entraIss, Groups: []string{lendingRM, creditOff}, AMR: []string{"mfa"}, Scopes: []string{"Loans.ReadWrite"}},
		{Issuer: "https://issuer.example/v2.0", Groups: []string{"4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13"}},
		{Issuer: "x:y", Groups: []string{"cn=a,dc=b", "CN=A, DC=B", ""}},
		{Issuer: "https://x/9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c/v2.0", TenantID: "9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c", Roles: []string{"A"}, Groups: []string{"4F0C6B1A-8E2D-4C37-9A51-2B7E6D9F0C13"}},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePolicy(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidPolicy) {
				t.Fatalf("load error outside ErrInvalidPolicy: %v", err)
			}
			return
		}
		for _, c := range claimSets {
			d := p.Decide(c)
			_ = d.Allowed("loan:read")
			_ = d.Roles()
			_ = d.AWSRoles()
			_ = d.Explain().String()
			if d.OK() != (d.Err() == nil) {
				t.Fatalf("OK %v but Err %v", d.OK(), d.Err())
			}
		}
		for _, r := range p.Test(context.Background()) {
			_ = r.Decision.Explain()
		}
	})
}

func FuzzDecideJSON(f *testing.F) {
	p, err := NewPolicy(bankPolicy)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(`{"iss":"` + entraIss + `","groups":["` + lendingRM + `"]}`))
	f.Add([]byte(`{"iss":"` + entraIss + `","groups":"x","roles":null,"scp":7}`))
	f.Add([]byte(`{"iss":"ldap://corp.bank.example","groups":["cn=\\,,dc=x"]}`))
	f.Add([]byte(`{"iss":"` + entraIss + `","_claim_names":{"groups":"src1"},"_claim_sources":{"src1":{"endpoint":1}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := p.DecideJSON(data)
		if err != nil {
			return
		}
		_ = d.Allowed("loan:read")
		_ = d.Check("loan:create")
		_ = d.Explain().String()
	})
}
