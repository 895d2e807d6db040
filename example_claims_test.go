package idbridge_test

import (
	"errors"
	"fmt"

	"github.com/idbridge/idbridge"
)

// ParseClaims reads a claims object that came from a source the caller
// already trusts (an introspection answer, a payload whose signature was
// checked elsewhere) with the rules the validator applies to a token:
// typed fields through the one claim table, Get for any other claim, and a
// malformed object refused with class malformed.
func ExampleParseClaims() {
	c, err := idbridge.ParseClaims(`{"iss":"https://login.microsoftonline.com/9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c/v2.0",` +
		`"oid":"00000000-0000-4000-8000-000000000001","scp":"Loans.Read Loans.Write","branch":"north"}`)
	if err != nil {
		fmt.Println(err)
		return
	}
	branch, _ := c.Get("branch")
	fmt.Println(c.ObjectID, c.Scopes, string(branch), c.Header.KeyID == "")

	// Duplicate claims and claims of the wrong JSON type are refused.
	_, err = idbridge.ParseClaims(`{"exp":1,"exp":2}`)
	fmt.Println(errors.Is(err, idbridge.ErrMalformed), idbridge.ReasonOf(err) == idbridge.ReasonMalformed)
	// Output:
	// 00000000-0000-4000-8000-000000000001 [Loans.Read Loans.Write] "north" true
	// true true
}

// LookupClaim finds the typed field a claim name fills; names without one
// are read with Claims.Get.
func ExampleLookupClaim() {
	c, _ := idbridge.ParseClaims(`{"scope":"orders.read","groups":["g1","g2"]}`)
	for _, name := range []string{"scp", "groups", "branch"} {
		ref, ok := idbridge.LookupClaim(name)
		if !ok {
			fmt.Println(name, "has no typed field")
			continue
		}
		fmt.Println(name, "→", ref.Field(), ref.Strings(c))
	}
	// Output:
	// scp → Scopes [orders.read]
	// groups → Groups [g1 g2]
	// branch has no typed field
}
