package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/option"
	"github.com/idbridge/idbridge/internal/reason"
)

// Defaults and bounds applied by [New].
const (
	DefaultPrefix     = "idbridge:token"
	defaultTimeout    = 500 * time.Millisecond // per Redis command
	saveTimeout       = 2 * time.Second        // at least, for storing a token just redeemed
	defaultWait       = 3 * time.Second        // for another replica's fetch
	defaultLockTTL    = 45 * time.Second       // longer than a token request (30 s)
	defaultRefreshTTL = 90 * 24 * time.Hour    // Entra's refresh token lifetime
	downFor           = time.Second            // Redis is skipped this long after a failure
	pollMin, pollMax  = 2 * time.Millisecond, 50 * time.Millisecond
)

var (
	// ErrUnavailable: Redis did not answer within Options.Timeout (down,
	// slow, hanging or answering garbage). [Store.Ready] returns it while
	// Redis is skipped; a refresh through the store fails with it, class
	// idp_unavailable, so a token.Cache keeps its valid token and retries.
	ErrUnavailable = reason.New(reason.IdPUnavailable, "redisstore: Redis unavailable")
	// ErrBusy: another replica held the refresh lock for longer than
	// Options.Wait; class idp_unavailable.
	ErrBusy = reason.New(reason.IdPUnavailable, "redisstore: another replica is refreshing")
)

// Options configure a [Store]. [New] copies them.
type Options struct {
	// Prefix starts every Redis key; services that must not share tokens
	// use different prefixes. Empty means DefaultPrefix.
	Prefix string
	// Timeout bounds each Redis command. For it to bound a hanging
	// server too, the client must honour context deadlines
	// (goredis.Options.ContextTimeoutEnabled) or have a read timeout no
	// longer than this. Storing a rotated refresh token, which cannot be
	// redeemed again, waits at least 2 s. Zero means 500 ms.
	Timeout time.Duration
	// Wait bounds how long a replica waits for another replica's fetch or
	// refresh before fetching itself (cache) or failing with ErrBusy
	// (refresh tokens, which must not be redeemed twice). Zero means 3 s.
	Wait time.Duration
	// LockTTL is how long a refresh lock lasts if its holder dies. It must
	// exceed a token request. Zero means 45 s. A cache entry's lock lasts
	// twice Wait: should a fetch outlive it, a second replica fetches too,
	// which costs a request but breaks nothing, and a replica that died
	// holding it delays the others' sharing only briefly.
	LockTTL time.Duration
	// RefreshTTL is how long an unused refresh token is kept. Zero means
	// 90 days.
	RefreshTTL time.Duration
	// Logger receives operational messages: Redis lost and back (once
	// each), an entry refused as tampered. Nil means none. No message
	// carries a token.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Store keeps tokens in Redis, sealed with AES-GCM. It is a
// [token.SharedRefreshStore] and makes the second level of a token.Cache
// ([Store.Source]). It is safe for concurrent use by multiple goroutines
// and starts no goroutine.
type Store struct {
	c       goredis.UniversalClient
	keys    *keyring
	prefix  string
	timeout time.Duration
	wait    time.Duration
	lockTTL time.Duration
	rtTTL   time.Duration
	log     *slog.Logger
	now     func() time.Time

	mu        sync.Mutex
	downUntil time.Time // guarded by mu: Redis is skipped until then
	downErr   error     // guarded by mu: why, nil when up
}

// New returns a Store on client, which the caller keeps owning. keys seal
// the entries: the first seals, any opens (list the new key first and keep
// the old ones until their entries have expired).
func New(client goredis.UniversalClient, keys []Key, optFns ...func(*Options)) (*Store, error) {
	if client == nil {
		return nil, fmt.Errorf("token: %w: nil Redis client", idbridge.ErrInvalidOptions)
	}
	kr, err := newKeyring(keys)
	if err != nil {
		return nil, fmt.Errorf("token: %w: redisstore: %w", idbridge.ErrInvalidOptions, err)
	}
	o := option.New(optFns)
	option.Default(&o.Prefix, DefaultPrefix)
	option.Positive(&o.Timeout, defaultTimeout)
	option.Positive(&o.Wait, defaultWait)
	option.Positive(&o.LockTTL, defaultLockTTL)
	option.Positive(&o.RefreshTTL, defaultRefreshTTL)
	option.Default(&o.Logger, slog.New(slog.DiscardHandler))
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Store{
		c: client, keys: kr, prefix: o.Prefix, timeout: o.Timeout, wait: o.Wait,
		lockTTL: o.LockTTL, rtTTL: o.RefreshTTL, log: o.Logger, now: o.Now,
	}, nil
}

// Ready returns nil while Redis answers, and an error matching
// ErrUnavailable once a command has failed, until one succeeds again.
// While Redis is failing, the store leaves it alone for a second after each
// failure (token.Cache serves from its own level and fetches from the
// IdP); after that, Ready itself sends a PING, so that a readiness probe
// sees the recovery even when no token is due.
func (s *Store) Ready() error {
	s.mu.Lock()
	err, retry := s.downErr, !s.now().Before(s.downUntil)
	s.mu.Unlock()
	if err == nil || !retry {
		return err
	}
	ctx, cancel := s.cmd(context.Background())
	defer cancel()
	return s.result(ctx, s.c.Ping(ctx).Err())
}

// up reports whether Redis is worth trying: it answered last time, or a
// second has passed since it failed.
func (s *Store) up() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.downErr == nil || !s.now().Before(s.downUntil)
}

