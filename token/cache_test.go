package token

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/reason"
)

// countingSource hands out numbered tokens with the given lifetime, or
// the error set in fail.
type countingSource struct {
	clock *fakeClock
	life  time.Duration
	calls atomic.Int64
	fail  atomic.Pointer[error]
	gate  chan struct{} // if non-nil, each fetch waits for it
	extra func(*Token)
}

func (s *countingSource) Token(ctx context.Context) (*Token, error) {
	n := s.calls.Add(1)
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if p := s.fail.Load(); p != nil {
		return nil, *p
	}
	t := &Token{AccessToken: fmt.Sprintf("at-%d", n), TokenType: "Bearer", Expiry: s.clock.Now().Add(s.life)}
	if s.extra != nil {
		s.extra(t)
	}
	return t, nil
}

func (s *countingSource) setFail(err error) {
	if err == nil {
		s.fail.Store(nil)
		return
	}
	s.fail.Store(&err)
}

func newTestCache(t *testing.T, src Source, clock *fakeClock, optFns ...func(*CacheOptions)) *Cache {
	t.Helper()
	fns := append([]func(*CacheOptions){func(o *CacheOptions) { o.Now = clock.Now; o.RefreshJitter = -1 }}, optFns...)
	c, err := NewCache(src, fns...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); requireNoLeak(t) })
	return c
}

func TestCacheServesFreshTokenWithoutFetching(t *testing.T) {
	clock := newFakeClock()
	src := &countingSource{clock: clock, life: time.Hour}
	c := newTestCache(t, src, clock)
	ctx := context.Background()
	first, err := c.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		tok, err := c.Token(ctx)
		if err != nil || tok != first {
			t.Fatalf("Token = %v, %v; want the cached token", tok, err)
		}
	}
	if n := src.calls.Load(); n != 1 {
		t.Fatalf("source called %d times, want 1", n)
	}
}

func TestCacheSingleFlightOnColdKey(t *testing.T) {
	clock := newFakeClock()
	src := &countingSource{clock: clock, life: time.Hour, gate: make(chan struct{})}
	c := newTestCache(t, src, clock)
	const n = 1000
	var wg sync.WaitGroup
	var started sync.WaitGroup
	toks := make([]*Token, n)
	errs := make([]error, n)
	started.Add(n)
	for i := range n {
		wg.Go(func() {
			started.Done()
			toks[i], errs[i] = c.Token(context.Background())
		})
	}
	started.Wait()
	waitFor(t, "the fetch to start", func() bool { return src.calls.Load() == 1 })
	close(src.gate)
	wg.Wait()
	for i := range n {
		if errs[i] != nil || toks[i] != toks[0] {
			t.Fatalf("caller %d got %v, %v", i, toks[i], errs[i])
		}
	}
	if got := src.calls.Load(); got != 1 {
		t.Fatalf("source called %d times for %d concurrent callers, want 1", got, n)
	}
}

func TestCacheRefreshAheadInBackground(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := newFakeClock()
		src := &countingSource{clock: clock, life: time.Hour}
		c := newTestCache(t, src, clock)
		ctx := context.Background()
		first, _ := c.Token(ctx)

		// Default window for a 1h token: max(5m, 6m) = 6m. 53m in: still fresh.
		clock.Advance(53 * time.Minute)
		if tok, _ := c.Token(ctx); tok != first || src.calls.Load() != 1 {
			t.Fatalf("refreshed %d times before the window", src.calls.Load()-1)
		}
		// 55m in: inside the window. The old token comes back at once and a
		// background refresh starts.
		clock.Advance(2 * time.Minute)
		tok, err := c.Token(ctx)
		if err != nil || tok != first {
			t.Fatalf("inside the window Token = %v, %v; want the still-valid token", tok, err)
		}
		settle(t, "background refresh", func() bool {
			tok, _ := c.Token(ctx)
			return tok.AccessToken == "at-2"
		})
		if n := src.calls.Load(); n != 2 {
			t.Fatalf("source called %d times, want 2", n)
		}
	})
}

