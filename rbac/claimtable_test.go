package rbac

import (
	"slices"
	"testing"

	"github.com/idbridge/idbridge"
)

// TestOneClaimTable: conditions read claims through idbridge's claim table, so
// Entra's scp and RFC 9068's scope grant alike, azp and client_id name one
// client, and the decision on a JSON claims set (policy tests, DecideJSON)
// equals the decision on the claims a validator decoded.
func TestOneClaimTable(t *testing.T) {
	pol, err := ParsePolicy([]byte(`version: 1
issuers:
  - {name: as, issuer: "https://as.example"}
roles:
  - {name: ProfileReader, permissions: [profile:read]}
  - {name: Batch, permissions: [orders:batch]}
mappings:
  - id: profile
    when: {issuer: as, scope: profile}
    grant: {roles: [ProfileReader]}
  - id: batch
    when: {issuer: as, claim: {name: client_id, equals: svc-1}}
    grant: {roles: [Batch]}
`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		payload string
		roles   []string
	}{
		{`{"iss":"https://as.example","scp":"profile"}`, []string{"ProfileReader"}},
		{`{"iss":"https://as.example","scope":"profile orders.read"}`, []string{"ProfileReader"}},
		{`{"iss":"https://as.example","scope":["profile"]}`, []string{"ProfileReader"}},
		{`{"iss":"https://as.example","scope":"profile","client_id":"svc-1"}`, []string{"Batch", "ProfileReader"}},
		{`{"iss":"https://as.example","azp":"svc-1","client_id":"svc-1"}`, []string{"Batch"}},
		{`{"iss":"https://as.example","azp":"svc-1"}`, nil}, // the condition names client_id
		{`{"iss":"https://as.example","scope":"openid"}`, nil},
	}
	for _, tt := range tests {
		dj, err := pol.DecideJSON([]byte(tt.payload))
		if err != nil {
			t.Fatal(err)
		}
		c, err := idbridge.ParseClaims([]byte(tt.payload))
		if err != nil {
			t.Fatal(err)
		}
		dc := pol.Decide(c)
		rj, rc := slices.Sorted(slices.Values(dj.Roles())), slices.Sorted(slices.Values(dc.Roles()))
		if !slices.Equal(rj, tt.roles) || !slices.Equal(rc, tt.roles) {
			t.Errorf("%s: DecideJSON roles %v, Decide roles %v, want %v", tt.payload, rj, rc, tt.roles)
		}
	}
}
