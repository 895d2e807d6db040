// Package keyfuncset adapts a github.com/MicahParks/keyfunc/v3 key store
// into a [jwks.KeySet]. It is a package of its own so that a program using
// jwks links keyfunc only when it asks for it.
package keyfuncset

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"sync"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"

	"github.com/idbridge/idbridge/jwks"
)

// New adapts a [keyfunc.Keyfunc] from github.com/MicahParks/keyfunc/v3
// into a [jwks.KeySet], so a service that already runs keyfunc — its HTTP
// storage, refresh schedule and unknown-kid policy — can move its checks to
// a [jwks.Validator] without fetching the keys twice.
//
// Keys are read from k.Storage() on every call and checked as [jwks.NewKey]
// checks them (RSA of at least 2048 bits, P-256/384/521, Ed25519); a JWK
// whose use is not "sig" is refused. Unknown-kid refreshes follow keyfunc's
// own rate limiter, which may make a request wait; a [jwks.RemoteKeySet]
// never does, so prefer it for new code.
//
// keyfunc does not say when a key leaves its storage, so with
// Options.Cache the validator asks the storage again on every cache hit: a
// token whose key keyfunc dropped stops validating at once. The caller keeps
// owning k: [jwks.Validator.Close] does not stop keyfunc's refresh
// goroutine (cancel the context given to keyfunc for that).
func New(k keyfunc.Keyfunc) jwks.KeySet {
	return &keyfuncSet{k: k, memo: map[string]*jwks.Key{}}
}

// maxKeyfuncMemo bounds the memo of keys by kid. It only ever holds kids
// found in keyfunc's storage, so it grows with rotations, not with tokens.
const maxKeyfuncMemo = 64

type keyfuncSet struct {
	k keyfunc.Keyfunc

	mu   sync.RWMutex         // guards memo
	memo map[string]*jwks.Key // the *Key last returned per kid, so an unchanged key keeps its identity
}

// Key implements [jwks.KeySet].
func (s *keyfuncSet) Key(ctx context.Context, kid, _ string) (*jwks.Key, error) {
	if s.k == nil {
		return nil, fmt.Errorf("%w: no keyfunc", jwks.ErrUnavailable)
	}
	j, err := s.k.Storage().KeyRead(ctx, kid)
	if errors.Is(err, jwkset.ErrKeyNotFound) {
		return nil, fmt.Errorf("%w: kid not in keyfunc storage", jwks.ErrUnknownKey)
	}
	if err != nil {
		// jwkset's messages quote the kid, which comes from the token:
		// keep only the cause.
		return nil, fmt.Errorf("%w: keyfunc storage: %w", jwks.ErrUnavailable, unquoted(err))
	}
	m := j.Marshal()
	if m.USE != "" && m.USE != jwkset.UseSig {
		return nil, fmt.Errorf("%w: key use is not sig", jwks.ErrUnknownKey)
	}
	alg, pub := string(m.ALG), j.Key()
	s.mu.RLock()
	old := s.memo[kid]
	s.mu.RUnlock()
	if old != nil && old.Algorithm == alg && samePublic(old.Public, pub) {
		return old, nil
	}
	key, err := jwks.NewKey(kid, alg, pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", jwks.ErrUnknownKey, err)
	}
	// A key whose kid now names other material is simply replaced: the
	// validator asks this set again on every cache hit (it does not retire
	// keys), so tokens of the old key stop being answered from the cache.
	s.mu.Lock()
	if len(s.memo) >= maxKeyfuncMemo {
		clear(s.memo)
	}
	s.memo[kid] = key
	s.mu.Unlock()
	return key, nil
}

// unquoted returns the innermost cause of a jwkset error, whose outer
// messages embed the kid.
func unquoted(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

// samePublic reports whether two public keys are equal; all the key types
// jwks.NewKey accepts have an Equal method.
func samePublic(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(x crypto.PublicKey) bool })
	return ok && e.Equal(b)
}
