package jwks_test

import (
	"crypto/ecdsa"
	"math/big"
)

// ecdsaVerify verifies a JWS (r||s) ECDSA signature, the raw baseline.
func ecdsaVerify(pub *ecdsa.PublicKey, hash, sig []byte) bool {
	n := len(sig) / 2
	return ecdsa.Verify(pub, hash, new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:]))
}
