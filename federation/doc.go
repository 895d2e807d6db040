// Package federation turns an identity provider's token into temporary AWS
// credentials through STS AssumeRoleWithWebIdentity, as an
// aws.CredentialsProvider that caches them and renews them ahead of expiry.
//
// # Use
//
// A user's access, with the role the rbac policy maps their groups to
// (Entra group Lending_RM → IAM role Loan_ReadOnly):
//
//	d := policy.Decide(claims)                       // claims validated by jwks
//	role, err := federation.RoleFor(d, claims, "")   // the one AWS role granted
//	p, err := federation.NewProvider(sts.NewFromConfig(cfg), role.ARN, userTokens, role.Options)
//	defer p.Close()
//	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.Credentials = p })
//
// A service's own access (S3 from EKS with IAM roles for service accounts)
// uses its projected token file, never a user's token:
//
//	p, err := federation.FromEnvironment(sts.NewFromConfig(cfg))
//
// When the bank federates AWS through SAML (Entra's AWS enterprise
// application, whose assertions list the user's roles and session
// duration), use package federation/samlsts instead: the same caching,
// error classes and audit events, with AssumeRoleWithSAML.
//
// # Which token AWS sees
//
// AWS trusts a token when an IAM OIDC provider exists for its exact iss
// (https://login.microsoftonline.com/{tid}/v2.0 for Entra v2 tokens,
// https://sts.windows.net/{tid}/ for v1) and its aud is in that provider's
// client list. By default the Provider sends the OpenID Connect ID token,
// whose aud is the client ID of the app the user signed in to: register
// that client ID. An access token's aud is the API it was issued for, and
// an access token for Microsoft Graph cannot be verified by anyone but
// Graph; send access tokens ([AccessToken]) only when they were requested
// for AWS itself, as workloads using client credentials do. See [TokenKind].
//
// # Who decides the role
//
// The rbac mapping chooses which role to ask for; the role's trust policy
// decides whether STS grants it. A user holding a token can call STS
// directly with any role ARN, so the trust policy must enforce the mapping
// by itself: a condition on sub, on a session tag the IdP emits, or one
// client ID (aud) per role. IAM ignores every other claim — there is no
// groups condition key. AssumeRoleWithWebIdentity also has no parameter for
// session tags or a source identity: STS reads them from the token's
// https://aws.amazon.com/tags and https://aws.amazon.com/source_identity
// claims. A Provider configured with them checks the token carries them
// ([ErrSessionAttributes]); when the IdP cannot emit them, chain a second
// hop with [Role.AssumeRoleOptions].
//
// # Caching and failures
//
// A [Provider] keeps its credentials in a token.Cache, so they renew like
// tokens: Options.RefreshWindow (with jitter, at most half the session)
// before they expire, in the background, also when nobody asks, with one
// STS call however many goroutines ask. After the first call no caller
// waits on STS, and none is handed credentials within 30 s (a tenth of a
// short session) of expiry. Close the Provider to stop the renewals. A
// cached Retrieve takes no lock and allocates nothing.
//
// While STS or the IdP is unreachable, valid credentials keep being
// served and retries back off (for every token: a new one does not bring
// STS back, so during the backoff neither the token source nor STS is
// called). Failures that no retry fixes — AccessDenied,
// InvalidIdentityToken, IDPRejectedClaim, policy errors — withdraw the
// cached credentials and are remembered for Options.NonRecoverableTTL for
// the same token, so a misconfigured role costs one STS call per TTL, not
// one per request.
//
// # Errors
//
// Every error wraps one sentinel, matched with errors.Is; its reason class
// (idbridge.ReasonOf) is shared with the rest of the SDK:
//
//	STS code / local failure                     sentinel                  reason
//	InvalidIdentityToken                         ErrInvalidIdentityToken   forbidden
//	AccessDenied                                 ErrAccessDenied           forbidden
//	IDPRejectedClaim                             ErrClaimRejected          forbidden
//	RegionDisabledException                      ErrRegionDisabled         forbidden
//	ExpiredTokenException, exp passed            ErrTokenExpired           expired
//	IDPCommunicationError                        ErrIdPUnavailable         idp_unavailable
//	Throttling, 5xx, network, timeout            ErrSTSUnavailable         idp_unavailable
//	MalformedPolicyDocument, ValidationError,    ErrInvalidRequest         malformed
//	  any other 4xx code
//	identity token not a JWT                     ErrMalformedToken         malformed
//	PackedPolicyTooLarge, token > 20000 bytes    ErrTooLarge               too_large
//	token source failed                          ErrTokenSource            the source's
//	no ID token in the source's token            ErrNoIdentityToken        missing_claim
//	token lacks configured tags/source identity  ErrSessionAttributes      missing_claim
//	decision grants no (such) AWS role           ErrNoRole                 insufficient_role, or the denial's
//	options refused, IRSA token file missing     idbridge.ErrInvalidOptions invalid_options
//	Provider closed, no valid credentials        idbridge.ErrClosed        closed
//
// [*Error] carries the STS code, message and request ID. No error, log line
// or audit event contains the identity token, the secret access key or the
// session token.
//
// # Audit
//
// With Options.Audit set, each STS call emits sts.assumed or sts.failed
// with iss, tid, sub, oid, azp and token_id (from the token's claims),
// role_arn, session_name, assumed_role_arn, source_identity, access_key_id,
// expiration, request_id, error_code and duration_ms. A failure answered
// from memory, without a call, emits sts.failed with cached: true. Operators who do not run
// audit still see each failed exchange through Options.Logger (a
// *slog.Logger, warning level): role, reason, STS code, status, request
// ID, when the next attempt is due, until when credentials are served.
//
// # Testing
//
// Package [github.com/idbridge/idbridge/federation/ststest] is a fake STS
// that speaks the real wire format and validates tokens as AWS does; point
// the real SDK client at it.
package federation