func TestCacheSchedule(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name                 string
		life                 time.Duration
		refreshIn            time.Duration
		window               time.Duration
		wantRefresh, wantExp time.Duration // offsets from now
	}{
		{name: "1h default", life: time.Hour, wantRefresh: 54 * time.Minute, wantExp: time.Hour - 30*time.Second},
		{name: "24h scales with lifetime", life: 24 * time.Hour, wantRefresh: 24*time.Hour - 144*time.Minute, wantExp: 24*time.Hour - 30*time.Second},
		{name: "short token clamps window to half", life: 2 * time.Minute, wantRefresh: time.Minute, wantExp: 2*time.Minute - 12*time.Second},
		{name: "entra refresh_in wins", life: 24 * time.Hour, refreshIn: 12 * time.Hour, wantRefresh: 12 * time.Hour, wantExp: 24*time.Hour - 30*time.Second},
		{name: "configured window", life: time.Hour, window: 20 * time.Minute, wantRefresh: 40 * time.Minute, wantExp: time.Hour - 30*time.Second},
		{name: "window larger than life", life: 10 * time.Minute, window: time.Hour, wantRefresh: 5 * time.Minute, wantExp: 9*time.Minute + 30*time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, _ := newOptions([]func(*CacheOptions){func(o *CacheOptions) { o.RefreshJitter = -1; o.RefreshWindow = tt.window }})
			e := &entry{o: o}
			tok := &Token{AccessToken: "x", Expiry: now.Add(tt.life)}
			if tt.refreshIn > 0 {
				tok.RefreshAt = now.Add(tt.refreshIn)
			}
			s := e.schedule(tok, now)
			if got := s.refreshAt.Sub(now); got != tt.wantRefresh {
				t.Errorf("refresh after %v, want %v", got, tt.wantRefresh)
			}
			if got := s.expireAt.Sub(now); got != tt.wantExp {
				t.Errorf("stop serving after %v, want %v", got, tt.wantExp)
			}
		})
	}
}

func TestCacheJitterMovesRefreshEarlierOnly(t *testing.T) {
	now := time.Now()
	o, _ := newOptions(nil)
	e := &entry{o: o}
	seen := map[time.Time]bool{}
	for range 50 {
		s := e.schedule(&Token{AccessToken: "x", Expiry: now.Add(time.Hour)}, now)
		if d := s.refreshAt.Sub(now); d > 54*time.Minute || d < 54*time.Minute-72*time.Second {
			t.Fatalf("jittered refresh at %v, outside [52.8m, 54m]", d)
		}
		seen[s.refreshAt] = true
	}
	if len(seen) < 2 {
		t.Fatal("jitter produced no spread")
	}
}

func TestCacheServesValidTokenWhileIdPFailsThenTypedError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := newFakeClock()
		src := &countingSource{clock: clock, life: time.Hour}
		c := newTestCache(t, src, clock)
		ctx := context.Background()
		first, _ := c.Token(ctx)

		src.setFail(fmt.Errorf("%w: connection refused", ErrIdPUnavailable))
		clock.Advance(56 * time.Minute) // inside the window
		for range 3 {
			tok, err := c.Token(ctx)
			if err != nil || tok != first {
				t.Fatalf("while the IdP fails Token = %v, %v; want the cached token", tok, err)
			}
		}
		settle(t, "failed background refresh", func() bool { return src.calls.Load() >= 2 && !c.e.busy.Load() })
		calls := src.calls.Load()
		// Backoff: asking again at once does not call the IdP again.
		for range 10 {
			c.Token(ctx)
		}
		if got := src.calls.Load(); got != calls {
			t.Fatalf("IdP called %d more times during backoff", got-calls)
		}

		clock.Advance(5 * time.Minute) // expired
		_, err := c.Token(ctx)
		if !errors.Is(err, ErrIdPUnavailable) {
			t.Fatalf("after expiry err = %v, want ErrIdPUnavailable", err)
		}
		if reason.Of(err) != reason.IdPUnavailable {
			t.Fatalf("reason = %q", reason.Of(err))
		}
		// The IdP recovers: after the backoff the next call fetches.
		src.setFail(nil)
		clock.Advance(defaultMaxBackoff)
		tok, err := c.Token(ctx)
		if err != nil || tok == first {
			t.Fatalf("after recovery Token = %v, %v", tok, err)
		}
	})
}

