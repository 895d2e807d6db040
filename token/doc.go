// Package token obtains OAuth 2.0 and OpenID Connect tokens, caches them and
// renews them ahead of expiry, so that a service asks its identity provider
// once, not once per request.
//
// # Sources
//
// Everything meets on [Source], one method: Token(ctx). The flows are
// sources, or make them:
//
//   - [ClientCredentials]: the service's own token, authenticated with a
//     client secret ([ClientSecretBasic], [ClientSecretPost]), a
//     certificate ([PrivateKeyJWT], RS256 or PS256 with x5t#S256 or x5t),
//     or any assertion ([ClientAssertion]) such as a workload identity
//     token read by [FileAssertion].
//   - [AuthCode]: authorization code with PKCE for web apps; state, nonce
//     and the ID token are checked.
//   - [Device]: device authorization (RFC 8628) for command-line tools.
//   - [Refresh]: refresh tokens with rotation, kept in a [RefreshStore].
//   - [Exchange]: Entra on-behalf-of and RFC 8693 token exchange, cached
//     per incoming token and scope set; [Exchange.Forget] drops a revoked
//     user's, token's or session's entries.
//
// [ClientFromEnvironment] and [FromEnvironment] configure the Entra client
// from the AZURE_* variables (secret, PEM or .pfx certificate, or federated
// token file); [Discover] finds any OpenID provider's endpoints from its
// issuer URL.
//
// # Caching
//
// Flows make one request per call; [Cache] (and [NewCachedClientCredentials],
// [FromEnvironment], [Exchange]) wraps them. A cached Token call takes no
// lock and allocates nothing; renewal happens in the background before
// expiry, one request however many goroutines ask, and a still-valid token
// is served while the IdP is down, with backoff and Retry-After honoured
// between attempts. No token is handed out within its expiry margin, which
// scales with the token's lifetime. Long-lived types have a Close method
// that stops their goroutines.
//
// The replicas of a service share tokens through token/redisstore: Redis
// as a second level under a Cache (and [ExchangeOptions].SecondLevel for
// [Exchange]), and a [SharedRefreshStore] through which one replica at a
// time redeems a rotating refresh token while the others take its result.
//
// # Introspection
//
// A resource server that cannot verify JWTs (opaque tokens, a legacy
// stack) validates them with [Introspector] (RFC 7662): it asks the
// authorization server, authenticated as its own [Client], and returns
// the same *idbridge.Claims as jwks.Validator, so middleware.Guard and
// rbac.Policy work unchanged; Claims.Get returns any member of the
// answer, extensions included, so rbac claim conditions see them. Issuer
// and audience checks are required unless explicitly skipped. Active
// answers are cached by the token's SHA-256 for a minute by default, never
// past exp: a revoked token keeps working until its answer runs out, the
// price of not asking on every request. An inactive answer is
// [ErrInactive] (class revoked) and is reused for a couple of seconds
// only; concurrent requests about one token share one call.
//
// # Interoperability
//
// [OAuth2] turns any Source into an oauth2.TokenSource and [FromOAuth2]
// does the reverse, so the golang.org/x/oauth2 ecosystem works on both
// sides.
//
// # Errors
//
// Every error wraps one sentinel: [ErrIdPUnavailable], [ErrSignInRequired],
// [ErrRejected], [ErrInvalidCallback], [idbridge.ErrInvalidOptions], [ErrExpired],
// [ErrInactive] or [idbridge.ErrClosed], even when it starts in the caller's own
// code (an assertion callback, a RefreshStore, a signer); idbridge.ReasonOf
// maps it to its reason class. The one exception is a call whose context
// ends: it wraps ctx.Err(). An [Introspector] that refuses a token's
// claims wraps the jwks sentinel of the failed check (jwks.ErrAudience,
// jwks.ErrExpired, ...), as jwks.Validator does. OAuth error responses are
// [*Error] values with Entra's error codes and trace IDs; their class
// tells a revoked grant (revoked) from a user who must pass MFA or consent
// (step_up_required).
//
// # Secrets
//
// [Token], [Secret], [Client], [Authorization], [DeviceCode], the
// [ClientAuth] values, [MemoryStore], [FileAssertion] and [Introspector]
// print without their secrets under fmt, encoding/json and log/slog; no
// error or audit event of this package carries a token, secret or
// assertion. Requests that carry secrets go only to the endpoint they were
// configured for: they never follow redirects, and refuse plain HTTP
// except to loopback.
//
// # Audit
//
// Caching sources given an Audit handler emit token.issued, token.refreshed
// and token.refresh_failed events, and interactive sign-ins token.issued,
// identifying the token by a hash of its jti. An [Introspector] emits
// token.validated or token.rejected for each Validate, naming the token by
// a hash of its jti or, for an opaque token, of the token itself.
//
// Operational problems — a renewal that failed, an IdP or introspection
// endpoint throttling with 429 or 503 and Retry-After — go to the Logger
// of [Renewal] or [IntrospectorOptions] (a *slog.Logger, at warning
// level) whether or not audit is on, with the reason class, HTTP status,
// error code, Entra trace ID, when the next attempt is due and until when
// the current token is still served.
//
// # Options
//
// Each constructor takes functions that edit its own options type; nil
// ones are ignored, and every field of a type is used by each constructor
// that takes it: [Options] (how a source calls the token endpoint),
// [Renewal] (the refresh-ahead knobs RefreshWindow and RefreshJitter, the
// expiry margin and backoff of a caching source), and the types that
// combine them: [CacheOptions], [CachedOptions], [RefreshOptions],
// [ExchangeOptions], [IntrospectorOptions], [EnvironmentOptions],
// [FromEnvironmentOptions], [DiscoverOptions], [FileAssertionOptions]. A
// zero value means the default.
package token
