package jwks

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/idbridge/idbridge/internal/audit"
	"github.com/idbridge/idbridge/internal/backoff"
	"github.com/idbridge/idbridge/internal/flight"
	"github.com/idbridge/idbridge/internal/option"
	"github.com/idbridge/idbridge/internal/safeurl"
)

// RemoteKeySet is a key set fetched from a JWKS URL and kept fresh in the
// background. It keeps the last good keys when a refresh fails, honours
// Cache-Control and Expires within bounds, and refreshes when a token names
// an unknown kid, within limits that let rotations through and keep forged
// kids cheap (see the package documentation); concurrent misses share one
// fetch. It is safe for concurrent use by multiple goroutines. Call Close
// to stop its background work.
type RemoteKeySet struct {
	o      KeySetOptions
	audit  *audit.Logger
	log    *slog.Logger // nil: no operational log
	keys   atomic.Pointer[keyIndex]
	ctx    context.Context // canceled by Close; parent of every fetch
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu          sync.Mutex // guards the fields below
	jwksURL     string     // "" until discovery succeeded
	issuer      string     // discovery issuer, "" for a direct JWKS URL
	inflight    *fetchCall // the fetch in progress, shared by all waiters
	scheduled   *fetchCall // a miss fetch waiting for its turn
	kids        kidPolicy
	lastAttempt time.Time // start of the last fetch
	lastErr     error     // outcome of the last fetch
	ttl         time.Duration
	failures    int
	closed      bool
}

// fetch kinds.
const (
	fetchBackground = iota // first load and scheduled refreshes
	fetchMiss              // caused by an unknown kid
	fetchReady             // asked for by Ready
)

// fetchCall is one fetch that any number of callers wait on.
type fetchCall struct {
	*flight.Call[struct{}]
	kind  int
	seq   uint64    // number of the fetch, set when it starts
	start time.Time // when it started
}

func newFetchCall(kind int) *fetchCall {
	return &fetchCall{Call: flight.NewCall[struct{}](), kind: kind}
}

// err is the outcome of a finished fetch.
func (c *fetchCall) err() error {
	_, err := c.Result()
	return err
}

// NewKeySet returns a key set for the JWKS at jwksURL. Unless
// KeySetOptions.Lazy is set it fetches the keys before returning, waiting at
// most until ctx is done, and fails with an error wrapping ErrUnavailable if
// they cannot be loaded. ctx is not kept. Call Close when done.
func NewKeySet(ctx context.Context, jwksURL string, optFns ...func(*KeySetOptions)) (*RemoteKeySet, error) {
	if jwksURL == "" {
		return nil, invalid("JWKS URL is required")
	}
	return newRemote(ctx, jwksURL, "", optFns)
}

// Discover reads the OpenID Provider discovery document of issuer
// (issuer + "/.well-known/openid-configuration"), checks that it names the
// same issuer (exactly; Entra's multi-tenant authorities common,
// organizations and consumers may name their {tenantid} template instead,
// as token.Discover accepts too), and returns a key set for its jwks_uri.
// Unless Lazy is set,
// discovery and the first key fetch happen before it returns, bounded by
// ctx; with Lazy they are retried in the background.
func Discover(ctx context.Context, issuer string, optFns ...func(*KeySetOptions)) (*RemoteKeySet, error) {
	return newRemote(ctx, "", issuer, optFns)
}

func newRemote(ctx context.Context, jwksURL, issuer string, optFns []func(*KeySetOptions)) (*RemoteKeySet, error) {
	o := option.New(optFns)
	o.setDefaults()
	if jwksURL != "" {
		if err := checkURL(jwksURL, o.InsecureAllowHTTP); err != nil {
			return nil, invalid("JWKS URL: %v", err)
		}
	} else if err := checkURL(issuer, o.InsecureAllowHTTP); err != nil {
		return nil, invalid("issuer: %v", err)
	}
	s := &RemoteKeySet{o: o, audit: audit.New(o.Audit), log: o.Logger, jwksURL: jwksURL, issuer: issuer,
		kids: newKidPolicy(o.UnknownKIDInterval, o.UnknownKIDPerHour)}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.mu.Lock()
	call := s.startLocked(fetchBackground)
	s.mu.Unlock()
	if !o.Lazy {
		select {
		case <-call.Done():
		case <-ctx.Done():
			s.Close()
			return nil, fmt.Errorf("%w: initial fetch: %w", ErrUnavailable, ctx.Err())
		}
		if call.err() != nil {
			s.Close()
			return nil, fmt.Errorf("%w: initial fetch: %w", ErrUnavailable, call.err())
		}
	}
	s.wg.Add(1)
	go s.loop(call)
	return s, nil
}

