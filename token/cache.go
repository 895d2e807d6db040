package token

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/idbridge/idbridge/internal/audit"
	"github.com/idbridge/idbridge/internal/flight"
	"github.com/idbridge/idbridge/internal/reason"
)

// Cache holds the token of one key — one client, one scope set, one subject
// — from any [Source], and renews it before it expires.
//
// Token returns the cached token without a lock or an allocation while it is
// fresh. Inside the refresh window (see [Renewal].RefreshWindow) it still
// returns the cached token at once and renews it in the background; a timer
// also renews it when nobody asks. However many goroutines ask for a
// missing or expired token, the underlying source is called once and they
// all share the result; the call runs detached from any caller's
// cancellation, and each caller stops waiting when its own context ends.
//
// A token is never handed out within its expiry margin (see
// [Renewal].ExpiryMargin), which scales with the token's lifetime; a source
// that returns a token already that close to expiry counts as failing.
// Expiry is judged on the wall clock: the hot path times itself with the
// cheaper monotonic clock, which stops while the machine sleeps, and checks
// the wall clock every 100 ms, so a token that expired during a suspend is
// not served after the machine wakes.
//
// When a renewal fails, Cache keeps serving the old token while it is
// valid and retries with exponential backoff and jitter, honouring the
// server's Retry-After. Once the token has expired, Token returns an error
// that matches [ErrIdPUnavailable] (or the class the IdP gave, such as
// [ErrSignInRequired]); during the backoff the same error is returned at
// once instead of calling the IdP again.
//
// A Cache is safe for concurrent use by multiple goroutines. Call Close to
// stop its goroutines. A source that ignores its context (an assertion
// callback, an oauth2.TokenSource) cannot hold Close up: its call is
// abandoned when the fetch times out or the Cache closes, and its result
// dropped.
type Cache struct {
	e      *entry
	cancel context.CancelFunc
	wg     *sync.WaitGroup // apart from Cache, so that the goroutines do not keep it reachable
	once   sync.Once
}

// NewCache returns a Cache over src. It fetches nothing until the first
// call to Token. The caller must call Close when done; a Cache that is
// dropped without Close stops its goroutine only when the garbage collector
// finds it.
func NewCache(src Source, optFns ...func(*CacheOptions)) (*Cache, error) {
	if src == nil {
		return nil, fmt.Errorf("%w: nil source", errInvalidOptions)
	}
	o, err := resolve(optFns)
	if err != nil {
		return nil, err
	}
	return newCache(src, o)
}

func newCache(src Source, o *config) (*Cache, error) {
	ctx, cancel := context.WithCancel(context.Background())
	c := &Cache{cancel: cancel, wg: new(sync.WaitGroup)}
	c.e = newEntry(ctx, src, o, audit.New(o.Audit), c.wg)
	c.e.changed = make(chan struct{}, 1)
	c.wg.Add(1)
	go c.e.loop()
	// A Cache dropped without Close stops its goroutine once collected:
	// nothing the goroutine holds points back at c.
	runtime.AddCleanup(c, func(cancel context.CancelFunc) { cancel() }, cancel)
	return c, nil
}

// Token returns the cached token, fetching it if there is none or it has
// expired. The result must not be modified.
func (c *Cache) Token(ctx context.Context) (*Token, error) { return c.e.token(ctx) }

// Invalidate drops the cached token and forgets a failed fetch, so that the
// next Token call fetches a new one at once; only a server's Retry-After
// still holds. Call it when a resource server rejects the token as revoked
// (for example a Continuous Access Evaluation challenge), and after
// [Refresh.Seed] gives the source under the Cache a new sign-in.
func (c *Cache) Invalidate() { c.e.invalidate() }

// Close stops background renewal, cancels a fetch in flight and waits for
// the goroutines to end. Tokens already cached are still served; a fetch
// after Close fails with [idbridge.ErrClosed]. Close is idempotent and always
// returns nil.
func (c *Cache) Close() error {
	c.once.Do(func() {
		c.e.close()
		c.cancel()
		c.wg.Wait()
	})
	return nil
}

