// Package jwksit tests package jwks against the real OpenID provider of
// package idp (zitadel/oidc) over HTTPS on loopback: discovery, RS256 and
// ES256 tokens, soft and hard key rotation, a provider that is down,
// readiness and the operational log, and floods of unknown key IDs counted at
// the provider's JWKS endpoint.
package jwksit
