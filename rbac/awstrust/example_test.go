package awstrust_test

import (
	"encoding/json"
	"fmt"

	"github.com/idbridge/idbridge/rbac"
	"github.com/idbridge/idbridge/rbac/awstrust"
)

// The trust policy that makes IAM admit to Loan_ReadOnly only tokens of
// the bank's Entra tenant issued to the app whose tokens the SDK sends to
// STS, and what stays with the SDK.
func ExampleGenerate() {
	p, err := rbac.NewPolicy("../../examples/policies/bank.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	ts, err := awstrust.Generate(p.Inventory(), awstrust.Options{
		Audiences: map[string][]string{"entra": {"6e3f2a1b-7c4d-4e5f-9a8b-0c1d2e3f4a5b"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	t := ts[0]
	st := t.Document.Statement[0]
	fmt.Println(t.RoleARN, t.Granted)
	fmt.Println(st.Principal.Federated)
	fmt.Println(st.Action)
	aud, _ := json.Marshal(st.Condition["StringEquals"]["login.microsoftonline.com/9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c/v2.0:aud"])
	fmt.Println("aud", string(aud))
	for _, n := range t.NotEnforced {
		fmt.Println("not enforced by IAM:", n)
	}
	// Output:
	// arn:aws:iam::111122223333:role/Loan_ReadOnly [group Lending_RM (entra)]
	// arn:aws:iam::111122223333:oidc-provider/login.microsoftonline.com/9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c/v2.0
	// [sts:AssumeRoleWithWebIdentity sts:SetSourceIdentity sts:TagSession]
	// aud ["6e3f2a1b-7c4d-4e5f-9a8b-0c1d2e3f4a5b"]
	// not enforced by IAM: group Lending_RM: IAM has no condition key for groups
	// not enforced by IAM: sub: not pinned (no subjects given); any user with a token for the audience can call STS directly
}