func TestCacheBackoffGrowsAndHonoursRetryAfter(t *testing.T) {
	o, _ := newOptions([]func(*CacheOptions){func(o *CacheOptions) { o.MinBackoff = time.Second; o.MaxBackoff = time.Minute }})
	e := &entry{o: o}
	for _, tt := range []struct {
		failures   int
		retryAfter time.Duration
		lo, hi     time.Duration
	}{
		{1, 0, 500 * time.Millisecond, time.Second},
		{2, 0, time.Second, 2 * time.Second},
		{4, 0, 4 * time.Second, 8 * time.Second},
		{20, 0, 30 * time.Second, time.Minute},
		{1, 10 * time.Second, 10 * time.Second, 10 * time.Second},
	} {
		for range 20 {
			if d := e.o.backoff.Delay(tt.failures, tt.retryAfter); d < tt.lo || d > tt.hi {
				t.Fatalf("backoff(%d, %v) = %v, want in [%v, %v]", tt.failures, tt.retryAfter, d, tt.lo, tt.hi)
			}
		}
	}
}

func TestCacheColdFailureIsTypedAndBackedOff(t *testing.T) {
	clock := newFakeClock()
	src := &countingSource{clock: clock, life: time.Hour}
	src.setFail(&Error{Code: "temporarily_unavailable", Status: 429, RetryAfter: 30 * time.Second, Err: ErrIdPUnavailable})
	c := newTestCache(t, src, clock)
	_, err := c.Token(context.Background())
	var oe *Error
	if !errors.Is(err, ErrIdPUnavailable) || !errors.As(err, &oe) || oe.RetryAfter != 30*time.Second {
		t.Fatalf("err = %v", err)
	}
	clock.Advance(29 * time.Second)
	if _, err := c.Token(context.Background()); !errors.Is(err, ErrIdPUnavailable) || src.calls.Load() != 1 {
		t.Fatalf("within Retry-After: err = %v, calls = %d", err, src.calls.Load())
	}
	src.setFail(nil)
	clock.Advance(2 * time.Second)
	if _, err := c.Token(context.Background()); err != nil {
		t.Fatalf("after Retry-After: %v", err)
	}
}

func TestCacheSignInRequiredKeepsItsClass(t *testing.T) {
	clock := newFakeClock()
	src := &countingSource{clock: clock, life: time.Hour}
	src.setFail(&Error{Code: "invalid_grant", Status: 400, Err: ErrSignInRequired})
	c := newTestCache(t, src, clock)
	_, err := c.Token(context.Background())
	if !errors.Is(err, ErrSignInRequired) || errors.Is(err, ErrIdPUnavailable) {
		t.Fatalf("err = %v, want only ErrSignInRequired", err)
	}
}

