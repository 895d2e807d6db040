package bearer

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/idbridge/idbridge/token"
)

// RenewInterval is the least time between two token invalidations by one
// client: a resource server that rejects every token makes the client ask
// the IdP for a new one at most this often, not once per request.
const RenewInterval = 30 * time.Second

// InvalidToken is the error code of a challenge that refuses the token
// itself (RFC 6750 §3.1), the only one the clients retry.
const InvalidToken = "invalid_token"

// Renewer is the one retry rule of the client side, shared by
// middleware.Transport and grpcauth.PerRPCCredentials: after a server
// refused a token as invalid_token, drop it from the source and fetch
// another, at most once per RenewInterval.
type Renewer struct {
	// Src is the token source.
	Src         token.Source
	inv         interface{ Invalidate() } // nil when Src cannot drop its token, or retries are off
	now         func() time.Time
	invalidated atomic.Int64 // UnixNano of the last invalidation; 0 for none
}

// Init sets r up for src; disable turns the retry off; a nil now means
// time.Now.
func (r *Renewer) Init(src token.Source, disable bool, now func() time.Time) {
	r.Src, r.now = src, now
	if r.now == nil {
		r.now = time.Now
	}
	if inv, ok := src.(interface{ Invalidate() }); ok && !disable {
		r.inv = inv
	}
}

// CanRenew reports whether Renew can ever succeed: the source can drop its
// token and retries are on.
func (r *Renewer) CanRenew() bool { return r.inv != nil }

// Renew returns a token other than the refused one: the source's current
// token when another request has renewed it already, else a new one after
// invalidating, which happens at most once per RenewInterval.
func (r *Renewer) Renew(ctx context.Context, refused string) (string, bool) {
	if r.inv == nil || refused == "" || ctx.Err() != nil {
		return "", false
	}
	if cur, err := r.Src.Token(ctx); err == nil && Usable(cur) && cur.AccessToken != refused {
		return cur.AccessToken, true
	}
	now := r.now().UnixNano()
	last := r.invalidated.Load()
	if last != 0 && now-last < int64(RenewInterval) || !r.invalidated.CompareAndSwap(last, now) {
		return "", false
	}
	r.inv.Invalidate()
	cur, err := r.Src.Token(ctx)
	if err != nil || !Usable(cur) || cur.AccessToken == refused {
		return "", false
	}
	return cur.AccessToken, true
}

// Usable reports whether tok can go into an Authorization header: a Bearer
// access token of b64token characters only (no header injection).
func Usable(tok *token.Token) bool {
	return tok != nil && tok.AccessToken != "" && tok.Type() == "Bearer" && IsB64Token(tok.AccessToken)
}
