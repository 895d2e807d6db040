// Package localidp lets the scenario apps (examples/lending, analytics and
// corebanking) run on a laptop with nothing but Go: it starts the embedded
// OpenID provider of the integration module as the bank's Entra tenant and
// provides the stand-ins an app needs around it.
//
// # Why a separate package
//
// Everything here exists only for local runs and tests. A team that copies
// one of the apps to start its service deletes the app's "local mode"
// branch and this import; the rest of the app is the production wiring.
//
// # What it provides
//
//   - [Start]: the provider, with the tenant ID and group object IDs of
//     examples/policies/bank.yaml, so the bank's policy file works as
//     written once its issuer URL points at the provider (the apps do that
//     with jwkstest.PolicyFile, which any test can use too).
//   - [IdP.UserToken]: a scenario user's access token, from a real
//     authorization code flow with PKCE.
//   - [IdP.Announce]: the banner a local run prints, with curl-able hints;
//     tokens are printed to stdout only when the person asked for them.
//   - [IdP.WriteJWKS]: the provider's keys as a file, for a service that
//     pins a static key set.
//   - [IdP.StartAPI]: a downstream API that accepts one audience, for
//     on-behalf-of calls.
//   - [IdP.StartSTS]: a fake AWS STS trusting the provider, and a web
//     identity token file as EKS would project it (IRSA).
//   - [RunTest]: starts an app's run function in-process for its test.
//
// Nothing here ever writes a token to a log; the provider's own log
// (zitadel's) is limited to warnings.
package localidp
