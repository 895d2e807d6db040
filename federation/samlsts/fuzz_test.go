package samlsts_test

import (
	"strings"
	"testing"

	"github.com/idbridge/idbridge/federation/samlsts"
)

// FuzzPairs: any Role attribute value yields only well-formed pairs, and
// never a panic.
func FuzzPairs(f *testing.F) {
	f.Add(loanRO + "," + entraSAML)
	f.Add(entraSAML + "," + loanRO)
	f.Add("arn:aws:iam::111122223333:role/a/b/c,arn:aws:iam::111122223333:saml-provider/x")
	f.Add(",")
	f.Fuzz(func(t *testing.T, v string) {
		for _, p := range samlsts.Pairs([]string{v}) {
			if !strings.Contains(p.RoleARN, ":role/") || !strings.Contains(p.ProviderARN, ":saml-provider/") {
				t.Fatalf("pair %+v from %q", p, v)
			}
		}
	})
}
