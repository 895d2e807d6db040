package middleware

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/idbridge/idbridge/token"
)

// renewer is the one retry rule of the client side, shared by [Transport]
// and [PerRPCCredentials]: after a server refused a token as
// invalid_token, drop it from the source and fetch another, at most once
// per [RenewInterval].
type renewer struct {
	src         token.Source
	inv         interface{ Invalidate() } // nil when src cannot drop its token, or retries are off
	now         func() time.Time
	invalidated atomic.Int64 // UnixNano of the last invalidation; 0 for none
}

// init sets r up for src; disable turns the retry off.
func (r *renewer) init(src token.Source, disable bool, now func() time.Time) {
	r.src, r.now = src, now
	if r.now == nil {
		r.now = time.Now
	}
	if inv, ok := src.(interface{ Invalidate() }); ok && !disable {
		r.inv = inv
	}
}

// renew returns a token other than the refused one: the source's current
// token when another request has renewed it already, else a new one after
// invalidating, which happens at most once per RenewInterval.
func (r *renewer) renew(ctx context.Context, refused string) (string, bool) {
	if r.inv == nil || refused == "" || ctx.Err() != nil {
		return "", false
	}
	if cur, err := r.src.Token(ctx); err == nil && usable(cur) && cur.AccessToken != refused {
		return cur.AccessToken, true
	}
	now := r.now().UnixNano()
	last := r.invalidated.Load()
	if last != 0 && now-last < int64(RenewInterval) || !r.invalidated.CompareAndSwap(last, now) {
		return "", false
	}
	r.inv.Invalidate()
	cur, err := r.src.Token(ctx)
	if err != nil || !usable(cur) || cur.AccessToken == refused {
		return "", false
	}
	return cur.AccessToken, true
}
