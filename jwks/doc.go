// Package jwks validates JWT access tokens and ID tokens against the keys an
// OpenID provider publishes, with Microsoft Entra ID's quirks built in.
package jwks
