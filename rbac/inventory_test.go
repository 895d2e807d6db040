package rbac_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/idbridge/idbridge/rbac"
)

// TestInventory: conditions come out as alternatives (any/all expanded),
// each with its issuer, group IDs and other tests as explanations show them.
func TestInventory(t *testing.T) {
	p, err := rbac.ParsePolicy([]byte(`version: 1
issuers:
  - {name: entra, issuer: "https://login.microsoftonline.com/9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c/v2.0"}
  - {name: ad, issuer: "ldap://corp.bank.example", group_ids: dn}
groups:
  - {id: 4F0C6B1A-8E2D-4C37-9A51-2B7E6D9F0C13, name: RM, issuer: entra}
  - {id: a83e1f52-6c4b-47d9-8e20-c5b9d4a7f261, name: CO, issuer: entra}
  - {id: "CN=Viewers,DC=bank", name: Viewers, issuer: ad}
roles:
  - {name: R, description: read, permissions: [b, a]}
mappings:
  - id: m
    when: {all: [{group: RM}, {any: [{mfa: true}, {scope: S}]}]}
    grant: {roles: [R], ad_groups: [Viewers]}
deny:
  - {id: d, reason: revoked, when: {group: CO}}
separation_of_duties: []
`))
	if err != nil {
		t.Fatal(err)
	}
	inv := p.Inventory()
	var got []string
	for _, m := range inv.Mappings {
		for _, c := range m.When {
			got = append(got, fmt.Sprintf("%s %s %v %v %v %v", m.ID, c.Issuer, c.Groups, c.Tests, m.Roles, m.DirectoryGroups[0].ID))
		}
	}
	for _, d := range inv.Denies {
		got = append(got, fmt.Sprintf("%s %s %v %s", d.ID, d.When[0].Issuer, d.When[0].Groups, d.Reason))
	}
	got = append(got, fmt.Sprint(inv.Roles[0].Permissions), inv.Groups[2].ID, inv.Issuers[0].GroupsClaim, inv.Issuers[1].GroupIDs)
	want := []string{
		"m entra [4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13] [mfa] [R] cn=viewers,dc=bank",
		"m entra [4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13] [scope S] [R] cn=viewers,dc=bank",
		"d entra [a83e1f52-6c4b-47d9-8e20-c5b9d4a7f261] revoked",
		"[a b]", "cn=viewers,dc=bank", "groups", "dn",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s", strings.Join(got, "\n"))
	}
}
