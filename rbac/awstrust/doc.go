// Package awstrust makes AWS enforce what an rbac policy says about AWS
// roles: it generates, for every role a mapping grants, the IAM trust
// policy that admits the granted principals and nobody else IAM can tell
// apart, and checks a role's actual trust policy against it (drift: a
// principal, wildcard or missing condition that admits more than the
// grant). The IAM API calls are in the iamcheck subpackage, so a program
// that only generates links no AWS client.
//
// # What the generated trust policy pins
//
// For a grant through an OIDC issuer (Entra: https://login.microsoftonline.com/<tenant>/v2.0):
//
//   - Principal: the IAM OIDC provider of exactly that issuer host and
//     path (arn:aws:iam::<role's account>:oidc-provider/login.microsoftonline.com/<tenant>/v2.0);
//     a {tenantid} issuer gets one statement per listed tenant.
//   - Action sts:AssumeRoleWithWebIdentity, plus sts:SetSourceIdentity when
//     the grant names a source_identity claim and sts:TagSession when it
//     has session tags.
//   - StringEquals <provider>:aud: the client IDs of the tokens sent to STS
//     ([Options].Audiences, required: without it every app of the tenant
//     could assume the role).
//   - StringEquals <provider>:sub, when [Options].Subjects lists the
//     members (from the IGA tool).
//   - aws:RequestTag/<key> = the policy's value for each session tag and
//     ForAllValues:StringEquals aws:TagKeys = the policy's keys, so the
//     session carries exactly the policy's tags; Null sts:SourceIdentity =
//     false when the grant sets a SourceIdentity.
//
// For SAML ([Options].SAMLProviders): Principal the IAM SAML provider,
// Action sts:AssumeRoleWithSAML, StringEquals SAML:aud =
// https://signin.aws.amazon.com/saml.
//
// # What IAM cannot express
//
// IAM's condition keys for OIDC federation are <provider>:aud and
// <provider>:sub for any provider; <provider>:amr exists only for Amazon
// Cognito identity pools, and oaud/azp/email only for Google and Cognito.
// There is no key for groups, app roles, scopes, oid, tid or any other
// claim. So a grant's group, mfa and scope conditions stay with the SDK
// (federation.RoleFor on an rbac decision) and are listed in
// Trust.NotEnforced. A token for the audience obtained outside the SDK
// can call STS directly; pinning sub (Options.Subjects) closes that, at
// the cost of regenerating on every membership change. For SAML, IAM
// checks that the assertion's Role attribute pairs the role with the
// provider; which users get that pair is the IdP's app assignment, which
// the governance tool must keep equal to the policy's groups.
//
// # Checking
//
// [Check] reads a trust policy strictly ([DecodeDocument] takes GetRole's
// URL-encoded form): unknown fields or shapes fail with
// [ErrUnexpectedDocument] rather than being reported clean. Deny
// statements only narrow and are ignored; every Allow statement must
// admit only generated principals, with every generated condition
// present as StringEquals on a subset of the generated values.
package awstrust
