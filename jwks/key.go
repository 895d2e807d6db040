package jwks

import (
	"context"
	"crypto"
	"sync/atomic"
)

// Key is one public verification key of a key set, as parsed from a JWK.
// Build it with [NewKey] or [ParseJWKS], which check it and classify its
// type; a Key literal verifies nothing. Keys are immutable once published
// in a key set.
type Key struct {
	// ID is the JWK kid.
	ID string
	// Algorithm is the JWK alg, or "" when the JWK has none (Entra); when set,
	// tokens verified with this key must use exactly this alg.
	Algorithm string
	// Use is the JWK use, or ""; when set it must be "sig".
	Use string
	// Issuer is the JWK issuer property that Entra publishes, or "". When
	// set, the key only verifies tokens of that issuer; it may be a template
	// containing {tenantid}.
	Issuer string
	// Public is *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey.
	Public crypto.PublicKey

	family  family      // derived from Public at construction
	retired atomic.Bool // set (by retire) when the key left its key set; purges cache entries
}

// KeySet finds the key that verifies a token. It is declared here, where the
// [Validator] consumes it, so tests and callers can supply their own.
//
// Key returns the key with the given kid for a token that claims issuer
// iss (the iss has already been checked against the trusted issuers).
// kid may be "" when the token has none; a key set may then return its only
// key. When no key matches, Key returns an error wrapping [ErrUnknownKey]
// (or [ErrUnavailable] if no keys could ever be loaded). It must be safe for
// concurrent use and should honour ctx only while waiting, never block on a
// rate limiter. With the verified-token cache, Key is also called on every
// cache hit (only [RemoteKeySet] and [StaticKeySet] are exempt, as they
// track removed keys themselves), so a key that left the set stops
// validating at once: a known kid must be answered quickly.
type KeySet interface {
	Key(ctx context.Context, kid, iss string) (*Key, error)
}