// JWKSURL returns the JWKS URL, or "" while discovery has not succeeded.
// It may hold user info or a query secret: print it with care.
func (s *RemoteKeySet) JWKSURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.jwksURL
}

// Issuer returns the issuer given to Discover, or "" for a key set built
// from a JWKS URL.
func (s *RemoteKeySet) Issuer() string { return s.issuer }

// String names the key set by its URL without user info or query, so %v of
// a key set never prints a secret.
func (s *RemoteKeySet) String() string {
	u := s.JWKSURL()
	if u == "" {
		u = s.discoveryURL()
	}
	return "jwks.RemoteKeySet(" + safeurl.String(u) + ")"
}

// GoString is String, for %#v.
func (s *RemoteKeySet) GoString() string { return s.String() }

// Key implements [KeySet]. A kid that is not in the cached keys may trigger
// a refresh (see the package documentation for the limits); concurrent
// misses wait for one shared fetch, each until its own ctx is done. A miss
// whose refresh is further away than UnknownKIDInterval fails at once with
// ErrUnknownKey, as does a kid that a recent refresh did not find.
func (s *RemoteKeySet) Key(ctx context.Context, kid, iss string) (*Key, error) {
	ix := s.keys.Load()
	if k, found := ix.find(kid, iss); found {
		return k, nil
	}
	if kid == "" && ix != nil {
		return nil, fail(ErrUnknownKey, "token has no kid and the key set has several keys")
	}
	return s.miss(ctx, kid, iss)
}

func (s *RemoteKeySet) miss(ctx context.Context, kid, iss string) (*Key, error) {
	h := s.kids.hash(kid)
	var e *kidEntry
	var seen uint64
	repeated := false
	for attempt := 0; ; attempt++ {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, errClosed
		}
		ix := s.keys.Load()
		if k, found := ix.find(kid, iss); found { // published meanwhile
			s.mu.Unlock()
			return k, nil
		}
		now := s.o.Now()
		if attempt == 0 {
			var absent bool
			if e, absent, repeated = s.kids.observe(h, now); absent {
				s.mu.Unlock()
				return nil, fail(ErrUnknownKey, "kid not in the key set at its last refresh")
			}
			seen = e.seq
		} else if s.kids.absent(e, h) {
			s.mu.Unlock()
			return nil, fail(ErrUnknownKey, "kid not in the key set after refresh")
		}
		call := s.inflight
		if call == nil {
			call = s.scheduled
		}
		if call == nil {
			at := s.kids.nextFetch(repeated, now)
			switch wait := at.Sub(now); {
			case wait <= 0:
				call = s.startLocked(fetchMiss)
			case wait <= s.o.UnknownKIDInterval:
				call = s.scheduleLocked(wait)
			default:
				refused, log := s.kids.throttled(now)
				var lastHour int
				interval := s.kids.interval(now)
				if log {
					lastHour = s.kids.inLastHour(now)
				}
				lastErr := s.lastErr
				s.mu.Unlock()
				if log && s.log != nil {
					s.log.Warn("jwks: refreshes for unknown kids throttled", s.logAttrs(
						slog.Int("refused", refused), slog.Duration("next_refresh_in", wait),
						slog.Duration("interval", interval), slog.Int("refreshes_last_hour", lastHour))...)
				}
				if ix == nil {
					return nil, fail(ErrUnavailable, "no keys loaded yet: "+errText(lastErr))
				}
				return nil, fail(ErrUnknownKey, "kid not in the key set (refresh rate-limited)")
			}
		}
		s.mu.Unlock()
		select {
		case <-call.Done():
		case <-ctx.Done():
			return nil, fail(ErrUnavailable, "gave up waiting for the key set: "+ctx.Err().Error())
		}
		ix = s.keys.Load()
		if k, found := ix.find(kid, iss); found {
			return k, nil
		}
		if ix == nil {
			return nil, fail(ErrUnavailable, "no keys loaded: "+errText(call.err()))
		}
		if call.seq > seen || attempt > 0 {
			if call.err() != nil {
				return nil, fail(ErrUnknownKey, "kid not in the key set; its refresh failed: "+call.err().Error())
			}
			return nil, fail(ErrUnknownKey, "kid not in the key set after refresh")
		}
		// The fetch started before this kid was first seen, so it says
		// nothing about it: decide once more.
	}
}

func errText(err error) string {
	if err == nil {
		return "no fetch completed"
	}
	return err.Error()
}

// Close stops background refreshes and waits for them. It is idempotent.
func (s *RemoteKeySet) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}

