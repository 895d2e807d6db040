package jwks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/idbridge/idbridge/internal/loopback"

	"github.com/idbridge/idbridge/internal/audit"
)

// Key-set defaults and bounds applied by [NewKeySet] and [Discover].
const (
	DefaultRefreshInterval    = time.Hour        // refresh period without cache headers
	DefaultMinRefreshInterval = 5 * time.Minute  // lower bound for header-derived periods
	DefaultMaxRefreshInterval = 24 * time.Hour   // upper bound for header-derived periods
	DefaultUnknownKIDInterval = 30 * time.Second // rate window for unknown-kid refreshes
	DefaultFetchTimeout       = 10 * time.Second // per discovery or JWKS request
	DefaultMaxBodySize        = 1 << 20          // bytes per discovery or JWKS response
)

// KeySetOptions configure a [RemoteKeySet]. NewKeySet copies them.
type KeySetOptions struct {
	// HTTPClient fetches discovery documents and JWKS; nil means a default
	// client. Each fetch is bounded by FetchTimeout whatever the client's
	// own timeout.
	HTTPClient *http.Client
	// Now is the clock for the unknown-kid rate window; nil means time.Now.
	Now func() time.Time
	// Audit receives jwks.refreshed and jwks.refresh_failed events.
	Audit slog.Handler

	// RefreshInterval is the background refresh period when the JWKS
	// response carries no Cache-Control max-age or Expires. Zero means
	// DefaultRefreshInterval.
	RefreshInterval time.Duration
	// MinRefreshInterval and MaxRefreshInterval bound the period derived
	// from response headers, so an IdP can neither make us poll it
	// constantly nor keep stale keys for days. Zero means the defaults.
	MinRefreshInterval time.Duration
	// MaxRefreshInterval: see MinRefreshInterval.
	MaxRefreshInterval time.Duration
	// UnknownKIDInterval is the rate window for fetches caused by tokens:
	// at most one fetch per window, so a flood of forged kids costs the IdP
	// one request, while a real rotation is picked up within one window. A
	// token whose kid is unknown inside the window fails at once with
	// ErrUnknownKey; it never waits for the window. Zero means
	// DefaultUnknownKIDInterval; clamped to [1s, 1h].
	UnknownKIDInterval time.Duration
	// FetchTimeout bounds each discovery or JWKS request, so a hanging IdP
	// cannot hold back later fetches. Zero means DefaultFetchTimeout.
	FetchTimeout time.Duration
	// MaxBodySize caps a discovery or JWKS response. Zero means
	// DefaultMaxBodySize (1 MiB).
	MaxBodySize int64
	// InsecureAllowHTTP lets discovery and JWKS URLs use plain http on
	// hosts other than loopback. Without TLS anyone on the path can swap
	// the keys and forge every token; set it only behind a transport that
	// already authenticates the IdP (a service-mesh sidecar with mTLS).
	InsecureAllowHTTP bool
	// Lazy makes NewKeySet and Discover return at once and load the keys in
	// the background, so a service can start while its IdP is down; tokens
	// fail with ErrUnavailable until the first fetch succeeds.
	Lazy bool
}

func (o *KeySetOptions) setDefaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.RefreshInterval, DefaultRefreshInterval)
	def(&o.MinRefreshInterval, DefaultMinRefreshInterval)
	def(&o.MaxRefreshInterval, DefaultMaxRefreshInterval)
	def(&o.UnknownKIDInterval, DefaultUnknownKIDInterval)
	def(&o.FetchTimeout, DefaultFetchTimeout)
	o.UnknownKIDInterval = min(max(o.UnknownKIDInterval, time.Second), time.Hour)
	if o.MaxRefreshInterval < o.MinRefreshInterval {
		o.MaxRefreshInterval = o.MinRefreshInterval
	}
	o.RefreshInterval = min(max(o.RefreshInterval, o.MinRefreshInterval), o.MaxRefreshInterval)
	if o.MaxBodySize <= 0 {
		o.MaxBodySize = DefaultMaxBodySize
	}
}

