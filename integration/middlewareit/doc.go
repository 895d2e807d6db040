// Package middlewareit tests package middleware end to end against the real
// OpenID provider of package idp (zitadel/oidc): tokens obtained by the
// token package's flows travel through the client Transport and
// grpcauth's PerRPCCredentials, over TLS on loopback, into the HTTP guard
// and grpcauth's interceptors, which validate them with jwks and decide with rbac. gRPC
// streams end when their token expires, and the client interceptors renew
// a token the server refuses after a key rotation.
package middlewareit
