package jwks

import (
	"log/slog"
	"net/http"
	"time"
)

// Defaults and bounds applied by [NewValidator].
const (
	DefaultLeeway       = 60 * time.Second // clock skew tolerated for exp, nbf and iat
	MaxLeeway           = 5 * time.Minute  // upper bound of Options.Leeway
	DefaultMaxTokenSize = 16 << 10         // bytes; Entra tokens with many claims stay under 8 KiB
)

// Options configure a [Validator]. NewValidator copies them; changing the
// struct afterwards has no effect.
type Options struct {
	// Issuers are the trusted issuers, each with its key set. Required.
	// A token's iss selects one before any network call, so a token from an
	// unknown issuer never causes a fetch.
	Issuers []Issuer
	// Audiences accepted in aud (your API's client ID and/or App ID URI).
	// Required: validating a token without checking its audience accepts
	// tokens minted for any other API of the same IdP.
	Audiences []string
	// Algorithms is the alg allow-list, for example {"RS256"}. Required.
	// "none" and HMAC algorithms are refused: with public keys they only
	// enable forgeries.
	Algorithms []string
	// Leeway tolerates clock skew for exp, nbf and iat. Zero means
	// DefaultLeeway, a negative value means none; clamped to MaxLeeway.
	Leeway time.Duration
	// MaxAge, when positive, bounds a token's age by its iat: iat becomes
	// required, a token issued more than MaxAge (plus Leeway) ago is
	// refused with ErrExpired, and exp becomes optional (still checked when
	// present). It is for Security Event Tokens (RFC 8417), which carry iat
	// and no exp; access tokens should keep the default, zero: exp required.
	MaxAge time.Duration
	// MaxTokenSize caps the token length in bytes, checked before any
	// parsing. Zero means DefaultMaxTokenSize.
	MaxTokenSize int
	// Types, when set, are the accepted header typ values, such as
	// {"at+jwt"} (RFC 9068) or {"JWT"}; compared case-insensitively with an
	// optional "application/" prefix. Empty means typ is not checked.
	Types []string
	// Tenants, when set, is a tenant (tid) allow-list applied to every token.
	Tenants []string
	// SkipTenantCheck allows an issuer template with {tenantid} and no
	// tenant allow-list. Without an allow-list, any Entra tenant in the
	// world — including one an attacker creates for free — can mint tokens
	// your API accepts. Set it only if you check TenantID yourself.
	SkipTenantCheck bool
	// Cache enables the verified-token cache; nil disables it.
	Cache *CacheOptions
	// KeySet configures the key sets the validator creates for issuers given
	// by JWKSURL or discovery. HTTPClient, Now and Audit default to the
	// validator's.
	KeySet KeySetOptions
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// HTTPClient is used for discovery and JWKS fetches; nil means a client
	// with default settings (each fetch still has its own timeout).
	HTTPClient *http.Client
	// Audit receives token.validated and token.rejected events; nil means
	// no audit.
	Audit slog.Handler
}

// Issuer is one trusted issuer and where its keys come from. Exactly one of
// Keys and JWKSURL may be set; when both are empty the validator discovers
// the JWKS URL from Issuer's OpenID discovery document.
type Issuer struct {
	// Issuer is the exact iss value, or a template containing {tenantid}
	// (Entra multi-tenant), which is replaced by the token's tid and then
	// compared exactly.
	Issuer string
	// Keys is the key set to verify this issuer's tokens. The caller owns it.
	Keys KeySet
	// JWKSURL makes the validator create (and own, and Close) a remote key
	// set. Issuers with the same JWKSURL share one key set.
	JWKSURL string
	// Tenants is a tenant allow-list for this issuer, applied in addition to
	// Options.Tenants.
	Tenants []string

	err error // why Entra or EntraAPI refused their input; NewValidator returns it
	// entraPeer is set by Entra and EntraAPI: the issuer of the other token
	// version (v1.0/v2.0) of the same tenant and authorities, whose keys
	// also verify this issuer's tokens.
	entraPeer string
}

// CacheOptions bound the verified-token cache. A hit re-checks exp and nbf
// against the clock and returns the same *Claims without verifying again;
// the cache section of the package documentation says when entries are
// dropped.
type CacheOptions struct {
	// MaxEntries caps the number of cached tokens. Zero means 10000.
	MaxEntries int
	// MaxBytes caps the memory held by cached claims, approximately. Zero
	// means 32 MiB.
	MaxBytes int64
}