// RemoteKeySet is a key set fetched from a JWKS URL and kept fresh in the
// background. It keeps the last good keys when a refresh fails, honours
// Cache-Control and Expires within bounds, and refreshes on an unknown kid
// at most once per rate window, merging concurrent misses into one fetch.
// It is safe for concurrent use by multiple goroutines. Call Close to stop
// its background work.
type RemoteKeySet struct {
	o      KeySetOptions
	audit  *audit.Logger
	keys   atomic.Pointer[keyIndex]
	ctx    context.Context // canceled by Close; parent of every fetch
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu          sync.Mutex // guards the fields below
	jwksURL     string     // "" until discovery succeeded
	issuer      string     // discovery issuer, "" for a direct JWKS URL
	inflight    *fetchCall // the fetch in progress, shared by all waiters
	lastAttempt time.Time  // start of the last fetch, for the rate window
	lastErr     error      // outcome of the last fetch
	ttl         time.Duration
	failures    int
	closed      bool
}

type fetchCall struct {
	done chan struct{}
	err  error
}

// NewKeySet returns a key set for the JWKS at jwksURL. Unless
// KeySetOptions.Lazy is set it fetches the keys before returning, waiting at
// most until ctx is done, and fails with an error wrapping ErrUnavailable if
// they cannot be loaded. ctx is not kept. Call Close when done.
func NewKeySet(ctx context.Context, jwksURL string, optFns ...func(*KeySetOptions)) (*RemoteKeySet, error) {
	return newRemote(ctx, jwksURL, "", "", optFns)
}

// Discover reads the OpenID Provider discovery document of issuer
// (issuer + "/.well-known/openid-configuration"), checks that it names the
// same issuer, and returns a key set for its jwks_uri. Unless Lazy is set,
// discovery and the first key fetch happen before it returns, bounded by
// ctx; with Lazy they are retried in the background.
func Discover(ctx context.Context, issuer string, optFns ...func(*KeySetOptions)) (*RemoteKeySet, error) {
	return newRemote(ctx, "", issuer, issuer, optFns)
}

func newRemote(ctx context.Context, jwksURL, discoverIssuer, issuer string, optFns []func(*KeySetOptions)) (*RemoteKeySet, error) {
	var o KeySetOptions
	for _, fn := range optFns {
		fn(&o)
	}
	o.setDefaults()
	if jwksURL != "" {
		if err := checkURL(jwksURL, o.InsecureAllowHTTP); err != nil {
			return nil, fmt.Errorf("jwks: JWKS URL: %w", err)
		}
	} else if err := checkURL(discoverIssuer, o.InsecureAllowHTTP); err != nil {
		return nil, fmt.Errorf("jwks: issuer: %w", err)
	}
	s := &RemoteKeySet{o: o, audit: audit.New(o.Audit), jwksURL: jwksURL, issuer: issuer}
	if jwksURL == "" {
		s.issuer = discoverIssuer
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.mu.Lock()
	call := s.startLocked(false)
	s.mu.Unlock()
	if !o.Lazy {
		select {
		case <-call.done:
		case <-ctx.Done():
			s.Close()
			return nil, fmt.Errorf("%w: initial fetch: %w", ErrUnavailable, ctx.Err())
		}
		if call.err != nil {
			s.Close()
			return nil, fmt.Errorf("%w: initial fetch: %w", ErrUnavailable, call.err)
		}
	}
	s.wg.Add(1)
	go s.loop(call)
	return s, nil
}

// JWKSURL returns the JWKS URL, or "" while discovery has not succeeded.
func (s *RemoteKeySet) JWKSURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.jwksURL
}

// Issuer returns the issuer given to Discover, or "" for a key set built
// from a JWKS URL.
func (s *RemoteKeySet) Issuer() string { return s.issuer }

