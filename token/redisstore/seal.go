package redisstore

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/idbridge/idbridge/internal/reason"
)

// Key is one AES-256 key entries are sealed with. ID names it in every
// entry it seals, so that after a rotation an entry finds the key that
// sealed it.
type Key struct {
	// ID names the key; 1 to 64 bytes, unique among the keys given to New.
	ID string
	// Secret is the 32-byte AES-256 key. Generate it with crypto/rand and
	// keep it where the application keeps its other secrets.
	Secret []byte
}

// Format prints the key's ID, never its secret.
func (k Key) Format(f fmt.State, _ rune) { fmt.Fprintf(f, "redisstore.Key{ID: %q}", k.ID) }

// envelopeVersion is the first byte of every sealed entry.
const envelopeVersion = 1

// Errors of opening an entry read from Redis, as the Logger reports them.
// The entry is then treated as missing: fetched again from the IdP and
// overwritten. Their classes are those of a token that fails the same way.
var (
	// ErrTampered: the entry does not decrypt under its key and cache key
	// (flipped bytes, truncated, moved from another cache key).
	ErrTampered = reason.New(reason.Signature, "redisstore: entry fails authentication")
	// ErrUnknownKey: the entry names a key the application did not give.
	ErrUnknownKey = reason.New(reason.UnknownKey, "redisstore: entry sealed with an unknown key")
)

// keyring seals with its first key and opens with any.
type keyring struct {
	ids  []string
	aead []cipher.AEAD
}

func newKeyring(keys []Key) (*keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("no encryption key")
	}
	r := &keyring{}
	for _, k := range keys {
		if k.ID == "" || len(k.ID) > 64 {
			return nil, fmt.Errorf("key ID must be 1 to 64 bytes, got %d", len(k.ID))
		}
		for _, id := range r.ids {
			if id == k.ID {
				return nil, fmt.Errorf("key ID %q given twice", k.ID)
			}
		}
		if len(k.Secret) != 32 {
			return nil, fmt.Errorf("key %q: secret must be 32 bytes (AES-256), got %d", k.ID, len(k.Secret))
		}
		b, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, err
		}
		g, err := cipher.NewGCM(b)
		if err != nil {
			return nil, err
		}
		r.ids = append(r.ids, k.ID)
		r.aead = append(r.aead, g)
	}
	return r, nil
}

// seal encrypts plain under the first key with ad (the cache key and what
// the entry is) as associated data:
//
//	version(1) | len(keyID)(1) | keyID | nonce(12) | ciphertext and tag
func (r *keyring) seal(plain, ad []byte) []byte {
	id, g := r.ids[0], r.aead[0]
	out := make([]byte, 0, 2+len(id)+g.NonceSize()+len(plain)+g.Overhead())
	out = append(out, envelopeVersion, byte(len(id)))
	out = append(out, id...)
	nonce := out[len(out) : len(out)+g.NonceSize()]
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	out = out[:len(out)+g.NonceSize()]
	return g.Seal(out, nonce, plain, ad)
}

// open authenticates and decrypts an envelope made by seal.
func (r *keyring) open(env, ad []byte) ([]byte, error) {
	if len(env) < 2 || env[0] != envelopeVersion || len(env) < 2+int(env[1]) {
		return nil, ErrTampered
	}
	id := string(env[2 : 2+int(env[1])])
	rest := env[2+int(env[1]):]
	for i, kid := range r.ids {
		if kid != id {
			continue
		}
		g := r.aead[i]
		if len(rest) < g.NonceSize()+g.Overhead() {
			return nil, ErrTampered
		}
		plain, err := g.Open(nil, rest[:g.NonceSize()], rest[g.NonceSize():], ad)
		if err != nil {
			return nil, ErrTampered
		}
		return plain, nil
	}
	return nil, ErrUnknownKey
}
