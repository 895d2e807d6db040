// Package middleware guards net/http handlers (and, through package
// middleware/grpcauth, gRPC services) with bearer tokens, and attaches
// tokens to outgoing HTTP requests.
//
// # Server
//
// A [Guard] runs the three steps of every request: it extracts the bearer
// token (RFC 6750 §2.1: one Authorization header, size-capped, never the
// query string unless allowed), validates it with a [Validator] such as
// *jwks.Validator, lets a [Policy] such as *rbac.Policy decide, and checks
// the route's requirements. The handler finds the caller with [FromContext].
//
//	g, err := middleware.New(validator, func(o *middleware.Options) {
//		o.Policy = policy // *rbac.Policy
//		o.Realm = "lending"
//	})
//	if err != nil {
//		return err // a validator issuer the policy lacks, ...
//	}
//	mux.Handle("GET /loans/{id}", g.Handler(http.HandlerFunc(loans), middleware.Require("loan:read")))
//	mux.Handle("GET /me", g.Handler(http.HandlerFunc(me), middleware.Authenticated()))
//
//	func loans(w http.ResponseWriter, r *http.Request) {
//		p, _ := middleware.FromContext(r.Context())
//		fmt.Fprintln(w, p.Claims.ObjectID, p.Decision.Roles())
//	}
//
// Handlers that call further APIs as the user pass [Principal.Token] to
// token.Exchange (on-behalf-of); the principal never prints it.
//
// Requirements are [Require] (an rbac permission), [RequireScope],
// [RequireRole], [RequireFunc], [Authenticated] and [SkipAuth]; all listed
// must hold. Routes and gRPC methods without any, and without
// Options.Default, are denied. With a policy, a deny rule (a leaver) or an
// undecidable decision rejects every route.
//
// Mistakes that would deny every caller stop the service at start: [New]
// refuses a validator that trusts an issuer the policy has none for, and
// a requirement naming a permission or role the policy does not declare
// (or a scope, when the policy tests scopes) makes [Guard.Handler] panic,
// as http.ServeMux does for a bad pattern, and New fail for
// Options.Default (grpcauth.NewServer for its Methods);
// grpcauth's Server.CheckService checks the requirements a gRPC service
// declares itself.
//
// The same checks guard an *rbac.Policy's later [rbac.Policy.Reload] and
// Update: a new policy that drops what a route or gRPC method compiled so
// far requires, or an issuer the validator trusts, is refused with the
// error New or Handler would give (ErrMisconfigured, or
// idbridge.ErrInvalidOptions for an issuer), the working policy stays, and
// the policy.reloaded audit event records the failure. To lock callers
// out on purpose, keep the permission declared and remove the mappings
// that grant it, or add a deny rule. The check goes with the guard: once
// the guard (and every handler and gRPC server built on it) is garbage
// collected, it no longer vetoes reloads.
//
// # Answers
//
// Rejections follow RFC 6750 §3 and never echo the token or the cause's
// detail; error_description is the reason class. A claims challenge goes
// only to clients that declare they handle one (xms_cc cp1), as Entra
// does; others get RFC 9470's step-up code (see
// Options.ClaimsChallengeAlways):
//
//	no token, other scheme          401  Bearer realm="lending"
//	invalid, expired, ... token     401  error="invalid_token", error_description="expired"
//	bad header, two tokens, query   400  error="invalid_request", error_description="malformed"
//	lacks scope, role, permission   403  error="insufficient_scope", scope="..." when known
//	policy wants MFA (step-up)      401  error="insufficient_claims", claims="<base64 JSON>"
//	  ... and the client lacks cp1  401  error="insufficient_user_authentication"
//	IdP keys or groups unreachable  503  (no challenge)
//	validator or source closed      503  (no challenge)
//	misconfigured route             500
//
// # gRPC
//
// Package middleware/grpcauth puts the same guard in front of gRPC
// services (grpcauth.NewServer and its interceptors, with the guard's
// validator, policy, audit and answers) and attaches tokens to gRPC calls
// (grpcauth.PerRPCCredentials). It is a package of its own so that a
// program that serves only HTTP links no gRPC or protobuf code.
//
// # Client
//
// [Transport] (an http.RoundTripper) attaches tokens from a token.Source;
// it refuses to send a token without TLS except to loopback, and sends it
// only to the origin of the request it was given, never to the host a
// redirect leads to, unless TransportOptions.Hosts lists the hosts that
// may have it. When a server refuses the token with error="invalid_token"
// (revoked, or signed with a key rotated away), the Transport drops it
// from a token.Cache and retries once with a new one;
// grpcauth.PerRPCCredentials do the same for gRPC calls.
//
//	t, _ := middleware.NewTransport(cache, func(o *middleware.TransportOptions) {
//		o.Hosts = []string{"loans.bank.example"}
//	})
//	client := &http.Client{Transport: t}
//
// # Audit
//
// With Options.Audit each step records at most one event: step 1 (a request
// refused before validation) token.rejected, reason malformed, or reason
// missing at level INFO for a request without a bearer token (anonymous
// traffic is not an attack); step 2 token.validated or token.rejected,
// unless the validator records them itself (detected for a *jwks.Validator
// or *token.Introspector with an audit handler, or said by
// Options.ValidatorAudits); step 3 authz.allowed or authz.denied with the
// roles and the route's requirements. Events carry route (HTTP) or method (gRPC),
// remote_addr and duration_ms; none carries a token. The fields are the
// published idbridge.Field* names (AUDIT.md).
package middleware
