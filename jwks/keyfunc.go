package jwks

import (
	"context"
	"errors"
	"fmt"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
)

// FromKeyfunc adapts a [keyfunc.Keyfunc] from github.com/MicahParks/keyfunc/v3
// into a [KeySet], so a service that already runs keyfunc — its HTTP storage,
// refresh schedule and unknown-kid policy — can move its checks to a
// [Validator] without fetching the keys twice.
//
// Keys are read from k.Storage() on every call and checked as [NewKey]
// checks them (RSA of at least 2048 bits, P-256/384/521, Ed25519); a JWK
// whose use is not "sig" is refused. Unknown-kid refreshes follow keyfunc's
// own rate limiter, which may make a request wait; a [RemoteKeySet] never
// does, so prefer it for new code.
func FromKeyfunc(k keyfunc.Keyfunc) KeySet { return keyfuncSet{k: k} }

type keyfuncSet struct{ k keyfunc.Keyfunc }

// Key implements [KeySet].
func (s keyfuncSet) Key(ctx context.Context, kid, _ string) (*Key, error) {
	if s.k == nil {
		return nil, fmt.Errorf("%w: no keyfunc", ErrUnavailable)
	}
	j, err := s.k.Storage().KeyRead(ctx, kid)
	if errors.Is(err, jwkset.ErrKeyNotFound) {
		return nil, fmt.Errorf("%w: kid not in keyfunc storage", ErrUnknownKey)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: keyfunc storage: %w", ErrUnavailable, err)
	}
	m := j.Marshal()
	if m.USE != "" && m.USE != jwkset.UseSig {
		return nil, fmt.Errorf("%w: key use is not sig", ErrUnknownKey)
	}
	key, err := NewKey(kid, string(m.ALG), j.Key())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnknownKey, err)
	}
	return key, nil
}
