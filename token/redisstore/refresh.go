package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	goredis "github.com/redis/go-redis/v9"

	"github.com/idbridge/idbridge/token"
)

// A refresh token lives in a hash "{prefix:rt:<hash>}:rec" with fields v
// (its version, which only grows) and d (the sealed record: refresh token
// and the access token it last gave), beside the lock and fencing counter
// of the same base.

var _ token.SharedRefreshStore = (*Store)(nil)

// casScript stores a new record as version v+1 if the version is still
// ARGV[2] and no other replica holds the lock (ours, or none if it expired
// with nobody taking it), and releases our lock. It returns the new
// version, -1 when another replica holds the lock, -2 when the version
// moved.
var casScript = goredis.NewScript(`
local l = redis.call('get', KEYS[1])
if l and l ~= ARGV[1] then return -1 end
local v = tonumber(redis.call('hget', KEYS[2], 'v') or '0')
if v ~= tonumber(ARGV[2]) then return -2 end
redis.call('hset', KEYS[2], 'v', v + 1, 'd', ARGV[3])
redis.call('pexpire', KEYS[2], ARGV[4])
if l then redis.call('del', KEYS[1]) end
return v + 1`)

// putScript stores a record unconditionally as the next version.
var putScript = goredis.NewScript(`
local v = redis.call('hincrby', KEYS[1], 'v', 1)
redis.call('hset', KEYS[1], 'd', ARGV[1])
redis.call('pexpire', KEYS[1], ARGV[2])
return v`)

// dropScript deletes the record if its version is still ARGV[1].
var dropScript = goredis.NewScript(`
if tonumber(redis.call('hget', KEYS[1], 'v') or '0') == tonumber(ARGV[1]) then return redis.call('del', KEYS[1]) end
return 0`)

func rtAD(key string) string { return "idbridge refresh token\x00" + key }

// read returns key's version and record; a missing, tampered or unknown-key
// record is version's record nil.
func (s *Store) read(ctx context.Context, base, key string) (uint64, *record, error) {
	cctx, cancel := s.cmd(ctx)
	defer cancel()
	vals, err := s.c.HMGet(cctx, base+":rec", "v", "d").Result()
	if err = s.result(ctx, err); err != nil {
		return 0, nil, err
	}
	var v uint64
	if str, ok := vals[0].(string); ok {
		if v, err = strconv.ParseUint(str, 10, 64); err != nil {
			return 0, nil, s.result(ctx, fmt.Errorf("version %w", strconv.ErrSyntax))
		}
	}
	d, ok := vals[1].(string)
	if !ok {
		return v, nil, nil
	}
	r, _ := s.openRecord([]byte(d), rtAD(key))
	return v, r, nil
}

// Load implements token.RefreshStore. A refresh token that fails
// authentication is not returned: the user signs in again.
func (s *Store) Load(ctx context.Context, key string) (token.Secret, error) {
	_, r, err := s.read(ctx, s.base("rt", key), key)
	if err != nil || r == nil {
		return "", err
	}
	return token.Secret(r.RefreshToken), nil
}

// Store implements token.RefreshStore: it stores a refresh token just
// obtained by a sign-in as a new version, forgetting the access token of
// the previous one.
func (s *Store) Store(ctx context.Context, key string, rt token.Secret) error {
	env := s.sealRecord(newRecord(nil, rt, s.now()), rtAD(key))
	cctx, cancel := s.cmd(ctx)
	defer cancel()
	return s.result(ctx, putScript.Run(cctx, s.c, []string{s.base("rt", key) + ":rec"}, env, s.rtTTL.Milliseconds()).Err())
}

// Delete implements token.RefreshStore.
func (s *Store) Delete(ctx context.Context, key string) error {
	cctx, cancel := s.cmd(ctx)
	defer cancel()
	return s.result(ctx, s.c.Del(cctx, s.base("rt", key)+":rec").Err())
}

// Redeem implements token.SharedRefreshStore. One replica at a time
// redeems a key, under a lock whose fencing token the final write checks;
// the others wait up to Options.Wait and take its tokens. The rotated
// refresh token is stored only if the version is still the one redeemed
// (compare and swap), so a replica that lost its lock (it outlived
// Options.LockTTL) never overwrites a newer token.
func (s *Store) Redeem(ctx context.Context, key string, seen uint64, redeem func(context.Context, token.Secret) (*token.Token, error)) (*token.Token, uint64, error) {
	base := s.base("rt", key)
	v, r, err := s.read(ctx, base, key)
	if err != nil {
		return nil, 0, err
	}
	if tok := s.taken(v, seen, r); tok != nil {
		return tok, v, nil
	}
	p := s.newPoller()
	for {
		fence, err := s.lock(ctx, base, s.lockTTL)
		if err != nil {
			return nil, 0, err
		}
		if fence != 0 {
			return s.redeemLocked(ctx, base, key, fence, seen, redeem)
		}
		// Another replica redeems: wait for its result.
		if !p.next(ctx) {
			if ctx.Err() != nil {
				return nil, 0, fmt.Errorf("redisstore: waiting for another replica: %w", ctx.Err())
			}
			return nil, 0, ErrBusy
		}
		v, r, err = s.read(ctx, base, key)
		if err != nil {
			return nil, 0, err
		}
		if tok := s.taken(v, seen, r); tok != nil {
			return tok, v, nil
		}
	}
}

// taken returns r's access token when another replica obtained it after
// version seen and it is worth taking.
func (s *Store) taken(v, seen uint64, r *record) *token.Token {
	if v > seen && r != nil && r.fresh(s.now()) {
		return r.token()
	}
	return nil
}

func (s *Store) redeemLocked(ctx context.Context, base, key string, fence int64, seen uint64, redeem func(context.Context, token.Secret) (*token.Token, error)) (*token.Token, uint64, error) {
	released := false
	defer func() {
		if !released {
			s.unlock(ctx, base, fence)
		}
	}()
	// Read again under the lock: the last holder may have just finished.
	v, r, err := s.read(ctx, base, key)
	if err != nil {
		return nil, 0, err
	}
	if tok := s.taken(v, seen, r); tok != nil {
		return tok, v, nil
	}
	if r == nil || r.RefreshToken == "" {
		return nil, v, fmt.Errorf("%w: no refresh token stored", token.ErrSignInRequired)
	}
	rt := token.Secret(r.RefreshToken)
	tok, err := redeem(ctx, rt)
	if err != nil {
		if errors.Is(err, token.ErrSignInRequired) {
			// Only the version we redeemed: another replica may have
			// stored a new sign-in meanwhile.
			cctx, cancel := s.cmd(context.WithoutCancel(ctx))
			_ = s.result(ctx, dropScript.Run(cctx, s.c, []string{base + ":rec"}, v).Err())
			cancel()
		}
		return nil, v, err
	}
	if tok.RefreshToken != "" {
		rt = token.Secret(tok.RefreshToken)
	}
	env := s.sealRecord(newRecord(tok, rt, s.now()), rtAD(key))
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), max(s.timeout, saveTimeout))
	nv, err := casScript.Run(cctx, s.c, []string{base + ":lock", base + ":rec"}, fence, v, env, s.rtTTL.Milliseconds()).Int64()
	cancel()
	out := *tok
	out.RefreshToken = ""
	if err = s.result(ctx, err); err != nil || nv < 0 {
		// The access token is good; the rotated refresh token is lost,
		// and the user may have to sign in again.
		s.log.Warn("token store: rotated refresh token not stored", "error", fmt.Sprint(err), "cas", nv)
		return &out, v, nil
	}
	released = true
	return &out, uint64(nv), nil
}