// Key implements [KeySet]. A kid that is not in the cached keys triggers a
// refresh unless one happened within UnknownKIDInterval; concurrent misses
// wait for one shared fetch (until ctx is done), and a miss inside the window
// fails at once.
func (s *RemoteKeySet) Key(ctx context.Context, kid, iss string) (*Key, error) {
	ix := s.keys.Load()
	if k, found := ix.find(kid, iss); found {
		return k, nil
	}
	if kid == "" && ix != nil {
		return nil, fail(ErrUnknownKey, "token has no kid and the key set has several keys")
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	call := s.inflight
	if call == nil {
		if s.o.Now().Sub(s.lastAttempt) < s.o.UnknownKIDInterval {
			lastErr := s.lastErr
			s.mu.Unlock()
			if ix == nil {
				return nil, fail(ErrUnavailable, "no keys loaded yet: "+errText(lastErr))
			}
			return nil, fail(ErrUnknownKey, "kid not in the key set (refresh rate-limited)")
		}
		call = s.startLocked(true)
	}
	s.mu.Unlock()
	select {
	case <-call.done:
	case <-ctx.Done():
		return nil, fail(ErrUnavailable, "gave up waiting for the key set: "+ctx.Err().Error())
	}
	ix = s.keys.Load()
	if k, found := ix.find(kid, iss); found {
		return k, nil
	}
	if ix == nil {
		return nil, fail(ErrUnavailable, "no keys loaded: "+errText(call.err))
	}
	return nil, fail(ErrUnknownKey, "kid not in the key set after refresh")
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

// startLocked starts a fetch; s.mu must be held. It returns a call that is
// already done with ErrClosed after Close.
func (s *RemoteKeySet) startLocked(forced bool) *fetchCall {
	call := &fetchCall{done: make(chan struct{})}
	if s.closed {
		call.err = ErrClosed
		close(call.done)
		return call
	}
	s.inflight = call
	s.lastAttempt = s.o.Now()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := s.fetch(forced)
		s.mu.Lock()
		s.inflight = nil
		s.lastErr = err
		if err != nil {
			s.failures++
		} else {
			s.failures = 0
		}
		s.mu.Unlock()
		call.err = err
		close(call.done)
	}()
	return call
}

// loop refreshes in the background: after the period derived from the last
// response, or with growing back-off after failures.
func (s *RemoteKeySet) loop(first *fetchCall) {
	defer s.wg.Done()
	call := first
	for {
		select {
		case <-call.done:
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
			call = s.startLocked(false)
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
		// Back off from the rate window up to the refresh interval; the last
		// good keys stay in use meanwhile.
		d = s.o.UnknownKIDInterval << min(n-1, 16)
		d = min(d, s.o.RefreshInterval)
	}
	if d <= 0 {
		d = s.o.RefreshInterval
	}
	return d - time.Duration(rand.Int64N(int64(d/10)+1))
}

func (s *RemoteKeySet) fetch(forced bool) (err error) {
	ctx, cancel := context.WithTimeout(s.ctx, s.o.FetchTimeout)
	defer cancel()
	s.mu.Lock()
	u := s.jwksURL
	s.mu.Unlock()
	target := u
	defer func() {
		if err != nil && s.ctx.Err() == nil {
			s.audit.Emit(context.Background(), audit.Event{
				Name: audit.JWKSRefreshFailed, Outcome: audit.Failure, Reason: ErrUnavailable.Reason(),
				Issuer: s.issuer,
				Attrs:  []slog.Attr{slog.String("url", target), slog.String("error", err.Error())},
			})
		}
	}()
	if u == "" {
		target = strings.TrimSuffix(s.issuer, "/") + "/.well-known/openid-configuration"
		if u, err = s.discover(ctx); err != nil {
			return err
		}
		s.mu.Lock()
		s.jwksURL = u
		s.mu.Unlock()
		target = u
	}
	body, hdr, err := s.get(ctx, u, forced)
	if err != nil {
		return err
	}
	keys, skipped, err := ParseJWKS(body)
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return fmt.Errorf("jwks: no usable keys in the JWK Set (%d skipped)", len(skipped))
	}
	ttl := cacheTTL(hdr, s.o.Now(), s.o)
	s.install(keys)
	s.mu.Lock()
	s.ttl = ttl
	s.mu.Unlock()
	s.audit.Emit(context.Background(), audit.Event{
		Name: audit.JWKSRefreshed, Outcome: audit.Success, Issuer: s.issuer,
		Attrs: []slog.Attr{slog.String("url", u), slog.Int("keys", len(keys)),
			slog.Int("skipped", len(skipped)), slog.Bool("forced", forced)},
	})
	return nil
}

// install publishes keys. A key identical to one already published keeps
// its old *Key, so cache entries verified with it stay valid; keys that are
// gone are marked retired, which purges the cache entries they verified.
func (s *RemoteKeySet) install(keys []*Key) {
	old := s.keys.Load()
	if old != nil {
		kept := make(map[*Key]bool, len(old.all))
		for i, k := range keys {
			for _, ok := range old.byKID[k.ID] {
				if ok.sameAs(k) {
					keys[i] = ok
					kept[ok] = true
					break
				}
			}
		}
		defer func() {
			for _, k := range old.all {
				if !kept[k] {
					retire(k)
				}
			}
		}()
	}
	s.keys.Store(newKeyIndex(keys))
}

func (s *RemoteKeySet) get(ctx context.Context, u string, forced bool) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("jwks: request: %w", err)
	}
	req.Header.Set("Accept", "application/json, application/jwk-set+json")
	if forced {
		req.Header.Set("Cache-Control", "no-cache")
	}
	resp, err := s.o.HTTPClient.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("jwks: fetch: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil, nil, fmt.Errorf("jwks: fetch: HTTP status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, s.o.MaxBodySize+1))
	if err != nil {
		return nil, nil, fmt.Errorf("jwks: fetch: reading body: %w", err)
	}
	if int64(len(body)) > s.o.MaxBodySize {
		return nil, nil, fmt.Errorf("jwks: fetch: response larger than %d bytes", s.o.MaxBodySize)
	}
	return body, resp.Header, nil
}

