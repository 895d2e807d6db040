// Package idp is an in-memory OpenID provider, built on the OpenID-certified
// github.com/zitadel/oidc/v3/pkg/op, that integration tests start in-process.
//
// # Why
//
// The SDK is tested against a real provider speaking the real protocol over
// TLS, not against hand-made tokens: discovery, JWKS, and the token endpoint
// are served by zitadel's OpenID-certified implementation, and only the
// storage behind it (users, clients, keys, codes, refresh tokens) lives here.
//
// # Starting
//
// [StartTest] starts a provider on 127.0.0.1 with a random port and closes it
// through t.Cleanup; [Start] does the same for code that manages the lifetime
// itself. Both begin from the scenario defaults ([ScenarioUsers],
// [ScenarioClients], [ScenarioTenantID]); option functions may change or
// replace them. The provider serves HTTPS with a self-signed certificate for
// 127.0.0.1 unless [Options.PlainHTTP] is set; [Provider.HTTPClient] and
// [Provider.CertPool] trust it.
//
// # Grants
//
// client_credentials (client_secret_basic, client_secret_post and
// private_key_jwt with RS256, PS256 or ES256 assertions, RFC 7523),
// authorization_code with PKCE (driven headlessly by [Provider.Login]),
// refresh_token with rotation (a rotated refresh token answers invalid_grant),
// RFC 8693 token exchange (also reachable as Entra's on-behalf-of request,
// the JWT bearer grant with requested_token_use=on_behalf_of), and RFC 8628
// device authorization (approved headlessly by [Provider.ApproveDevice]).
//
// RFC 7662 introspection ([Provider.IntrospectionURL]) answers any
// confidential client with the token's iss, aud, exp, iat, nbf, jti,
// client_id, scope and Entra claims (tid, oid, azp, groups, roles, acr,
// amr, idtyp); refresh tokens are described too (token_type
// "refresh_token"). A token is inactive once expired, revoked
// ([Provider.RevocationURL], RFC 7009), rotated, or its user disabled.
//
// # Tokens
//
// Access tokens and ID tokens are JWTs with Entra-shaped claims: tid, oid,
// groups, roles, scp (delegated only), ver "2.0", azp, name,
// preferred_username, acr, amr, and idtyp ("app" for app-only tokens). A scope
// such as "api://lending/.default" or "api://lending/Loans.Read", an RFC 8707
// resource or an RFC 8693 audience parameter names the API; as in an Entra
// v2.0 access token, aud is then the API's application (client) ID
// ([LendingAppID], see [Options.APIs]), never the App ID URI. Otherwise aud
// is the client id. zitadel encodes aud as a one-element
// array where Entra sends a string; both are valid JWT. zitadel writes the JOSE header typ "JWT" on
// every token it signs and offers no hook to change it, so access tokens carry
// typ "JWT", exactly as Entra v2 access tokens do, not "at+jwt".
//
// # Faults
//
// Tests can rotate signing keys ([Provider.RotateKey]), take the listener down
// and bring it back on the same address ([Provider.Stop], [Provider.Restart]),
// count requests per endpoint ([Provider.Requests]), make the next requests
// to an endpoint fail ([Provider.FailNext]), move a user between groups
// ([Provider.SetGroups]) and disable a leaver ([Provider.DisableUser]).
//
// # Clock
//
// [Options.Now] drives what this package decides: access and refresh token
// expiry, code and device-code expiry and client assertion checks. zitadel
// stamps iat and nbf, and computes expires_in, from the wall clock; a clock
// that runs behind the wall clock therefore yields tokens that are already
// expired, which is rarely what a test wants.
package idp
