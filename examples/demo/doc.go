// Command demo tells idbridge's story end to end: Amit, a relationship
// manager, signs in once, and one identity provider's tokens are trusted by a
// lending API in Azure, an analytics API in AWS and a core banking system on
// premises, until he changes jobs and a colleague leaves the bank.
//
// # Running it
//
// From the repository root, with nothing but Go installed:
//
//	go run ./examples/demo                 # the story, then the audit trail
//	go run ./examples/demo -audit=stderr   # audit events interleaved on stderr
//	go run ./examples/demo -audit=off      # the story only
//
// It starts everything it needs on 127.0.0.1 and stops it again within a few
// seconds: an OpenID provider (the in-process, zitadel-based one of the
// integration module) playing the bank's Entra ID tenant, the two APIs, a
// fake AWS STS and, when OpenLDAP's slapd is installed (apt-get install
// slapd), a seeded directory. No cloud account is needed and nothing is
// written outside a temporary directory.
//
// # The steps
//
//  1. Amit signs in with the authorization code flow and PKCE
//     (token.AuthCode); the ID token is validated against the provider's
//     keys (jwks).
//  2. The lending API guards its routes with middleware, jwks and the bank
//     policy (rbac, examples/policies/bank.yaml); the client attaches the
//     access token with middleware.Transport.
//  3. The analytics API validates the same bearer token with its own
//     validator: no STS, no call to the provider per request. Then one
//     request is followed across services by one trace ID: lending-web
//     starts a trace, the lending API joins it (telemetry.Extract), asks
//     for a token on Amit's behalf and calls the analytics API, and every
//     audit event of the request, in both APIs, carries the same trace_id
//     (story_trace.go).
//  4. AWS resources take the provider's tokens only through STS
//     (federation, against the fake STS of federation/ststest): the
//     analytics service gets S3 credentials from its own client-credentials
//     token, never Amit's; Amit's ID token gets the IAM role the policy maps
//     his group to.
//  5. The core banking system binds to the directory and maps directory
//     groups to its roles (rbac/ldap).
//  6. The session renews its access token with the refresh token, which
//     rotates and only ever goes to the provider's token endpoint. With
//     redis-server installed, two replicas of lending-web keep a session in
//     Redis (token/redisstore) and renew it at once with one request.
//  7. A mover gets different decisions from his next token; a leaver is
//     denied by the policy and then cannot refresh at all.
//
// Every step prints one short line per fact; no token, secret or password is
// ever printed. The SDK's audit events (JSON lines through log/slog) are
// shown at the end, or on stderr with -audit=stderr.
//
// # Reading the code
//
// story.go has one function per step, in order; apis.go builds the two
// guarded APIs; setup.go starts the provider and loads the policy.
package main
