package jwks

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"

	"github.com/golang-jwt/jwt/v5"
)

// family is a key type: the part of an algorithm a key must match.
type family uint8

const (
	famNone family = iota
	famRSA
	famEC
	famOKP
)

func (f family) String() string {
	switch f {
	case famRSA:
		return "RSA"
	case famEC:
		return "EC"
	case famOKP:
		return "OKP"
	}
	return "unknown"
}

// algorithm is one supported JWS algorithm. Verification uses golang-jwt's
// SigningMethod implementations.
type algorithm struct {
	name   string
	family family
	curve  elliptic.Curve // EC only: the curve the key must be on
	method jwt.SigningMethod
}

// algorithms are the asymmetric JWS algorithms the validator can verify.
// HMAC and none are absent on purpose: with keys that are public, accepting
// them means accepting forgeries.
var algorithms = map[string]*algorithm{
	"RS256": {name: "RS256", family: famRSA, method: jwt.SigningMethodRS256},
	"RS384": {name: "RS384", family: famRSA, method: jwt.SigningMethodRS384},
	"RS512": {name: "RS512", family: famRSA, method: jwt.SigningMethodRS512},
	"PS256": {name: "PS256", family: famRSA, method: jwt.SigningMethodPS256},
	"PS384": {name: "PS384", family: famRSA, method: jwt.SigningMethodPS384},
	"PS512": {name: "PS512", family: famRSA, method: jwt.SigningMethodPS512},
	"ES256": {name: "ES256", family: famEC, curve: elliptic.P256(), method: jwt.SigningMethodES256},
	"ES384": {name: "ES384", family: famEC, curve: elliptic.P384(), method: jwt.SigningMethodES384},
	"ES512": {name: "ES512", family: famEC, curve: elliptic.P521(), method: jwt.SigningMethodES512},
	"EdDSA": {name: "EdDSA", family: famOKP, method: jwt.SigningMethodEdDSA},
}

// SupportedAlgorithms lists the algorithms Options.Algorithms may contain.
func SupportedAlgorithms() []string {
	return []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
}

// fits reports whether key k may verify alg a: same family, same curve for
// EC, and the JWK's own alg, when present, equal to a.
func (a *algorithm) fits(k *Key) string {
	if k.family == famNone {
		return "the key was not built with NewKey or ParseJWKS"
	}
	if k.family != a.family {
		return "algorithm " + a.name + " does not match the " + k.family.String() + " key"
	}
	if a.curve != nil {
		if pk, ok := k.Public.(*ecdsa.PublicKey); !ok || pk.Curve != a.curve {
			return "algorithm " + a.name + " does not match the key's curve"
		}
	}
	if k.Algorithm != "" && k.Algorithm != a.name {
		return "algorithm " + a.name + " differs from the key's alg " + k.Algorithm
	}
	if k.Use != "" && k.Use != "sig" {
		return "key use is not sig"
	}
	return ""
}

// familyOf classifies a public key, or famNone when it is unsupported.
func familyOf(pub any) family {
	switch pub.(type) {
	case *rsa.PublicKey:
		return famRSA
	case *ecdsa.PublicKey:
		return famEC
	case ed25519.PublicKey:
		return famOKP
	}
	return famNone
}
