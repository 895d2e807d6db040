// Package tokenit tests package token against the real OpenID provider of
// package idp (zitadel/oidc): every flow over HTTPS on loopback, with the
// provider's request counters, faults and restarts.
package tokenit
