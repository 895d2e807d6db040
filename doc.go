// Package idbridge lets a service in any cloud trust one central identity
// provider (Microsoft Entra ID or any OpenID provider) and turn its tokens
// into local decisions and cloud credentials.
//
// # The flow
//
// A token travels one way through small packages, each with one job:
//
//	client side                          server side
//	token.Source    get, cache, refresh  middleware   extract the bearer token (RFC 6750)
//	  │ (client credentials, refresh,      │
//	  │  on-behalf-of, workload identity)  ▼
//	  │                                  jwks.Validator  verify signature and claims
//	  │                                    │             against the IdP's published keys
//	  │                                    │             → *idbridge.Claims
//	  ▼                                    ▼
//	middleware client   ── bearer ──►    rbac.Policy     claims → roles → permissions,
//	(Transport; grpcauth PerRPC)           │             explained, deny by default
//	                                       ▼
//	                                     your handler    principal from context
//
//	federation: token.Source → AWS STS AssumeRoleWithWebIdentity → aws.CredentialsProvider
//
// # Packages
//
//   - [github.com/idbridge/idbridge/jwks]: validation of ID and access tokens
//     against JWKS key sets (discovery, rotation, several issuers, Entra v1/v2
//     and multi-tenant issuers, strict algorithm rules), into [Claims].
//   - [github.com/idbridge/idbridge/jwks/revocation]: leavers' tokens refused
//     before they expire — revoked subjects, tokens and sessions, shared by
//     replicas through Redis (subpackage redis) and fed by OpenID Shared
//     Signals events (subpackage ssf).
//   - [github.com/idbridge/idbridge/token]: acquisition and refresh of tokens,
//     cached and refreshed ahead of expiry, one IdP call for many callers.
//   - [github.com/idbridge/idbridge/rbac]: a declarative policy from claims to
//     roles and permissions per environment, with separation of duties and
//     group sources for Entra groups overage and LDAP.
//   - [github.com/idbridge/idbridge/middleware]: the net/http guard and
//     client-side token attachment (Transport); its gRPC side (server
//     interceptors, per-RPC credentials) is package middleware/grpcauth,
//     so that an HTTP-only service links no gRPC or protobuf code.
//   - [github.com/idbridge/idbridge/federation]: AWS credentials from a
//     token.Source through STS web identity.
//   - [github.com/idbridge/idbridge/middleware/telemetry]: the audit events
//     as OpenTelemetry metrics and spans, trace IDs in every event, and the
//     trace context on idbridge's outgoing calls.
//
// # Claims
//
// This package is the neutral leaf every other one shares: [Claims], the
// typed claims of a token (registered, OpenID, RFC 9068 and Entra claims,
// and, from a validator, the verified JOSE header in Claims.Header), are
// what jwks validation,
// token introspection, LDAP logins and SAML assertions produce and what
// rbac decides on. One claim table ([LookupClaim], [ClaimRef]) maps claim
// names to fields for all of them; [ParseClaims] reads a JSON claims
// object with the validator's rules.
//
// # Errors
//
// Every failure wraps an exported sentinel of its package, usually with
// detail, and is matched with errors.Is. Each sentinel belongs to one
// [Reason] class ([ReasonExpired], [ReasonAudience],
// [ReasonInsufficientRole], …) shared by errors, audit events and HTTP/gRPC
// responses; [ReasonOf] returns it for any idbridge error. The whole SDK
// has one [ErrInvalidOptions] (class invalid_options: a constructor refused
// its options) and one [ErrClosed] (class closed). Detail error types
// (jwks.ValidationError, token.Error, middleware.Error, ...) name their
// fields alike: Err (the sentinel), Status (HTTP status, 0 when none), Code
// (the peer's error code), Message (the peer's text), Detail (idbridge's
// text); their Reason method gives the class. No token, secret or
// assertion is ever written to a log, an error or %v output.
//
// # Audit schema
//
// Long-lived types accept a log/slog.Handler for audit events. The events'
// names ([EventTokenValidated], ...), outcomes, field names
// ([FieldTokenID], ...) and reason classes are exported here, so SIEM rules
// and Go consumers match the same words; every event carries
// [FieldSchemaVersion] = [AuditSchemaVersion]. AUDIT.md in the repository
// documents each event (when, fields, reason classes) and maps them to
// OCSF classes and ECS fields. [SampleAudit] writes one in n of the
// per-request successes.
package idbridge