// state is one immutable cached token with its schedule. Both times are
// wall-clock readings (the monotonic reading is stripped): the monotonic
// clock stops while the machine sleeps, and expiry is a wall-clock fact.
type state struct {
	tok       *Token
	refreshAt time.Time // start renewing in the background
	expireAt  time.Time // stop handing it out
}

// recheck is how long the hot path trusts the monotonic clock before the
// slow path looks at the wall clock again, so that a token that expired
// while the machine was suspended is served for at most this long after it
// wakes.
const recheck = 100 * time.Millisecond

// entry is the cache for one key; Cache owns one, Exchange many.
type entry struct {
	src Source
	o   *config
	log *audit.Logger
	now func() time.Time
	// base and fast let the hot path compare one monotonic reading
	// (time.Since) instead of calling time.Now, which costs twice as much.
	base time.Time
	fast bool
	mono func() time.Duration // tests: a monotonic clock to stop; nil means now()-base
	ctx  context.Context      // ends at Close; every fetch runs under it
	wg   *sync.WaitGroup      // the owner's; Close waits on it

	cur     atomic.Pointer[state]
	trustBy atomic.Int64  // monotonic offset from base before which the hot path serves cur
	busy    atomic.Bool   // a fetch is in flight
	retryAt atomic.Int64  // UnixNano before which no fetch starts after a failure
	changed chan struct{} // wakes loop after each fetch; nil without loop

	mu       sync.Mutex
	call     *flight.Call[*Token] // guarded by mu: the fetch in flight
	failures int                  // guarded by mu: consecutive failed fetches
	lastErr  error                // guarded by mu: error of the last failed fetch
	closed   bool                 // guarded by mu
}

func newEntry(ctx context.Context, src Source, o *config, log *audit.Logger, wg *sync.WaitGroup) *entry {
	if m, ok := src.(interface{ muteAudit() }); ok && log.Enabled(ctx) {
		m.muteAudit() // the entry records the source's requests itself
	}
	return &entry{src: src, o: o, log: log, now: o.Now, base: o.Now(), fast: o.systemClock, ctx: ctx, wg: wg}
}

// elapsed is the time since base on the clock the hot path uses.
func (e *entry) elapsed() time.Duration {
	if e.fast {
		return time.Since(e.base)
	}
	if e.mono != nil {
		return e.mono()
	}
	return e.now().Sub(e.base)
}

// trust lets the hot path serve s until its refresh time or for recheck,
// whichever comes first, as measured from now.
func (e *entry) trust(s *state, now time.Time) {
	e.trustBy.Store(int64(e.elapsed() + min(s.refreshAt.Sub(now.Round(0)), recheck)))
}

// token is the hot path: two atomic loads, one monotonic clock read, one
// comparison.
func (e *entry) token(ctx context.Context) (*Token, error) {
	if s := e.cur.Load(); s != nil {
		var elapsed time.Duration
		if e.fast {
			elapsed = time.Since(e.base) // inlined; elapsed() is not
		} else {
			elapsed = e.elapsed()
		}
		if int64(elapsed) < e.trustBy.Load() {
			return s.tok, nil
		}
	}
	return e.slow(ctx)
}

// slow decides on the wall clock: serve, serve and renew in the
// background, or fetch and wait.
func (e *entry) slow(ctx context.Context) (*Token, error) {
	now := e.now()
	if s := e.cur.Load(); s != nil && now.Before(s.expireAt) {
		if now.Before(s.refreshAt) {
			e.trust(s, now)
		} else {
			e.refreshAsync(now, ctx)
		}
		return s.tok, nil
	}
	e.mu.Lock()
	if s := e.cur.Load(); s != nil && now.Before(s.expireAt) {
		e.mu.Unlock()
		return s.tok, nil
	}
	c := e.call
	if c == nil {
		if e.closed {
			e.mu.Unlock()
			return nil, fmt.Errorf("%w: source closed", errClosed)
		}
		if e.lastErr != nil && now.UnixNano() < e.retryAt.Load() {
			err := e.lastErr
			e.mu.Unlock()
			return nil, err
		}
		c = e.startLocked(ctx)
	}
	e.mu.Unlock()
	tok, err := c.Wait(ctx)
	if err != nil && err == ctx.Err() {
		return nil, fmt.Errorf("token: waiting for token: %w", err)
	}
	return tok, err
}