// startLocked starts a fetch of a kind; s.mu must be held. After Close it
// returns a call that is already done with errClosed.
func (s *RemoteKeySet) startLocked(kind int) *fetchCall {
	call := newFetchCall(kind)
	if s.closed {
		call.Finish(struct{}{}, errClosed)
		return call
	}
	s.beginLocked(call)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.run(call)
	}()
	return call
}

// scheduleLocked returns a miss fetch that starts after d, once any fetch
// in flight has ended; s.mu must be held.
func (s *RemoteKeySet) scheduleLocked(d time.Duration) *fetchCall {
	call := newFetchCall(fetchMiss)
	s.scheduled = call
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-s.ctx.Done():
			t.Stop()
		}
		s.mu.Lock()
		for s.inflight != nil && !s.closed {
			prev := s.inflight
			s.mu.Unlock()
			<-prev.Done()
			s.mu.Lock()
		}
		s.scheduled = nil
		if s.closed {
			s.mu.Unlock()
			call.Finish(struct{}{}, errClosed)
			return
		}
		s.beginLocked(call)
		s.mu.Unlock()
		s.run(call)
	}()
	return call
}

// beginLocked marks call as the fetch in flight; s.mu must be held.
func (s *RemoteKeySet) beginLocked(call *fetchCall) {
	now := s.o.Now()
	s.inflight = call
	s.lastAttempt = now
	s.kids.started++
	call.seq, call.start = s.kids.started, now
	if call.kind == fetchMiss {
		s.kids.begin(now)
	}
}

// run performs call's fetch, records its outcome and releases its waiters.
func (s *RemoteKeySet) run(call *fetchCall) {
	added, err := s.fetch(call.kind == fetchMiss)
	s.mu.Lock()
	s.inflight = nil
	s.lastErr = err
	if call.kind == fetchMiss {
		s.kids.end(err == nil && added > 0)
	}
	failures := s.failures
	if err != nil {
		s.failures++
	} else {
		s.failures = 0
		s.kids.succeeded(call.seq, call.start)
	}
	closed := s.closed
	s.mu.Unlock()
	// Log before releasing the waiters, so that a caller who saw the
	// failure finds it in the log.
	switch {
	case s.log == nil || closed:
	case err != nil:
		s.log.Warn("jwks: key refresh failed", s.logAttrs(
			slog.String("error", err.Error()), slog.Int("failures", failures+1))...)
	case failures > 0:
		s.log.Info("jwks: key refresh recovered", s.logAttrs(
			slog.Int("failures", failures), slog.Int("keys", len(s.keys.Load().all)))...)
	}
	call.Finish(struct{}{}, err)
}

// logAttrs prefixes attrs with the key set's issuer and URL, both without
// user info or query.
func (s *RemoteKeySet) logAttrs(attrs ...slog.Attr) []any {
	out := make([]any, 0, len(attrs)+2)
	if s.issuer != "" {
		out = append(out, slog.String("issuer", safeurl.String(s.issuer)))
	}
	u := s.JWKSURL()
	if u == "" {
		u = s.discoveryURL()
	}
	out = append(out, slog.String("url", safeurl.String(u)))
	for _, a := range attrs {
		out = append(out, a)
	}
	return out
}

// loop refreshes in the background: after the period derived from the last
// response, or with growing back-off after failures.
func (s *RemoteKeySet) loop(first *fetchCall) {
	defer s.wg.Done()
	call := first
	for {
		select {
		case <-call.Done():
		case <-s.ctx.Done():
			return
		}
		t := time.NewTimer(s.nextDelay())
		select {
		case <-t.C:
		case <-s.ctx.Done():
			t.Stop()
			return
		}
		s.mu.Lock()
		call = s.inflight
		if call == nil {
			call = s.startLocked(fetchBackground)
		}
		s.mu.Unlock()
	}
}

// nextDelay is the time to the next background refresh, with up to 10%
// jitter so that many instances do not refresh in lockstep.
func (s *RemoteKeySet) nextDelay() time.Duration {
	s.mu.Lock()
	d, n := s.ttl, s.failures
	s.mu.Unlock()
	if n > 0 {
		// Back off from the unknown-kid interval up to the refresh
		// interval (and at most 2^16 times it); the last good keys stay
		// in use meanwhile.
		d = backoff.Policy{Min: s.o.UnknownKIDInterval, Max: s.o.RefreshInterval}.Step(min(n, 17))
		d = min(d, s.o.RefreshInterval)
	}
	if d <= 0 {
		d = s.o.RefreshInterval
	}
	return d - time.Duration(rand.Int64N(int64(d/10)+1))
}
