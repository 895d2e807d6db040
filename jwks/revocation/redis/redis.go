package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/option"
	"github.com/idbridge/idbridge/internal/reason"
	"github.com/idbridge/idbridge/jwks/revocation"
)

// DefaultPrefix names the Redis keys when Options.Prefix is empty.
const DefaultPrefix = "idbridge:revocation"

// Defaults and bounds applied by [New]; the Options fields state them.
const (
	defaultHealthInterval = time.Second      // how often an idle subscription is pinged
	defaultTimeout        = 2 * time.Second  // per Redis command
	defaultMaxPending     = 10000            // revocations queued while Redis is down
	maxBackoff            = 5 * time.Second  // between reconnect attempts
	minStaleness          = 10 * time.Second // below this a network blip would fail closed
)

// Errors of [List.Ready] and [List.Check].
var (
	// ErrNotReady: the replica has not loaded the whole list since it
	// started or since Redis came back.
	ErrNotReady = reason.New(reason.IdPUnavailable, "revocation/redis: copy not loaded")
	// ErrDisconnected: Redis is unreachable; the last copy is kept and
	// enforced.
	ErrDisconnected = reason.New(reason.IdPUnavailable, "revocation/redis: Redis unreachable, using the last copy")
	// ErrStale: with Options.MaxStaleness, the copy is older than the bound
	// (or was never loaded), and every token is refused.
	ErrStale = reason.New(reason.IdPUnavailable, "revocation/redis: revocation list unavailable")
	// ErrQueueFull: Redis has been down so long that Options.MaxPending
	// revocations wait to be stored; this one was applied locally only.
	ErrQueueFull = reason.New(reason.IdPUnavailable, "revocation/redis: too many revocations waiting for Redis")
)

// errClosed: Revoke after Close; it wraps idbridge.ErrClosed.
var errClosed = fmt.Errorf("revocation/redis: %w", idbridge.ErrClosed)

// errDown is the reason a revocation is queued without trying Redis.
var errDown = errors.New("redis server known to be unreachable")

// Options configure a [List]. [New] copies them.
type Options struct {
	// Options configure the local copy (MaxTokenLifetime, Now, Audit). Its
	// Audit records revocation.added on the replica where Revoke was
	// called, and token.rejected wherever a token is refused.
	revocation.Options
	// Prefix names the Redis keys: the sorted set "{Prefix}:entries" (the
	// braces keep future keys in one Cluster slot) and the channel
	// "{Prefix}:events". Services that must not share revocations use
	// different prefixes. Empty means DefaultPrefix.
	Prefix string
	// Logger receives operational messages: Redis lost and back, entries
	// skipped as malformed. Nil means none. No message carries a token.
	Logger *slog.Logger
	// MaxStaleness, when positive, makes Check refuse every token with
	// ErrStale once the replica has not heard from Redis for this long (or
	// before its first full load): deny rather than trust an old copy.
	// Zero keeps enforcing the last copy however old. At least 10 s.
	MaxStaleness time.Duration
	// HealthInterval is how often an idle subscription is pinged, which
	// bounds how late an outage is noticed. Zero means 1 s.
	HealthInterval time.Duration
	// Timeout bounds each Redis command. Zero means 2 s.
	Timeout time.Duration
	// MaxPending bounds the revocations queued while Redis is down. Zero
	// means 10,000.
	MaxPending int
	// Applied, when set, is called after an entry from another replica (or
	// from a load) was added to the local copy, for metrics and tests. It
	// runs on the list's goroutine and must not block.
	Applied func(revocation.Entry)
}

// List is a revocation list shared through Redis. Its request-path methods
// (Check, Lookup) read only the local copy. It is safe for concurrent use
// by multiple goroutines; New starts one goroutine, which Close stops.
type List struct {
	c          goredis.UniversalClient
	local      *revocation.List
	key, ch    string
	log        *slog.Logger
	now        func() time.Time
	staleAfter time.Duration
	interval   time.Duration
	timeout    time.Duration
	maxPending int
	applied    func(revocation.Entry)

	failClosed atomic.Bool // copy older than MaxStaleness: refuse all

	mu      sync.Mutex
	state   error              // guarded by mu: nil when ready, else why not
	changed chan struct{}      // guarded by mu: closed and replaced when state changes
	pending []revocation.Entry // guarded by mu: to store once Redis is back
	contact time.Time          // guarded by mu: last full load, message or pong
	ps      *goredis.PubSub    // guarded by mu: current subscription, closed by Close
	closed  bool               // guarded by mu

	cancel context.CancelFunc
	done   chan struct{}
}