// refreshAsync starts a background fetch unless one is running or the
// backoff forbids it. trig is the context of the call that asked, nil for
// the renewal loop.
func (e *entry) refreshAsync(now time.Time, trig context.Context) {
	if e.busy.Load() || now.UnixNano() < e.retryAt.Load() {
		return
	}
	e.mu.Lock()
	if e.call == nil && !e.closed && now.UnixNano() >= e.retryAt.Load() {
		e.startLocked(trig)
	}
	e.mu.Unlock()
}

// startLocked starts a fetch for the call with context trig (nil for
// none); e.mu must be held.
func (e *entry) startLocked(trig context.Context) *flight.Call[*Token] {
	c := flight.NewCall[*Token]()
	e.call = c
	e.busy.Store(true)
	e.wg.Add(1)
	go e.run(c, trig)
	return c
}

func (e *entry) run(c *flight.Call[*Token], trig context.Context) {
	defer e.wg.Done()
	start := time.Now()
	base := e.ctx
	if trig != nil {
		// The fetch lives by the entry's context but carries the values of
		// the call that started it (its trace span), so the token request
		// and its audit event join that request's trace.
		base = valuesOf{Context: e.ctx, vals: trig}
	}
	ctx, cancel := context.WithTimeout(base, 2*e.o.Timeout)
	// A source that ignores ctx is abandoned when ctx ends, so that it
	// cannot hold up Close or the callers waiting here.
	tok, err := await(ctx, func() (*Token, error) { return e.src.Token(ctx) })
	cancel()
	now := e.now()
	var s *state
	switch {
	case err != nil:
	case tok == nil || tok.AccessToken == "":
		err = fmt.Errorf("%w: source returned no access token", ErrIdPUnavailable)
	default:
		if s = e.schedule(tok, now); !now.Before(s.expireAt) {
			// Handing it out would fail at the resource server; caching
			// it would refetch in a tight loop. Back off instead.
			err = fmt.Errorf("%w: source returned a token that expires within the margin", ErrIdPUnavailable)
			tok = nil
		}
	}

	var logIt bool          // a failure an operator should see
	var failures int        // consecutive failures, for the log
	var retry time.Duration // until the next attempt, for the log
	e.mu.Lock()
	prev := e.cur.Load()
	if err == nil {
		e.cur.Store(s)
		e.trust(s, now)
		e.failures, e.lastErr = 0, nil
		e.retryAt.Store(0)
	} else {
		closing := e.closed && e.ctx.Err() != nil
		if closing {
			err = fmt.Errorf("%w: %w", errClosed, err)
		}
		logIt = !closing && e.o.Logger != nil
		e.failures++
		var oe *Error
		var ra time.Duration
		if errors.As(err, &oe) {
			ra = oe.RetryAfter
		}
		wait := e.o.backoff.Delay(e.failures, ra)
		e.retryAt.Store(now.Add(wait).UnixNano())
		err = unavailable("fetching token", err)
		e.lastErr = err
		failures = e.failures
		retry = wait
	}
	e.call = nil
	e.busy.Store(false)
	e.mu.Unlock()
	if logIt {
		e.warn(prev, now, err, failures, retry)
	}
	if err != nil {
		tok = nil
	}
	// Recorded before the waiters wake, so that the audit trail has a
	// token's issuance before any use of it.
	e.audit(base, prev, tok, err, time.Since(start))
	c.Finish(tok, err)
	if e.changed != nil {
		select {
		case e.changed <- struct{}{}:
		default:
		}
	}
}

// valuesOf has the deadline and cancellation of Context and the values of
// vals first, then of Context.
type valuesOf struct {
	context.Context
	vals context.Context
}

func (c valuesOf) Value(key any) any {
	if v := c.vals.Value(key); v != nil {
		return v
	}
	return c.Context.Value(key)
}

