// Package jwks validates JWT access tokens and ID tokens against the keys an
// OpenID provider publishes, with Microsoft Entra ID's quirks built in.
//
// # Validating tokens
//
// Build one [Validator] per API with [NewValidator] and call
// [Validator.Validate] per request. The options are refused unless they name
// the trusted issuers, the accepted audiences and an algorithm allow-list:
//
//	v, err := jwks.NewValidator(func(o *jwks.Options) {
//		o.Issuers = []jwks.Issuer{{Issuer: "https://idp.example.com"}} // keys by discovery
//		o.Audiences = []string{"api://orders"}
//		o.Algorithms = []string{"RS256"}
//		o.Cache = &jwks.CacheOptions{}
//	})
//	...
//	claims, err := v.Validate(ctx, bearer)
//
// A token is checked in an order that keeps untrusted input away from the
// network: size, compact form and canonical base64url (no padding,
// whitespace, CR or LF, or stray bits: one token has one spelling), header (alg, crit), claims JSON, typ, issuer
// and tenant — an unknown issuer never causes a fetch — then the key, the
// signature, the times (exp is required; nbf and iat with a bounded leeway)
// and the audience. Keys come only from the issuer's key set; the header
// parameters jku, x5u, jwk and x5c are ignored. "none" and HMAC algorithms
// are never accepted. [Validator.ValidateIDToken] adds the OpenID Connect
// nonce and azp checks.
//
// # Access tokens and ID tokens
//
// [Validator.Validate] takes access tokens only, and
// [Validator.ValidateIDToken] ID tokens only; the other kind is refused as
// [ErrType] whatever its typ, because Entra types both "JWT". Once a token
// is otherwise valid, its kind is read from what issuers put in it:
//
//   - typ at+jwt (RFC 9068) is an access token;
//   - a nonce (even empty), at_hash or c_hash is only ever in an ID token;
//   - an Entra token (tid and ver 1.0 or 2.0) names its client in azp
//     (v2.0) or appid (v1.0) when it is an access token, never when it is
//     an ID token, which may carry roles and, from the token endpoint, no
//     nonce: one without either is refused;
//   - an access token carries its permissions: scp (Entra delegated),
//     scope (RFC 9068) or roles (Entra app roles). A token with none of
//     them, or only empty ones, is what an ID token looks like — also a
//     refreshed one, which has no nonce — and is refused. Entra app-only
//     tokens of a client that was granted no app role carry none of them
//     either and grant nothing; they are refused too, unless they say
//     idtyp "app" (the optional idtyp claim), then accepted without
//     permissions, so authorization denies them with a clear reason.
//
// When Options.Types requires an explicit type that names a kind of token
// (such as secevent+jwt for security event tokens), the matching typ says
// what the token is and these claim rules do not apply. JWT, JOSE or no
// typ say nothing of the kind, so the rules apply to them even when
// Options.Types lists them.
//
// ID-token validation refuses typ at+jwt, scp, scope, idtyp "app", azpacr
// and appidacr, which only access tokens carry (Entra ID tokens may carry
// roles).
//
// # Claims
//
// Validate returns [idbridge.Claims]: typed fields for the registered,
// OpenID, RFC 9068 and Entra claims (oid, tid, the client from azp, appid or
// client_id, the scopes from scp or scope, roles, groups, wids, xms_cc, the
// groups-overage markers...), the verified JOSE header (Claims.Header), and
// Claims.Get for any other claim as raw JSON. The claims live in the root
// package, read through its one claim table ([idbridge.LookupClaim]) by
// this validator, authorization (package rbac), token introspection and
// audit, so a claim means the same on every path. A token whose scp and scope differ, or
// whose azp, appid and client_id name different clients, is malformed, as
// are duplicate claims and claims of the wrong JSON type: no two parsers
// can read one token differently.
// Code of the SDK that holds a token for someone else and must read it
// without verifying it (to label an audit event, to time a refresh) uses
// the same reader (internal/jwt), never a decoder of its own;
// [idbridge.ParseClaims] reads a claims object with the same rules.
//
// # Key sets
//
// A [RemoteKeySet] ([NewKeySet] for a JWKS URL, [Discover] for an issuer)
// refreshes in the background as the response's Cache-Control or Expires
// says, within bounds; keeps its last good keys when the IdP fails; and
// bounds every fetch in time and size.
//
// A token whose kid is not in the set refreshes it, within limits that let
// a rotation through at once and keep forged kids cheap. Only these
// refreshes count (the first load and background refreshes do not), so the
// first unknown kid after a quiet spell is fetched at once. Two of them
// are at least UnknownKIDInterval (1 s) apart, and a token waits at most
// that long for its turn; refreshes that find no new key back off (1 s,
// 2 s, 4 s, ... up to 2 minutes), and kids seen only once cause at most
// UnknownKIDPerHour (60) refreshes an hour. A kid seen twice and not yet
// looked up, as a real rotation's is, waits at most 4 s whatever the
// back-off, so a rotation is picked up within about 5 s even during a flood
// of random forged kids (an attacker who repeats each forged kid can hold
// the rate at one refresh per 4 s, never more). A kid that a refresh did
// not find is refused at once, for as long as it had been missing when
// that refresh started (at least 4 s, at most 30 s), then looked up again
// as a repeated kid: one forged kid sent without pause costs a refresh
// after 4, 8 and 16 s, then one per 30 s, and a key published after a
// token of it arrived (a clock race at a rotation, or an attacker guessing
// the next kid) is accepted within 4 s of its publication when it came
// within 4 s of that token, and within 30 s in any case (34 s amid a flood
// of other unknown kids). A refresh of any kind that publishes a kid makes
// it valid at once. These figures hold for a kid the key set remembers
// between its tokens: one that makes up more than about 1/2048 of the
// unknown kids. Amid a larger flood (thousands of distinct forged kids a
// second) a real kid is forgotten between its tokens, never counts as
// repeated, and is picked up by the next refresh the forged kids cause,
// within the back-off: up to 2 minutes after publication (measured with
// 2,000 and 10,000 forged kids a second). Concurrent misses share one fetch, each
// caller waiting until its own ctx is done.
//
// [RemoteKeySet.Ready] and [Validator.Ready] say whether the keys are
// loaded, and load them if needed; call Ready at start-up, so that the
// first request after a deploy does not wait for the IdP, and from a
// readiness probe. Operational problems (a refresh failing, recovering,
// throttled unknown kids) go to Options.Logger, with or without audit.
// URLs are printed without user info or query in logs, audit events and
// errors, so a JWKS URL may carry a secret.
//
// Keys that cannot verify signatures (encryption keys, unknown types) or
// must not ([ErrWeakKey]: RSA under 2048 bits, Ed25519 keys of small order,
// with which one signature verifies many messages, or in a non-canonical
// encoding) are skipped, not fatal; [NewKey] refuses them. [StaticKeySet] pins keys,
// package [github.com/idbridge/idbridge/jwks/keyfuncset] reuses a
// github.com/MicahParks/keyfunc/v3 key store that a service already runs
// (a package of its own, so that jwks alone links no keyfunc), and any type
// with the one-method [KeySet] interface can be used.
//
// # Several issuers and Entra ID
//
// One validator trusts several issuers, each with its own key set, chosen by
// the token's iss. An issuer may be a template containing {tenantid}, as in
// Entra's multi-tenant metadata: the token's tid is substituted and the
// result compared exactly, then the tenant allow-list applies. [Entra]
// builds the v2.0 (and optionally v1.0) issuers and the JWKS URL of a tenant,
// of "organizations" or "common", and refuses domains and placeholders.
// [EntraAPI] configures a whole API from its tenant and application (client)
// ID, as Microsoft.Identity.Web does: a v2.0 access token's aud is the client
// ID, a v1.0 token's the App ID URI (default api://{client ID}) or the
// client ID; both are accepted. Entra's keys carry no alg (the key type
// decides) and may carry an issuer property, which then binds the key to
// that issuer, compared as a whole URL. The one exception is Entra's own:
// a key of https://login.microsoftonline.com/{tid}/v2.0 also verifies v1.0
// tokens of https://sts.windows.net/{tid}/ (and back); for other
// authorities (EntraOptions.Authority and V1Authority) only the issuers
// that [Entra] or [EntraAPI] built are paired this way.
//
// # Errors
//
// Every rejection wraps one sentinel per reason class — [ErrMalformed],
// [ErrTooLarge], [ErrAlgorithm], [ErrUnknownKey], [ErrSignature],
// [ErrExpired], [ErrNotYetValid], [ErrIssuedInFuture], [ErrIssuer],
// [ErrAudience], [ErrType], [ErrMissingClaim], [ErrTenant], and
// [ErrUnavailable] when no keys could ever be loaded — usually inside a
// [*ValidationError] with a detail. Match with errors.Is;
// [idbridge.ReasonOf] (or ValidationError.Reason) returns the class.
// NewValidator refuses bad options with [idbridge.ErrInvalidOptions], and a
// [RemoteKeySet] that would have to fetch after Close answers
// [idbridge.ErrClosed]. No error ever contains the token.
//
// # Verified-token cache
//
// With Options.Cache, a token verified before is answered without
// verifying its signature again: a hit needs the same signature and the
// byte-identical header and payload, re-checks exp and nbf, and returns the
// same *Claims. Entries whose key left the key set are dropped: a
// [RemoteKeySet] marks such keys at its next refresh, and any other
// [KeySet] (including keyfuncset's) is asked again on every hit. The cache
// is bounded in entries and memory and keeps no signature, so no usable
// token can be recovered from it.
//
// # Testing
//
// Package [github.com/idbridge/idbridge/jwks/jwkstest] is a fake OpenID
// provider that mints tokens and rotates keys, for tests of code that uses
// this package.
package jwks