// New returns a List using client, which the caller keeps owning (Close
// does not close it), and starts loading the list in the background; see
// [List.WaitReady]. Call Close when done.
func New(client goredis.UniversalClient, optFns ...func(*Options)) (*List, error) {
	if client == nil {
		return nil, fmt.Errorf("revocation/redis: %w: nil client", idbridge.ErrInvalidOptions)
	}
	o := option.New(optFns)
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.HealthInterval <= 0 {
		o.HealthInterval = defaultHealthInterval
	}
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
	if o.MaxPending <= 0 {
		o.MaxPending = defaultMaxPending
	}
	if o.MaxStaleness < 0 {
		return nil, fmt.Errorf("revocation/redis: %w: MaxStaleness %v is negative", idbridge.ErrInvalidOptions, o.MaxStaleness)
	}
	if o.MaxStaleness > 0 {
		o.MaxStaleness = max(o.MaxStaleness, minStaleness)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	local, err := revocation.New(func(lo *revocation.Options) { *lo = o.Options })
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &List{
		c: client, local: local,
		key: "{" + o.Prefix + "}:entries", ch: "{" + o.Prefix + "}:events",
		log: o.Logger, now: o.Now, staleAfter: o.MaxStaleness, interval: o.HealthInterval,
		timeout: o.Timeout, maxPending: o.MaxPending, applied: o.Applied,
		state: ErrNotReady, changed: make(chan struct{}),
		cancel: cancel, done: make(chan struct{}),
	}
	l.failClosed.Store(o.MaxStaleness > 0)
	go l.run(ctx)
	return l, nil
}

// Lookup answers from the local copy; see [revocation.List.Lookup].
func (l *List) Lookup(c *idbridge.Claims) revocation.Kind { return l.local.Lookup(c) }

// Check answers from the local copy, like [revocation.List.Check]; with
// Options.MaxStaleness it returns ErrStale for every token while the copy
// is older than the bound.
func (l *List) Check(ctx context.Context, c *idbridge.Claims) error {
	if l.failClosed.Load() {
		return ErrStale
	}
	return l.local.Check(ctx, c)
}

// WatchStream ends an open gRPC stream when its token is revoked here or
// on another replica; see [revocation.List.WatchStream]. Pass the list in
// grpcauth.ServerOptions.StreamWatchers.
func (l *List) WatchStream(ctx context.Context, c *idbridge.Claims, end func(error)) (stop func()) {
	return l.local.WatchStream(ctx, c, end)
}

// Revoke applies e to the local copy at once (so this replica refuses the
// token before Revoke returns), then stores and publishes it. A malformed
// entry is refused with revocation.ErrInvalidEntry. When Redis cannot be
// reached the entry is queued and stored on reconnect, and Revoke returns
// nil: the revocation is in force here and will reach the others (unless
// the queue is full: ErrQueueFull).
func (l *List) Revoke(ctx context.Context, e revocation.Entry) error {
	if e.At.IsZero() {
		e.At = l.now()
	}
	if err := l.local.Revoke(ctx, e); err != nil {
		return err
	}
	l.mu.Lock()
	closed, down := l.closed, l.state == ErrDisconnected
	l.mu.Unlock()
	if closed {
		return errClosed
	}
	// While Redis is known to be down, queue at once rather than wait for
	// a timeout on every revocation.
	err := errDown
	if !down {
		err = l.store(ctx, []revocation.Entry{e})
	}
	if err != nil {
		l.mu.Lock()
		defer l.mu.Unlock()
		if len(l.pending) >= l.maxPending {
			return ErrQueueFull
		}
		l.pending = append(l.pending, e)
		l.log.Warn("revocation stored locally only; queued until Redis is back", "kind", e.Kind.String(), "error", err)
	}
	return nil
}

// store writes entries to the sorted set and publishes them, in one
// transaction per batch, pruning expired members on the way.
func (l *List) store(ctx context.Context, entries []revocation.Entry) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.timeout)
	defer cancel()
	ttl := l.local.EntryLifetime()
	_, err := l.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		for _, e := range entries {
			b, err := json.Marshal(e)
			if err != nil {
				return err
			}
			p.ZAdd(ctx, l.key, goredis.Z{Score: float64(e.At.Add(ttl).UnixMilli()), Member: b})
			p.Publish(ctx, l.ch, b)
		}
		p.ZRemRangeByScore(ctx, l.key, "-inf", fmt.Sprint(l.now().UnixMilli()))
		return nil
	})
	return err
}

// Ready returns nil when the local copy is complete and Redis is
// reachable; otherwise ErrNotReady (never loaded, or loading again after
// an outage), ErrDisconnected (last copy in force) or ErrStale.
func (l *List) Ready() error {
	if l.failClosed.Load() {
		return ErrStale
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state
}

// WaitReady blocks until Ready reports nil or ctx ends, and returns ctx's
// error in the latter case.
func (l *List) WaitReady(ctx context.Context) error {
	for {
		l.mu.Lock()
		st, ch := l.state, l.changed
		l.mu.Unlock()
		if st == nil {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("%w (%w)", ctx.Err(), st)
		}
	}
}

// Len returns the number of entries in the local copy.
func (l *List) Len() int { return l.local.Len() }

// Close stops the background goroutine and waits for it. It does not
// close the Redis client. Queued revocations not yet stored are dropped
// (they stay in force in no process after this one exits). Idempotent.
func (l *List) Close() error {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		l.cancel()
		if l.ps != nil {
			_ = l.ps.Close() // wakes a blocked receive
		}
	}
	l.mu.Unlock()
	<-l.done
	return nil
}
