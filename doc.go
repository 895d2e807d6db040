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
//	  ▼                                    ▼
//	middleware client   ── bearer ──►    rbac.Policy     claims → roles → permissions,
//	(RoundTripper, gRPC PerRPC)            │             explained, deny by default
//	                                       ▼
//	                                     your handler    principal from context
//
//	federation: token.Source → AWS STS AssumeRoleWithWebIdentity → aws.CredentialsProvider
//
// # Packages
//
//   - [github.com/idbridge/idbridge/jwks]: validation of ID and access tokens
//     against JWKS key sets (discovery, rotation, several issuers, Entra v1/v2
//     and multi-tenant issuers, strict algorithm rules), typed Entra-aware claims.
//   - [github.com/idbridge/idbridge/jwks/revocation]: leavers' tokens refused
//     before they expire — revoked subjects, tokens and sessions, shared by
//     replicas through Redis (subpackage redis) and fed by OpenID Shared
//     Signals events (subpackage ssf).
//   - [github.com/idbridge/idbridge/token]: acquisition and refresh of tokens,
//     cached and refreshed ahead of expiry, one IdP call for many callers.
//   - [github.com/idbridge/idbridge/rbac]: a declarative policy from claims to
//     roles and permissions per environment, with separation of duties and
//     group sources for Entra groups overage and LDAP.
//   - [github.com/idbridge/idbridge/middleware]: net/http and gRPC guards and
//     client-side token attachment.
//   - [github.com/idbridge/idbridge/federation]: AWS credentials from an IdP
//     token through STS web identity.
//   - [github.com/idbridge/idbridge/middleware/telemetry]: the audit events
//     as OpenTelemetry metrics and spans, trace IDs in every event, and the
//     trace context on idbridge's outgoing calls.
//
// # Errors and audit
//
// Every failure is an exported sentinel of its package, wrapped with detail
// and matched with errors.Is. Each sentinel belongs to one reason class
// ("expired", "audience", "insufficient_role", …) that is shared by errors,
// audit events and HTTP/gRPC responses; [ReasonOf] returns it for any error.
// Long-lived types accept a log/slog.Handler for audit events; no token,
// secret or assertion is ever written to a log, an error or %v output.
//
// # Audit schema
//
// The audit events' names ([EventTokenValidated], ...), outcomes, field
// names ([FieldTokenID], ...) and reason classes ([ReasonExpired], ...) are
// exported here, so SIEM rules and Go consumers match the same words; every
// event carries [FieldSchemaVersion] = [AuditSchemaVersion]. AUDIT.md in the
// repository documents each event (when, fields, reason classes) and maps
// them to OCSF classes and ECS fields. [SampleAudit] writes one in n of the
// per-request successes.
package idbridge