// result records how a command went: a failure marks Redis down (logged
// once), the first success after one marks it up again (logged once). It
// returns err wrapped as ErrUnavailable, or nil for goredis.Nil.
func (s *Store) result(parent context.Context, err error) error {
	if err == nil || errors.Is(err, goredis.Nil) {
		s.mu.Lock()
		was := s.downErr
		s.downErr = nil
		s.mu.Unlock()
		if was != nil {
			s.log.Info("token store: Redis reachable again")
		}
		return nil
	}
	if parent.Err() != nil {
		return fmt.Errorf("redisstore: %w", parent.Err()) // the caller left; Redis is not to blame
	}
	werr := fmt.Errorf("%w: %w", ErrUnavailable, err)
	s.mu.Lock()
	was := s.downErr
	s.downErr, s.downUntil = werr, s.now().Add(downFor)
	s.mu.Unlock()
	if was == nil {
		s.log.Warn("token store: Redis unavailable; using the in-process cache and the IdP", "error", err.Error())
	}
	return werr
}

// cmd bounds one Redis command by Timeout.
func (s *Store) cmd(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// base names the keys of one application key: hashed, so that user and
// session IDs do not show in Redis, and in braces, so that an entry, its
// lock and its fencing counter share a Cluster slot.
func (s *Store) base(kind, key string) string {
	h := sha256.Sum256([]byte(key))
	return "{" + s.prefix + ":" + kind + ":" + hex.EncodeToString(h[:16]) + "}"
}

// lockScript takes the lock unless held, with a fencing token from a
// counter that only grows; it returns the token, or 0 when held.
var lockScript = goredis.NewScript(`
if redis.call('exists', KEYS[1]) == 1 then return 0 end
local f = redis.call('incr', KEYS[2])
redis.call('set', KEYS[1], f, 'px', ARGV[1])
return f`)

// unlockScript releases the lock only if it still holds our token.
var unlockScript = goredis.NewScript(`
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0`)

// lock tries once to take base's lock for ttl; fence is 0 when another
// holds it.
func (s *Store) lock(ctx context.Context, base string, ttl time.Duration) (fence int64, err error) {
	cctx, cancel := s.cmd(ctx)
	defer cancel()
	fence, err = lockScript.Run(cctx, s.c, []string{base + ":lock", base + ":fence"}, ttl.Milliseconds()).Int64()
	return fence, s.result(ctx, err)
}

func (s *Store) unlock(ctx context.Context, base string, fence int64) {
	cctx, cancel := s.cmd(context.WithoutCancel(ctx))
	defer cancel()
	_ = s.result(ctx, unlockScript.Run(cctx, s.c, []string{base + ":lock"}, fence).Err())
}

// poller sleeps between looks at another replica's progress, from 2 ms
// doubling to 50 ms, until Wait has passed since it started.
type poller struct {
	d        time.Duration
	deadline time.Time
}

func (s *Store) newPoller() *poller { return &poller{d: pollMin, deadline: time.Now().Add(s.wait)} }

// next waits and reports whether to look again.
func (p *poller) next(ctx context.Context) bool {
	if time.Now().Add(p.d).After(p.deadline) {
		return false
	}
	t := time.NewTimer(p.d)
	defer t.Stop()
	p.d = min(2*p.d, pollMax)
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