func TestCacheWaiterHonoursItsContext(t *testing.T) {
	clock := newFakeClock()
	src := &countingSource{clock: clock, life: time.Hour, gate: make(chan struct{})}
	c := newTestCache(t, src, clock)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { _, err := c.Token(ctx); done <- err }()
	waitFor(t, "fetch", func() bool { return src.calls.Load() == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	// The fetch was not cancelled with the caller: it completes for others.
	close(src.gate)
	tok, err := c.Token(context.Background())
	if err != nil || tok.AccessToken != "at-1" || src.calls.Load() != 1 {
		t.Fatalf("Token = %v, %v after %d calls", tok, err, src.calls.Load())
	}
}

func TestCacheCloseStopsGoroutinesAndFetches(t *testing.T) {
	clock := newFakeClock()
	src := &countingSource{clock: clock, life: time.Hour, gate: make(chan struct{})}
	c, err := NewCache(src, func(o *CacheOptions) { o.Now = clock.Now })
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { _, err := c.Token(context.Background()); done <- err }()
	waitFor(t, "fetch", func() bool { return src.calls.Load() == 1 })
	c.Close()
	if err := <-done; !errors.Is(err, idbridge.ErrClosed) {
		t.Fatalf("waiter err = %v, want idbridge.ErrClosed", err)
	}
	requireNoLeak(t)
	c.Close() // idempotent
	if _, err := c.Token(context.Background()); !errors.Is(err, idbridge.ErrClosed) {
		t.Fatalf("after Close err = %v", err)
	}
}

func TestCacheRejectsUselessTokens(t *testing.T) {
	clock := newFakeClock()
	tests := []struct {
		name string
		src  SourceFunc
	}{
		{"nil token", func(context.Context) (*Token, error) { return nil, nil }},
		{"no access token", func(context.Context) (*Token, error) { return &Token{}, nil }},
		{"already expired", func(context.Context) (*Token, error) {
			return &Token{AccessToken: "x", Expiry: clock.Now().Add(-time.Second)}, nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestCache(t, tt.src, clock)
			if _, err := c.Token(context.Background()); !errors.Is(err, ErrIdPUnavailable) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestCacheNoExpiryIsRenewedPeriodically(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := newFakeClock()
		var n atomic.Int64
		src := SourceFunc(func(context.Context) (*Token, error) {
			return &Token{AccessToken: fmt.Sprint("at-", n.Add(1))}, nil
		})
		c := newTestCache(t, src, clock)
		c.Token(context.Background())
		clock.Advance(6 * time.Minute)
		c.Token(context.Background())
		settle(t, "renewal", func() bool { return n.Load() == 2 })
	})
}

func TestCacheProactiveRefreshWithoutCallers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The bubble's clock, short lifetime: the timer renews the token
		// although nobody calls Token.
		var n atomic.Int64
		src := SourceFunc(func(context.Context) (*Token, error) {
			return &Token{AccessToken: fmt.Sprint("at-", n.Add(1)), Expiry: time.Now().Add(400 * time.Millisecond)}, nil
		})
		c, err := NewCache(src)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { c.Close(); requireNoLeak(t) }()
		if _, err := c.Token(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(400 * time.Millisecond) // the bubble's time: instant
		settle(t, "proactive refresh", func() bool { return n.Load() >= 2 })
	})
}

func TestCacheInvalidate(t *testing.T) {
	clock := newFakeClock()
	src := &countingSource{clock: clock, life: time.Hour}
	c := newTestCache(t, src, clock)
	first, _ := c.Token(context.Background())
	c.Invalidate()
	tok, err := c.Token(context.Background())
	if err != nil || tok == first {
		t.Fatalf("after Invalidate Token = %v, %v", tok, err)
	}
}

func TestCacheAuditEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := newFakeClock()
		var buf bytes.Buffer
		var mu sync.Mutex
		h := slog.NewJSONHandler(&lockedWriter{w: &buf, mu: &mu}, nil)
		access := fakeJWT(map[string]any{"iss": "https://idp.example/v2.0", "tid": "t1", "sub": "s1", "oid": "o1", "azp": "client-1", "jti": "jti-1"})
		var n atomic.Int64
		var fail atomic.Bool
		src := SourceFunc(func(context.Context) (*Token, error) {
			n.Add(1)
			if fail.Load() {
				return nil, &Error{Code: "server_error", Status: 500, Err: ErrIdPUnavailable}
			}
			return &Token{AccessToken: access, Expiry: clock.Now().Add(time.Hour)}, nil
		})
		c := newTestCache(t, src, clock, func(o *CacheOptions) { o.Audit = h })
		c.Token(context.Background())
		clock.Advance(55 * time.Minute)
		c.Token(context.Background())
		settle(t, "refresh", func() bool { return n.Load() == 2 && !c.e.busy.Load() })
		fail.Store(true)
		clock.Advance(55 * time.Minute)
		c.Token(context.Background())
		settle(t, "failed refresh", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return n.Load() == 3 && strings.Contains(buf.String(), `"event":"token.refresh_failed"`)
		})

		mu.Lock()
		out := buf.String()
		mu.Unlock()
		for _, want := range []string{`"event":"token.issued"`, `"event":"token.refreshed"`, `"event":"token.refresh_failed"`,
			`"reason":"idp_unavailable"`, `"azp":"client-1"`, `"tid":"t1"`, `"token_id":"`} {
			if !strings.Contains(out, want) {
				t.Errorf("audit output lacks %s:\n%s", want, out)
			}
		}
		if strings.Contains(out, access) || strings.Contains(out, "jti-1") {
			t.Errorf("audit output contains the token or its jti:\n%s", out)
		}
	})
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestNewCacheValidates(t *testing.T) {
	if _, err := NewCache(nil); !errors.Is(err, idbridge.ErrInvalidOptions) {
		t.Fatalf("nil source: %v", err)
	}
	if _, err := NewCache(SourceFunc(nil), func(o *CacheOptions) { o.RefreshWindow = -1 }); !errors.Is(err, idbridge.ErrInvalidOptions) {
		t.Fatalf("negative window: %v", err)
	}
}

