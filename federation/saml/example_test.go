package saml_test

import (
	"context"
	"fmt"

	"github.com/idbridge/idbridge"

	"github.com/idbridge/idbridge/federation/saml"
	"github.com/idbridge/idbridge/federation/saml/samltest"
	"github.com/idbridge/idbridge/rbac"
)

const bankPolicy = `version: 1
issuers:
  - name: entra
    issuer: https://login.microsoftonline.com/9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c/v2.0
groups:
  - {id: 4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13, name: Lending_RM}
roles:
  - {name: CBS_Viewer, permissions: [cbs:account:read]}
  - {name: CBS_Originator, permissions: [cbs:loan:create]}
mappings:
  - {id: rm-view, when: {group: Lending_RM}, grant: {roles: [CBS_Viewer]}}
  - {id: rm-originate, when: {group: Lending_RM, mfa: true}, grant: {roles: [CBS_Originator]}}
`

// An on-prem portal takes Amit's SAML sign-in from Entra and decides with
// the same policy that its token-based APIs use.
func ExampleValidator_Validate() {
	ctx := context.Background()
	idp := samltest.New("9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c") // stands in for Entra

	// The tenant's federation metadata (in production NewRemoteMetadata
	// fetches and refreshes it).
	md, err := saml.ParseMetadata(idp.Metadata())
	if err != nil {
		fmt.Println(err)
		return
	}
	v, err := saml.NewValidator(md, "https://cbs.bank.example/saml", "https://cbs.bank.example/saml/acs",
		func(o *saml.Options) {
			// The policy is written for Entra's v2 tokens of this tenant.
			o.ClaimsIssuer = "https://login.microsoftonline.com/{tenantid}/v2.0"
		})
	if err != nil {
		fmt.Println(err)
		return
	}
	policy, err := rbac.ParsePolicy([]byte(bankPolicy))
	if err != nil {
		fmt.Println(err)
		return
	}

	// What the browser posts to the ACS after the portal's AuthnRequest.
	form := samltest.Encode(idp.Response(samltest.User{
		ObjectID: "7d3e2a10-5b8c-4f1e-9c6d-2a4b8e0f1c3d", UPN: "amit.r@bank.example", DisplayName: "Amit R",
		Groups: []string{"4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13"}, MFA: true,
	}, samltest.Request{Audience: "https://cbs.bank.example/saml", Recipient: "https://cbs.bank.example/saml/acs", InResponseTo: "id-81c2"}))

	a, err := v.Validate(ctx, form, "id-81c2")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(a.Claims.Name, a.Claims.ObjectID, a.Claims.AMR)
	d := policy.Decide(a.Claims)
	fmt.Println(d.Roles(), d.Allowed("cbs:account:read"))

	// The same response posted again is refused.
	_, err = v.Validate(ctx, form, "id-81c2")
	fmt.Println(err != nil, idbridge.ReasonOf(err))
	// Output:
	// Amit R 7d3e2a10-5b8c-4f1e-9c6d-2a4b8e0f1c3d [pwd mfa]
	// [CBS_Viewer CBS_Originator] true
	// true revoked
}

// With Entra's SAML token encryption on, the portal holds the private key
// of the certificate uploaded to Entra; during a rollover it holds the
// previous one too.
func ExampleDecryptionKey() {
	ctx := context.Background()
	idp := samltest.New("9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c") // stands in for Entra
	cur, prev := samltest.New("cur"), samltest.New("prev")      // stand in for the portal's key pairs (PEM files, in production)
	keys := []saml.DecryptionKey{
		{Key: cur.Key, Certificate: cur.Cert}, // published in the SP metadata
		{Key: prev.Key},                       // still accepted until Entra switches
	}
	md, err := saml.ParseMetadata(idp.Metadata())
	var v *saml.Validator
	if err == nil {
		v, err = saml.NewValidator(md, "https://cbs.bank.example/saml", "https://cbs.bank.example/saml/acs",
			func(o *saml.Options) { o.DecryptionKeys = keys })
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	// Entra signs the assertion, then encrypts it to the previous certificate.
	form := samltest.Encode(idp.Response(samltest.User{UPN: "amit.r@bank.example"}, samltest.Request{
		Audience: "https://cbs.bank.example/saml", Recipient: "https://cbs.bank.example/saml/acs",
		InResponseTo: "id-81c2", EncryptTo: prev.Cert,
	}))
	a, err := v.Validate(ctx, form, "id-81c2")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(a.Claims.Subject)
	// Output:
	// amit.r@bank.example
}
