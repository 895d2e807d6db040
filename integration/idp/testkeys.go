package idp

import (
	"crypto/rsa"
	"crypto/x509"
	_ "embed"
	"encoding/pem"
	"sync"
	"sync/atomic"
)

//go:generate go run gen_testkeys.go

// testKeysPEM holds pre-generated RSA keys. Generating a 2048-bit key takes
// from 20 ms to over a second on a loaded machine, which would break the
// promise that a provider starts in well under a second; so providers take
// their first RSA key from here and generate only when the pool runs dry.
// Key 0 is the cbs-batch client key, so it is the same in every process,
// including the standalone command.
//
//go:embed testkeys.pem
var testKeysPEM []byte

var testKeys = sync.OnceValue(func() []*rsa.PrivateKey {
	var keys []*rsa.PrivateKey
	rest := testKeysPEM
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return keys
		}
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if rk, ok := k.(*rsa.PrivateKey); ok && err == nil {
			keys = append(keys, rk)
		}
	}
})

// nextTestKey indexes the next unused signing key; 0 is reserved.
var nextTestKey atomic.Int64

// pooledRSAKey returns an unused pre-generated key, or nil when none is
// left. Each key goes to one provider, so providers in one process never
// share a signing key.
func pooledRSAKey() *rsa.PrivateKey {
	keys := testKeys()
	if i := nextTestKey.Add(1); i < int64(len(keys)) {
		return keys[i]
	}
	return nil
}