func TestCacheHotPathAllocatesNothing(t *testing.T) {
	for name, clock := range map[string]func(*CacheOptions){"system clock": nil, "injected clock": func(o *CacheOptions) { o.Now = newFakeClock().Now }} {
		t.Run(name, func(t *testing.T) {
			var now func() time.Time = time.Now
			o, _ := newOptions([]func(*CacheOptions){clock})
			now = o.Now
			src := SourceFunc(func(context.Context) (*Token, error) {
				return &Token{AccessToken: "a", Expiry: now().Add(time.Hour)}, nil
			})
			c, err := NewCache(src, clock)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx := context.Background()
			c.Token(ctx)
			if n := testing.AllocsPerRun(1000, func() { c.Token(ctx) }); n != 0 {
				t.Fatalf("%v allocations per cached Token call", n)
			}
		})
	}
}

// TestCacheNeverHandsOutATokenAboutToExpire: the expiry margin scales with
// the token's lifetime, not with what is left of it, so an aged token (a
// source that caches, a seeded one) is not handed out seconds before it
// expires, while a genuinely short-lived token still is.
func TestCacheNeverHandsOutATokenAboutToExpire(t *testing.T) {
	tests := []struct {
		name     string
		iat, exp time.Duration // from now
		wantOK   bool
	}{
		{"fresh 1h token", 0, time.Hour, true},
		{"fresh 10s token: margin 1s", 0, 10 * time.Second, true},
		{"1h token with 10s left", -time.Hour + 10*time.Second, 10 * time.Second, false},
		{"1h token with 29s left", -time.Hour + 29*time.Second, 29 * time.Second, false},
		{"1h token with 40s left", -time.Hour + 40*time.Second, 40 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			now := clock.Now()
			access := fakeJWT(map[string]any{"iat": now.Add(tt.iat).Unix(), "exp": now.Add(tt.exp).Unix()})
			src := SourceFunc(func(context.Context) (*Token, error) {
				return &Token{AccessToken: access, Expiry: now.Add(tt.exp)}, nil
			})
			c := newTestCache(t, src, clock)
			tok, err := c.Token(context.Background())
			if tt.wantOK != (err == nil) {
				t.Fatalf("Token = %v, %v; want ok = %v", tok, err, tt.wantOK)
			}
			if err != nil && !errors.Is(err, ErrIdPUnavailable) {
				t.Fatalf("err = %v, want ErrIdPUnavailable", err)
			}
		})
	}
}

// TestCacheSurvivesSuspend: the hot path measures time on the monotonic
// clock, which stops while the machine sleeps; the wall clock does not. A
// token that expired during a suspend must not be served for longer than
// the short re-check interval after the machine wakes.
func TestCacheSurvivesSuspend(t *testing.T) {
	clock := newFakeClock()
	var mono atomic.Int64 // monotonic nanoseconds since base
	src := &countingSource{clock: clock, life: time.Hour}
	o, _ := newOptions([]func(*CacheOptions){func(o *CacheOptions) { o.Now = clock.Now; o.RefreshJitter = -1 }})
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	e := newEntry(ctx, src, o, nil, &wg)
	e.mono = func() time.Duration { return time.Duration(mono.Load()) }
	t.Cleanup(func() { e.close(); cancel(); wg.Wait() })

	first, err := e.token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	step := func(wall, mon time.Duration) { clock.Advance(wall); mono.Add(int64(mon)) }
	step(time.Minute, time.Minute)
	if tok, _ := e.token(context.Background()); tok != first {
		t.Fatal("fresh token not served")
	}
	// Eight hours asleep: the wall clock moves, the monotonic one does not.
	step(8*time.Hour, 0)
	step(recheck, recheck)
	tok, err := e.token(context.Background())
	if err != nil || tok == first {
		t.Fatalf("after a suspend Token = %v, %v; want a new token, not the one that expired while asleep", tok, err)
	}
}

