package rbac_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/rbac"
)

const policy = `version: 1
issuers:
  - name: entra
    issuer: https://login.microsoftonline.com/9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c/v2.0
groups:
  - {id: 4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13, name: Lending_RM}
  - {id: e2d94c07-1b5a-4f68-a3c9-7f0e8b2d5a46, name: HR_Leavers}
roles:
  - {name: LoanViewer, permissions: [loan:read]}
  - {name: KYC_ReadOnly, permissions: [kyc:read]}
mappings:
  - id: rm-view
    when: {group: Lending_RM}
    grant:
      roles: [LoanViewer, KYC_ReadOnly]
      aws:
        - role_arn: arn:aws:iam::111122223333:role/Loan_ReadOnly
          duration: 1h
          source_identity: preferred_username
deny:
  - {id: leaver, reason: revoked, when: {group: HR_Leavers}}
tests:
  - name: RM reads loans
    claims:
      iss: https://login.microsoftonline.com/9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c/v2.0
      groups: [4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13]
    expect: {allowed: true, can: [loan:read, kyc:read]}
`

// A service decides on the verified claims of each request: roles and
// permissions for its own checks, the AWS role for federation.
func ExamplePolicy_Decide() {
	p, err := rbac.ParsePolicy([]byte(policy))
	if err != nil {
		fmt.Println(err)
		return
	}
	claims := &idbridge.Claims{ // as returned by jwks.Validator.Validate
		Issuer:            "https://login.microsoftonline.com/9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c/v2.0",
		PreferredUsername: "amit.r@bank.example",
		Groups:            []string{"4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13"},
	}
	d := p.Decide(claims)
	fmt.Println(d.OK(), d.Roles())
	fmt.Println("loan:read", d.Allowed("loan:read"), "loan:approve", d.Allowed("loan:approve"))
	for _, a := range d.AWSRoles() {
		fmt.Println(a.RoleARN, a.Duration, a.SourceIdentity)
	}

	claims.Groups = append(claims.Groups, "e2d94c07-1b5a-4f68-a3c9-7f0e8b2d5a46") // HR marks a leaver
	d = p.Decide(claims)
	fmt.Println(d.OK(), d.Reason(), errors.Is(d.Err(), rbac.ErrDenied))
	// Output:
	// true [LoanViewer KYC_ReadOnly]
	// loan:read true loan:approve false
	// arn:aws:iam::111122223333:role/Loan_ReadOnly 1h0m0s amit.r@bank.example
	// false revoked true
}

// Every decision explains itself, for support tickets and access reviews.
func ExampleDecision_Explain() {
	p, _ := rbac.ParsePolicy([]byte(policy))
	d, _ := p.DecideJSON([]byte(`{
		"iss": "https://login.microsoftonline.com/9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c/v2.0",
		"groups": ["4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13", "e2d94c07-1b5a-4f68-a3c9-7f0e8b2d5a46"]}`))
	e := d.Explain()
	fmt.Println(e.Allowed, e.Reason)
	fmt.Println(e.Matched[0].Mapping, e.Matched[0].Because)
	fmt.Println(e.DeniedBy.Kind, e.DeniedBy.ID, e.DeniedBy.Because)
	// Output:
	// false revoked
	// rm-view [group Lending_RM]
	// deny leaver [group HR_Leavers]
}

// Inline tests let a reviewer check a mapping change offline.
func ExamplePolicy_Test() {
	p, _ := rbac.ParsePolicy([]byte(policy))
	for _, r := range p.Test(context.Background()) {
		fmt.Println(r.Name, r.Passed)
	}
	// Output:
	// RM reads loans true
}

// A policy with a mistake does not load; each problem carries its line.
func ExampleParsePolicy_errors() {
	_, err := rbac.ParsePolicy([]byte(`version: 1
issuers: [{name: entra, issuer: "https://issuer.example"}]
roles: [{name: LoanViewer}]
mappings:
  - id: m
    when: {group: Lending_RM}
    grant: {roles: [LoanViewr], aws: [{role_arn: "arn:aws:iam::1:role/X"}]}
`), func(o *rbac.Options) { o.Name = "bank.yaml" })
	fmt.Println(errors.Is(err, rbac.ErrInvalidPolicy))
	fmt.Println(err)
	// Output:
	// true
	// bank.yaml:7:21: mappings[0].grant.roles[0]: undeclared role "LoanViewr"
	// bank.yaml:7:39: mappings[0].grant.aws[0].role_arn: malformed IAM role ARN "arn:aws:iam::1:role/X" (want arn:aws:iam::<12-digit account>:role/<name>)
	// bank.yaml:6:19: mappings[0].when.group: undeclared group "Lending_RM" (declare it under groups: with its ID)
}

// Group IDs from a directory are compared in canonical form.
func ExampleNormalizeGroupID() {
	id, ok := rbac.NormalizeGroupID("dn", "CN=CBS_ViewOnly, OU=Groups, DC=bank, DC=example")
	fmt.Println(id, ok)
	// Output:
	// cn=cbs_viewonly,ou=groups,dc=bank,dc=example true
}

// A multi-tenant app writes its issuer with {tenantid} and lists the
// tenants it trusts; a token from any other tenant is refused.
func ExampleParsePolicy_multiTenant() {
	p, err := rbac.ParsePolicy([]byte(`version: 1
issuers:
  - name: entra
    issuer: https://login.microsoftonline.com/{tenantid}/v2.0
    tenants: [9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c, 1a2b3c4d-0000-4000-8000-00000000000f]
roles:
  - {name: Reader, permissions: [report:read]}
mappings:
  - {id: readers, when: {app_role: Reports.Read}, grant: {roles: [Reader]}}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, tid := range []string{"1a2b3c4d-0000-4000-8000-00000000000f", "00000000-0000-0000-0000-000000000000"} {
		d := p.Decide(&idbridge.Claims{
			Issuer:   "https://login.microsoftonline.com/" + tid + "/v2.0",
			TenantID: tid,
			Roles:    []string{"Reports.Read"},
		})
		fmt.Println(tid[:8], d.Allowed("report:read"), d.Err())
	}
	// Output:
	// 1a2b3c4d true <nil>
	// 00000000 false rbac: tenant not allowed: tid "00000000-0000-0000-0000-000000000000"
}