func (s *RemoteKeySet) discover(ctx context.Context) (string, error) {
	u := strings.TrimSuffix(s.issuer, "/") + "/.well-known/openid-configuration"
	body, _, err := s.get(ctx, u, false)
	if err != nil {
		return "", fmt.Errorf("jwks: discovery: %w", err)
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", errors.New("jwks: discovery: document is not valid JSON")
	}
	if doc.Issuer != s.issuer {
		// OpenID Connect Discovery §4.3: a mismatch means the document is
		// not this issuer's (or the issuer URL is misconfigured).
		return "", fmt.Errorf("jwks: discovery: document issuer %q differs from %q", doc.Issuer, s.issuer)
	}
	if err := checkURL(doc.JWKSURI, s.o.InsecureAllowHTTP); err != nil {
		return "", fmt.Errorf("jwks: discovery: jwks_uri: %w", err)
	}
	return doc.JWKSURI, nil
}

// cacheTTL derives the refresh period from Cache-Control max-age or
// Expires, clamped to the configured bounds.
func cacheTTL(h http.Header, now time.Time, o KeySetOptions) time.Duration {
	d := time.Duration(-1)
	for _, part := range strings.Split(h.Get("Cache-Control"), ",") {
		part = strings.TrimSpace(strings.ToLower(part))
		switch {
		case part == "no-cache" || part == "no-store":
			d = 0
		case strings.HasPrefix(part, "max-age="):
			if n, err := strconv.ParseInt(part[len("max-age="):], 10, 64); err == nil && n >= 0 && d != 0 {
				d = time.Duration(min(n, 1<<32)) * time.Second
			}
		}
	}
	if d < 0 {
		if exp := h.Get("Expires"); exp != "" {
			if t, err := http.ParseTime(exp); err == nil {
				base := now
				if date, err := http.ParseTime(h.Get("Date")); err == nil {
					base = date
				}
				d = max(t.Sub(base), 0)
			}
		}
	}
	if d < 0 {
		return o.RefreshInterval
	}
	return min(max(d, o.MinRefreshInterval), o.MaxRefreshInterval)
}

// checkURL accepts absolute https URLs, and http ones only on loopback
// unless allowHTTP: keys fetched in clear text can be swapped in transit.
func checkURL(s string, allowHTTP bool) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	if u.Scheme == "http" && !allowHTTP && !loopback.URL(u) {
		return fmt.Errorf("%q uses plain http off loopback (see KeySetOptions.InsecureAllowHTTP)", s)
	}
	return nil
}
