package idp

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"sync"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// signingKey is one key of the provider; it serves as op.SigningKey
// (private half) and, through publicKey, as op.Key (published half).
type signingKey struct {
	id   string
	alg  jose.SignatureAlgorithm
	priv crypto.Signer
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return k.alg }
func (k *signingKey) Key() any                                    { return k.priv }
func (k *signingKey) ID() string                                  { return k.id }

type publicKey struct{ k *signingKey }

func (p publicKey) ID() string                         { return p.k.id }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return p.k.alg }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return p.k.priv.Public() }

func newSigningKey(alg string) (*signingKey, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case AlgES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		if k := pooledRSAKey(); k != nil {
			priv = k
		} else {
			priv, err = rsa.GenerateKey(rand.Reader, 2048)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("idp: generating %s key: %w", alg, err)
	}
	// The RFC 7638 thumbprint makes every kid distinct and stable for its key.
	tp, err := (&jose.JSONWebKey{Key: priv.Public()}).Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("idp: key thumbprint: %w", err)
	}
	return &signingKey{id: base64.RawURLEncoding.EncodeToString(tp), alg: jose.SignatureAlgorithm(alg), priv: priv}, nil
}

// keyring holds the published keys; the first one signs.
type keyring struct {
	alg  string
	mu   sync.RWMutex
	keys []*signingKey // guarded by mu; keys[0] signs
}

func newKeyring(alg string) (*keyring, error) {
	k, err := newSigningKey(alg)
	if err != nil {
		return nil, err
	}
	return &keyring{alg: alg, keys: []*signingKey{k}}, nil
}

func (r *keyring) current() *signingKey {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.keys[0]
}

func (r *keyring) published() []op.Key {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]op.Key, len(r.keys))
	for i, k := range r.keys {
		out[i] = publicKey{k}
	}
	return out
}

// rotate makes a new key the signing key. Soft rotation keeps the old keys
// published so tokens they signed still verify; hard rotation drops them.
func (r *keyring) rotate(hard bool) (string, error) {
	k, err := newSigningKey(r.alg)
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if hard {
		r.keys = []*signingKey{k}
	} else {
		r.keys = append([]*signingKey{k}, r.keys...)
	}
	return k.id, nil
}
