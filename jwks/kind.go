package jwks

// This file tells access tokens from ID tokens: typ, and the claims only
// one kind carries (see "Access tokens and ID tokens" in the package
// documentation).

import (
	"crypto/subtle"
	"slices"
	"strings"

	"github.com/idbridge/idbridge"
)

// normType lowercases a typ and drops an "application/" prefix (RFC 7515
// §4.1.9 allows both forms).
func normType(t string) string {
	t = strings.ToLower(t)
	return strings.TrimPrefix(t, "application/")
}

func typeIs(typ, want string) bool {
	if len(typ) > len("application/") && strings.EqualFold(typ[:len("application/")], "application/") {
		typ = typ[len("application/"):]
	}
	return strings.EqualFold(typ, want)
}

// genericType reports whether typ says only that the token is a JWT or a
// JWS (JWT, JOSE, with or without "application/", or no typ), not which
// kind of token it is.
func genericType(typ string) bool {
	return typ == "" || typeIs(typ, "jwt") || typeIs(typ, "jose")
}

// notAccessToken returns why a token of header typ with claims c is not an
// access token, or "". Entra types its access tokens "JWT", like its ID
// tokens, so the claims decide (see "Access tokens and ID tokens" in the
// package documentation):
//   - typ at+jwt (RFC 9068) is an access token;
//   - nonce, at_hash or c_hash make an ID token (only ID tokens carry them);
//   - a token with none of scp, scope and roles grants nothing to an API,
//     and is what an ID token looks like (Entra's carry roles only with
//     nonce); it is refused, except an Entra app-only token saying so with
//     idtyp "app", which then holds no permission.
func notAccessToken(typ string, c *idbridge.Claims) string {
	switch {
	case typeIs(typ, "at+jwt"):
		return ""
	case c.IDTokenClaim() == "nonce":
		return "an ID token (it has a nonce) is not an access token"
	case c.IDTokenClaim() != "":
		return "an ID token (it has " + c.IDTokenClaim() + ") is not an access token"
	case entraShaped(c) && c.AuthorizedParty == "" && c.AppID == "":
		return "an Entra ID token (no azp or appid) is not an access token"
	case len(c.Scopes) == 0 && len(c.Roles) == 0 && c.IDType != "app":
		return "not an access token: it has none of scp, scope and roles (an ID token?)"
	}
	return ""
}

// entraShaped reports whether c has the claims of a Microsoft Entra token:
// a tenant and a token version. Entra names the client in every access
// token (azp in v2.0, appid in v1.0) and in no ID token, which may carry
// roles and, from the token endpoint, no nonce.
func entraShaped(c *idbridge.Claims) bool {
	return c.TenantID != "" && (c.Version == EntraV1 || c.Version == EntraV2)
}

// notIDToken returns why a token of header typ with claims c is not an ID
// token, or "": typ at+jwt, delegated scopes (scp, scope), idtyp "app" and
// Entra's client authentication claims (azpacr, appidacr) are found in
// access tokens only.
func notIDToken(typ string, c *idbridge.Claims) string {
	switch {
	case typeIs(typ, "at+jwt"):
		return "an access token (typ at+jwt) is not an ID token"
	case len(c.Scopes) > 0:
		return "an access token (it has scp or scope) is not an ID token"
	case c.IDType == "app":
		return "an app-only access token (idtyp app) is not an ID token"
	case c.AuthorizedPartyACR != "" || c.AppIDACR != "":
		return "an access token (it has azpacr or appidacr) is not an ID token"
	}
	return ""
}

func (v *Validator) typeAllowed(typ string) bool {
	for _, t := range v.types {
		if typeIs(typ, t) {
			return true
		}
	}
	return false
}

func checkIDToken(c *idbridge.Claims, nonce string, auds []string) error {
	if nonce != "" {
		if c.Nonce == "" {
			return fail(ErrMissingClaim, "nonce is required")
		}
		if subtle.ConstantTimeCompare([]byte(c.Nonce), []byte(nonce)) != 1 {
			return fail(ErrMissingClaim, "nonce does not match")
		}
	}
	if len(c.Audience) > 1 {
		if c.AuthorizedParty == "" {
			return fail(ErrAudience, "azp is required when aud has several values")
		}
		if !slices.Contains(auds, c.AuthorizedParty) {
			return fail(ErrAudience, "azp is not an accepted audience")
		}
	}
	return nil
}
