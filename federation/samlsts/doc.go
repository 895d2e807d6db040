// Package samlsts turns a SAML assertion from Microsoft Entra ID (or any
// SAML IdP) into temporary AWS credentials through STS AssumeRoleWithSAML,
// as an aws.CredentialsProvider that caches them and renews them ahead of
// expiry with a fresh assertion.
//
// # When to choose it over federation.Provider
//
// federation.Provider (AssumeRoleWithWebIdentity) exchanges an OIDC token:
// choose it when the caller already holds one (a service, a user of an
// OIDC app) and AWS has an IAM OIDC provider for the token's issuer. This
// package exchanges a SAML assertion: choose it when the organisation
// federates AWS through Entra's "Amazon Web Services (AWS)" enterprise
// application, whose assertions carry what a JWT from Entra cannot — the
// https://aws.amazon.com/SAML/Attributes/Role pairs Entra derives from the
// user's app-role assignments, SessionDuration, and PrincipalTag:* session
// tags — and AWS trusts it through an IAM SAML provider.
//
// # Use
//
//	md, _ := saml.NewRemoteMetadata(ctx, entraAWSAppMetadataURL)
//	v, _ := saml.NewValidator(md, samlsts.Audience, samlsts.Recipient,
//		func(o *saml.Options) { o.AllowIdPInitiated = true })
//	p, _ := samlsts.NewProvider(sts.NewFromConfig(cfg), v, signIn, func(o *samlsts.Options) {
//		o.Policy = policy // the rbac grant picks the role; the assertion must list it
//	})
//	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.Credentials = p })
//
// # The role
//
// The assertion lists "role ARN,provider ARN" pairs. The provider asks for
// Options.RoleARN, or the rbac policy's AWS grant for the assertion's
// claims (federation.RoleFor), or the assertion's only pair — and in every
// case the pair must be one the assertion lists ([ErrNoRole] otherwise):
// the IdP's signature vouches for it, and STS would refuse any other. The
// session lasts the smallest of Options.Duration, the grant's duration and
// the SessionDuration attribute, within 15 minutes and 12 hours.
//
// # Failures and audit
//
// A bad assertion fails with the saml package's sentinels (expired,
// signature, replayed, ...) before any STS call; STS's answers are classed
// by federation's table into a *federation.Error, so AccessDenied is
// federation.ErrAccessDenied as on the web-identity path. Each STS call
// emits sts.assumed or sts.failed with iss, tid, sub, oid, token_id (a hash
// of the assertion ID), role_arn, principal_arn, assumed_role_arn,
// access_key_id, expiration and request_id; never the assertion, the
// secret key or the session token.
package samlsts
