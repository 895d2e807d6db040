package idbridge_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Claims built in code (an LDAP login, a policy test) answer Get and
// MarshalJSON through the claim table, and read back into the same fields.
func TestBuiltClaimsRoundTrip(t *testing.T) {
	at := time.Unix(1767225600, 0)
	tests := []struct {
		name string
		c    idbridge.Claims
		get  map[string]string // claim → raw JSON Get returns; "" means absent
	}{
		{"empty", idbridge.Claims{}, map[string]string{"sub": "", "groups": ""}},
		{"ldap login", idbridge.Claims{
			Issuer: "ldaps://dc1.bank.example", Subject: "uid=amit.r,ou=people,dc=bank,dc=example",
			IssuedAt: at, PreferredUsername: "amit.r", Name: "Amit R", Email: "amit.r@bank.example",
			AMR: []string{"pwd"}, Groups: []string{"cn=cbs_viewonly,ou=groups,dc=bank,dc=example"},
		}, map[string]string{
			"sub": `"uid=amit.r,ou=people,dc=bank,dc=example"`, "amr": `["pwd"]`, "iat": "1767225600",
			"groups": `["cn=cbs_viewonly,ou=groups,dc=bank,dc=example"]`, "scp": "", "tid": "",
		}},
		{"entra access token fields", idbridge.Claims{
			Issuer:   "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0",
			Audience: []string{"6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"}, ExpiresAt: at.Add(time.Hour),
			NotBefore: at.Add(500 * time.Millisecond), Scopes: []string{"Loans.Read", "Loans.Write"},
			Roles: []string{}, AuthorizedParty: "c0ffee00-0000-4000-8000-000000000001", Version: "2.0",
			ClaimNames:   map[string]string{"groups": "src1"},
			ClaimSources: map[string]idbridge.ClaimSource{"src1": {Endpoint: "https://graph.microsoft.com/v1.0/users/x/getMemberObjects"}},
		}, map[string]string{
			"scp": `"Loans.Read Loans.Write"`, "scope": "", "roles": `[]`, "nbf": "1767225600.5",
			"aud": `["6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"]`,
		}},
		{"quotes and unicode", idbridge.Claims{Name: "O\"Brien \u00e9\u2028", Subject: "<x>&"},
			map[string]string{"sub": `"\u003cx\u003e\u0026"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for name, want := range tc.get {
				raw, ok := tc.c.Get(name)
				if want == "" {
					assert.False(t, ok, "Get(%q) = %s", name, raw)
					continue
				}
				require.True(t, ok, "Get(%q)", name)
				assert.JSONEq(t, want, string(raw), name)
			}
			b, err := json.Marshal(&tc.c)
			require.NoError(t, err)
			back, err := idbridge.ParseClaims(b)
			require.NoError(t, err, "%s", b)
			again, err := json.Marshal(back)
			require.NoError(t, err)
			assert.JSONEq(t, string(b), string(again), "a parsed copy marshals as the original")
			tc.c.Header = idbridge.Header{}
			want := tc.c
			got := *back
			assert.Equal(t, fields(want), fields(got))
		})
	}
}

// fields is c's typed claims as JSON, which compares times by instant and
// leaves out the unexported payload.
func fields(c idbridge.Claims) string {
	type plain idbridge.Claims // no MarshalJSON
	b, _ := json.Marshal(plain(c))
	return string(b)
}
