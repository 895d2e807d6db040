package redisstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/token"
)

// Source is the second level of a [token.Cache]: a [token.Source] that
// looks in Redis before calling the source under it, so that the replicas
// of a service share one token per key. Wrap it in a token.Cache, which
// stays the first level: its hits never reach Redis.
//
// When Redis holds a token for the key that this Source has not handed out
// yet and that has more than a quarter of its life left, Token returns it.
// Otherwise one replica (the one that takes the key's lock) calls the
// source and stores the token, sealed, for its remaining life; the others
// wait up to Options.Wait for it and then call the source themselves.
// While Redis fails, Token calls the source directly. It is safe for
// concurrent use by multiple goroutines.
type Source struct {
	s   *Store
	src token.Source
	key string // the application's key, the entries' associated data
	ad  string
	rec string // Redis keys
	bas string

	mu   sync.Mutex
	last string // guarded by mu: the access token last handed out
}

// Source returns the second level for the token of key (one client, scope
// set and subject: what the token.Cache over it holds) in front of src.
// Every replica must use the same key for the same token, and different
// keys for different tokens.
func (s *Store) Source(key string, src token.Source) (*Source, error) {
	if key == "" || src == nil {
		return nil, fmt.Errorf("token: %w: redisstore: Source needs a key and a source", idbridge.ErrInvalidOptions)
	}
	b := s.base("at", key)
	return &Source{s: s, src: src, key: key, ad: "idbridge access token\x00" + key, rec: b + ":rec", bas: b}, nil
}

// setScript stores an entry unless another replica holds the lock, and
// releases ours.
var setScript = goredis.NewScript(`
local l = redis.call('get', KEYS[1])
if l and l ~= ARGV[1] then return 0 end
redis.call('set', KEYS[2], ARGV[2], 'px', ARGV[3])
if l then redis.call('del', KEYS[1]) end
return 1`)

// Token implements token.Source.
func (c *Source) Token(ctx context.Context) (*token.Token, error) {
	if !c.s.up() {
		return c.src.Token(ctx)
	}
	r, err := c.read(ctx)
	if err != nil {
		return c.src.Token(ctx)
	}
	if tok := c.take(r); tok != nil {
		return tok, nil
	}
	p := c.s.newPoller()
	for {
		fence, err := c.s.lock(ctx, c.bas, 2*c.s.wait)
		if err != nil {
			return c.src.Token(ctx)
		}
		if fence != 0 {
			return c.fetch(ctx, fence)
		}
		if !p.next(ctx) {
			// The other replica is slow or gone: fetch rather than wait.
			return c.src.Token(ctx)
		}
		if r, err = c.read(ctx); err != nil {
			return c.src.Token(ctx)
		}
		if tok := c.take(r); tok != nil {
			return tok, nil
		}
	}
}

// fetch calls the source holding the lock and stores the token.
func (c *Source) fetch(ctx context.Context, fence int64) (*token.Token, error) {
	// The last holder may have stored a token just before we locked.
	if r, err := c.read(ctx); err == nil {
		if tok := c.take(r); tok != nil {
			c.s.unlock(ctx, c.bas, fence)
			return tok, nil
		}
	}
	tok, err := c.src.Token(ctx)
	if err != nil || tok == nil || tok.Expiry.IsZero() {
		c.s.unlock(ctx, c.bas, fence)
		return tok, err
	}
	now := c.s.now()
	ttl := tok.Expiry.Sub(now)
	if ttl < time.Millisecond {
		c.s.unlock(ctx, c.bas, fence)
		return tok, nil
	}
	env := c.s.sealRecord(newRecord(tok, "", now), c.ad)
	cctx, cancel := c.s.cmd(context.WithoutCancel(ctx))
	err = setScript.Run(cctx, c.s.c, []string{c.bas + ":lock", c.rec}, fence, env, ttl.Milliseconds()).Err()
	cancel()
	_ = c.s.result(ctx, err)
	c.mu.Lock()
	c.last = tok.AccessToken
	c.mu.Unlock()
	return tok, nil
}

// read returns the entry, nil when missing or refused.
func (c *Source) read(ctx context.Context) (*record, error) {
	cctx, cancel := c.s.cmd(ctx)
	defer cancel()
	b, err := c.s.c.Get(cctx, c.rec).Bytes()
	if err = c.s.result(ctx, err); err != nil || b == nil {
		return nil, err
	}
	r, _ := c.s.openRecord(b, c.ad)
	return r, nil
}

// take returns r's token if it is fresh and not the one this Source last
// handed out (which the Cache above is renewing).
func (c *Source) take(r *record) *token.Token {
	if r == nil || !r.fresh(c.s.now()) {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.AccessToken == c.last {
		return nil
	}
	c.last = r.AccessToken
	return r.token()
}

// SecondLevel is [Store.Source] in the shape of token.ExchangeOptions.SecondLevel,
// for the caches of a token.Exchange (on-behalf-of and token exchange):
//
//	x, err := token.NewOnBehalfOf(client, func(o *token.ExchangeOptions) { o.SecondLevel = store.SecondLevel })
//
// The key token gives names no subject token, and the Redis key is a hash
// of it.
func (s *Store) SecondLevel(key string, src token.Source) token.Source {
	l2, err := s.Source(key, src)
	if err != nil {
		return src // an empty key: keep the token in the process
	}
	return l2
}
