// Package ststest is a fake AWS Security Token Service for tests and
// examples: an httptest server that answers AssumeRoleWithWebIdentity in
// STS's real wire format and validates the web identity token the way AWS
// does, so that a test passing against it means something.
//
// # Use
//
//	idp := jwkstest.Start(t)
//	s := ststest.Start(t)
//	s.AddOIDCProvider(ststest.OIDCProvider{URL: idp.Issuer(), ClientIDs: []string{"app"}, JWKSURL: idp.JWKSURL()})
//	s.AddRole(ststest.Role{ARN: "arn:aws:iam::111122223333:role/Loan_ReadOnly",
//		Trust: []ststest.Condition{{Op: ststest.StringEquals, Key: ststest.ClaimKey(idp.Issuer(), "sub"), Values: []string{"amit"}}}})
//	client := s.Client()        // the real aws-sdk-go-v2 STS client, BaseEndpoint = s.URL
//
// # What it checks, in AWS's order
//
//  1. The request: POST, form-encoded, Action=AssumeRoleWithWebIdentity,
//     Version=2011-06-15, RoleArn, RoleSessionName ([\w+=,.@-]{2,64}),
//     WebIdentityToken (4 to 20000 characters), DurationSeconds (900 to
//     43200). The request is unsigned; an Authorization header is ignored.
//  2. The token: its iss must name a registered [OIDCProvider] (URL
//     compared exactly), its signature must verify against the provider's
//     keys ([jwks.Validator] with RS256..RS512 and ES256..ES512), exp must
//     be in the future and aud must be in the provider's client list. The
//     keys are fetched from the IdP when a token needs them (see
//     [OIDCProvider]).
//     Failures answer InvalidIdentityToken, ExpiredTokenException, or
//     IDPCommunicationError when the keys cannot be fetched.
//  3. The role: it must exist in the account and trust the token's provider;
//     every [Condition] of its trust policy must hold, else AccessDenied
//     (AWS does not reveal whether the role exists).
//  4. DurationSeconds must not exceed the role's MaxSessionDuration
//     (ValidationError); Policy must be a JSON policy document
//     (MalformedPolicyDocument) and, with the session tags, fit the packed
//     size (PackedPolicyTooLarge).
//
// Session tags and the source identity of a web identity session come from
// the token, as in AWS: the claim https://aws.amazon.com/tags (an object
// with principal_tags, each value a one-element list, and
// transitive_tag_keys) and the claim https://aws.amazon.com/source_identity.
// The request has no parameter for either.
//
// # Role chaining
//
// AssumeRole is served too, for a session the fake issued that assumes a
// role listing the session's role in [Role].TrustedRoles: the request must
// be signed (Signature Version 4) with that session's credentials, which
// the fake verifies; it may carry Tags, TransitiveTagKeys and
// SourceIdentity; the session lasts at most one hour; transitive tags and
// the source identity of the caller carry over and cannot be changed.
//
// # Condition keys
//
// Trust conditions use the keys IAM offers for OIDC federation, written as
// in a trust policy ("<provider host/path>:sub", see [ClaimKey]): sub; aud,
// which IAM maps to the azp claim when the token has one and to aud
// otherwise; oaud, the aud claim; amr; plus aws:RequestTag/<key> (from the
// token's tags claim) and sts:RoleSessionName. IAM drops every other claim:
// there is no groups key, so a role that must follow a group is guarded by
// sub, by a session tag the IdP emits, or by a client ID per role.
//
// # Faults
//
// [Server.FailNext] makes the next requests answer any STS error code
// (Throttling, RegionDisabledException, IDPRejectedClaim, InternalFailure,
// ...) with the status and body AWS uses for it.
//
// Like net/http/httptest, helpers panic on errors for ease of use in tests.
// The fake is for tests only: it keeps issued secrets in memory.
package ststest