// schedule decides when to renew and when to stop serving tok. The margin
// and the refresh window scale with the token's lifetime (from its iat when
// it is a JWT, else what is left of it), so that a short-lived token is not
// refetched on every call and an aged one is not served to its last second.
func (e *entry) schedule(tok *Token, now time.Time) *state {
	now = now.Round(0)
	s := &state{tok: tok}
	if tok.Expiry.IsZero() {
		// The IdP gave no lifetime; renew every few minutes, and keep
		// serving the old token while renewals fail.
		s.refreshAt = now.Add(defaultMinWindow)
		s.expireAt = now.Add(100 * 365 * 24 * time.Hour)
		return s
	}
	exp := tok.Expiry.Round(0)
	life := lifetime(tok, now)
	margin := min(e.o.ExpiryMargin, life/10)
	window := e.o.RefreshWindow
	if window == 0 {
		window = max(defaultMinWindow, life/10)
	}
	window = min(window, life/2)
	window += time.Duration(float64(window) * e.o.RefreshJitter * rand.Float64())
	s.expireAt = exp.Add(-margin)
	s.refreshAt = exp.Add(-window)
	if !tok.RefreshAt.IsZero() && tok.RefreshAt.Before(s.refreshAt) {
		s.refreshAt = tok.RefreshAt.Round(0) // Entra's refresh_in
	}
	// Renew no later than expiry, and for an aged token no sooner than
	// half way through what is left of it: a source that keeps handing
	// back the same token must not be called in a tight loop.
	if s.refreshAt.After(s.expireAt) {
		s.refreshAt = s.expireAt
	}
	if half := now.Add(s.expireAt.Sub(now) / 2); s.refreshAt.Before(half) {
		s.refreshAt = half
	}
	return s
}

// lifetime is tok's whole lifetime as best known: expiry minus the JWT's
// iat, or else what is left of it at now.
func lifetime(tok *Token, now time.Time) time.Duration {
	left := tok.Expiry.Round(0).Sub(now)
	if iat, ok := jwtTime(tok.AccessToken, "iat"); ok {
		if l := tok.Expiry.Round(0).Sub(iat); l > left {
			return l
		}
	}
	return left
}

// loop renews the token when its refresh time comes even if nobody asks,
// so that an idle service does not meet an expired token.
func (e *entry) loop() {
	defer e.wg.Done()
	t := time.NewTimer(time.Hour)
	t.Stop()
	for {
		var tc <-chan time.Time
		if s := e.cur.Load(); s != nil {
			at := s.refreshAt.UnixNano()
			if r := e.retryAt.Load(); r > at {
				at = r
			}
			wait := time.Duration(at - e.now().UnixNano())
			if wait <= 0 {
				e.refreshAsync(e.now(), nil)
			} else {
				t.Reset(wait)
				tc = t.C
			}
		}
		select {
		case <-e.ctx.Done():
			t.Stop()
			return
		case <-e.changed:
			t.Stop()
		case <-tc:
			e.refreshAsync(e.now(), nil)
			// Wait for the fetch, if one started, before rescheduling.
			if e.busy.Load() {
				select {
				case <-e.ctx.Done():
					return
				case <-e.changed:
				}
			}
		}
	}
}

// invalidate drops the token and forgets a failure, so that the next call
// fetches at once; only a server's Retry-After still holds.
func (e *entry) invalidate() {
	e.mu.Lock()
	e.cur.Store(nil)
	if oe := (*Error)(nil); !errors.As(e.lastErr, &oe) || oe.RetryAfter <= 0 {
		e.failures, e.lastErr = 0, nil
		e.retryAt.Store(0)
	}
	e.mu.Unlock()
}

func (e *entry) close() {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
}

func (e *entry) audit(ctx context.Context, prev *state, tok *Token, err error, d time.Duration) {
	if !e.log.Enabled(ctx) {
		return
	}
	ev := audit.Event{Duration: d}
	if err != nil {
		ev.Name, ev.Outcome = audit.TokenRefreshFailed, audit.Failure
		ev.Reason = reason.Of(err)
		if ev.Reason == "" {
			ev.Reason = reason.IdPUnavailable
		}
		if prev != nil {
			tok = prev.tok
		}
	} else {
		ev.Name, ev.Outcome = audit.TokenIssued, audit.Success
		if prev != nil {
			ev.Name = audit.TokenRefreshed
		}
	}
	if tok != nil {
		describe(&ev, tok)
	}
	e.log.Emit(ctx, ev)
}
