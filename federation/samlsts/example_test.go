package samlsts_test

import (
	"context"
	"fmt"

	"github.com/idbridge/idbridge/federation/saml"
	"github.com/idbridge/idbridge/federation/saml/samltest"
	"github.com/idbridge/idbridge/federation/samlsts"
	"github.com/idbridge/idbridge/rbac"
)

// Amit signs in to Entra's AWS application; his assertion lists the roles
// his app-role assignments give him, and the bank's rbac policy picks
// Loan_ReadOnly among them.
func ExampleNewProvider() {
	entra := samltest.New("9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c") // stands in for Entra
	md, _ := saml.ParseMetadata(entra.Metadata())
	v, _ := saml.NewValidator(md, samlsts.Audience, samlsts.Recipient, func(o *saml.Options) {
		o.AllowIdPInitiated = true // the usual Entra → AWS flow starts at Entra
		o.ClaimsIssuer = "https://login.microsoftonline.com/{tenantid}/v2.0"
	})
	policy, _ := rbac.ParsePolicy([]byte(`version: 1
issuers: [{name: entra, issuer: "https://login.microsoftonline.com/9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c/v2.0"}]
groups: [{id: 4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13, name: Lending_RM}]
roles: [{name: LoanViewer, permissions: [loan:read]}]
mappings:
  - {id: rm-view, when: {group: Lending_RM}, grant: {roles: [LoanViewer], aws: [{role_arn: "arn:aws:iam::111122223333:role/Loan_ReadOnly", duration: 1h}]}}
`))
	signIn := samlsts.AssertionSourceFunc(func(ctx context.Context) (string, error) {
		// In production: the SAMLResponse the browser or CLI obtained from
		// https://myapps.microsoft.com for the AWS app.
		return samltest.Encode(entra.Response(samltest.User{
			ObjectID: "7d3e2a10-5b8c-4f1e-9c6d-2a4b8e0f1c3d", UPN: "amit.r@bank.example",
			Groups: []string{"4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13"}, SessionDuration: 28800,
			AWSRoles: []string{
				"arn:aws:iam::111122223333:role/Risk_ReadOnly,arn:aws:iam::111122223333:saml-provider/EntraID",
				"arn:aws:iam::111122223333:role/Loan_ReadOnly,arn:aws:iam::111122223333:saml-provider/EntraID",
			},
		}, samltest.Request{Audience: samlsts.Audience, Recipient: samlsts.Recipient})), nil
	})
	stub := &stsStub{} // in production: sts.NewFromConfig(cfg)
	p, err := samlsts.NewProvider(stub, v, signIn, func(o *samlsts.Options) { o.Policy = policy })
	if err != nil {
		fmt.Println(err)
		return
	}
	creds, err := p.Retrieve(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(*stub.last.RoleArn, *stub.last.DurationSeconds, creds.AccessKeyID)
	// Output:
	// arn:aws:iam::111122223333:role/Loan_ReadOnly 3600 ASIAEXAMPLE
}