// TestCacheInvalidateForgetsFailure: after the user signs in again (a new
// refresh token seeded), Invalidate must let the next call fetch at once
// instead of repeating the old error until the backoff ends; a server's
// Retry-After still holds.
func TestCacheInvalidateForgetsFailure(t *testing.T) {
	for _, tt := range []struct {
		name      string
		fail      error
		wantFetch bool
	}{
		{"sign-in required", &Error{Code: "invalid_grant", Status: 400, Err: ErrSignInRequired}, true},
		{"IdP down", fmt.Errorf("%w: connection refused", ErrIdPUnavailable), true},
		{"Retry-After", &Error{Code: "temporarily_unavailable", Status: 429, RetryAfter: time.Minute, Err: ErrIdPUnavailable}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			src := &countingSource{clock: clock, life: time.Hour}
			src.setFail(tt.fail)
			c := newTestCache(t, src, clock, func(o *CacheOptions) { o.MinBackoff = time.Minute })
			for range 3 {
				c.Token(context.Background())
			}
			if n := src.calls.Load(); n != 1 {
				t.Fatalf("%d fetches during the backoff", n)
			}
			src.setFail(nil)
			c.Invalidate()
			_, err := c.Token(context.Background())
			if fetched := src.calls.Load() == 2; fetched != tt.wantFetch || (err == nil) != tt.wantFetch {
				t.Fatalf("after Invalidate: fetched = %v, err = %v; want fetch = %v", fetched, err, tt.wantFetch)
			}
		})
	}
}

// TestCacheCloseDoesNotWaitForASourceIgnoringContext: a source (an
// assertion callback, a KMS signer, an oauth2.TokenSource) that ignores its
// context must not hang Close or the callers waiting on it.
func TestCacheCloseDoesNotWaitForASourceIgnoringContext(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	var calls atomic.Int64
	src := SourceFunc(func(context.Context) (*Token, error) {
		calls.Add(1)
		<-release // ignores ctx
		return &Token{AccessToken: "late"}, nil
	})
	c, err := NewCache(src)
	if err != nil {
		t.Fatal(err)
	}
	waiter := make(chan error, 1)
	go func() { _, err := c.Token(context.Background()); waiter <- err }()
	waitFor(t, "the fetch to start", func() bool { return calls.Load() == 1 })
	closed := make(chan struct{})
	go func() { c.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close blocked on a source that ignores its context")
	}
	if err := <-waiter; !errors.Is(err, idbridge.ErrClosed) {
		t.Fatalf("waiter err = %v, want idbridge.ErrClosed", err)
	}
}

// TestCacheForgottenWithoutCloseStopsItsGoroutine: a Cache the program
// drops without Close (FromEnvironment called per request by mistake) must
// not leave its renewal goroutine behind forever.
func TestCacheForgottenWithoutCloseStopsItsGoroutine(t *testing.T) {
	clock := newFakeClock()
	func() {
		c, err := NewCache(&countingSource{clock: clock, life: time.Hour}, func(o *CacheOptions) { o.Now = clock.Now })
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Token(context.Background()); err != nil {
			t.Fatal(err)
		}
	}()
	waitFor(t, "the forgotten cache's goroutine to end", func() bool {
		runtime.GC()
		return ourGoroutines() == 0
	})
}

// TestIssuedRecordedBeforeUse: the token.issued event of a fetch is in the
// audit trail when Token returns, so the trail never shows a token's use
// (a downstream service's token.validated) before its issuance.
func TestIssuedRecordedBeforeUse(t *testing.T) {
	for i := range 50 {
		var buf bytes.Buffer
		var mu sync.Mutex
		h := slog.NewJSONHandler(&lockedWriter{w: &buf, mu: &mu}, nil)
		src := SourceFunc(func(context.Context) (*Token, error) {
			return &Token{AccessToken: "at", Expiry: time.Now().Add(time.Hour)}, nil
		})
		c, err := NewCache(src, func(o *CacheOptions) { o.Audit = h })
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Token(context.Background()); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		out := buf.String()
		mu.Unlock()
		c.Close()
		if !strings.Contains(out, `"event":"token.issued"`) {
			t.Fatalf("round %d: Token returned before token.issued was recorded", i)
		}
	}
}
