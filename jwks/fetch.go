package jwks

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/idbridge/idbridge/internal/audit"
	"github.com/idbridge/idbridge/internal/discovery"
	"github.com/idbridge/idbridge/internal/loopback"
	"github.com/idbridge/idbridge/internal/safeurl"
)

// fetch loads the key set (after discovery if the JWKS URL is not known
// yet) and publishes it. added counts the kids that were not published
// before. forced asks caches on the way to revalidate.
func (s *RemoteKeySet) fetch(forced bool) (added int, err error) {
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
				Issuer: safeurl.String(s.issuer),
				Attrs:  []slog.Attr{slog.String("url", safeurl.String(target)), slog.String("error", err.Error())},
			})
		}
	}()
	if u == "" {
		target = s.discoveryURL()
		if u, err = s.discover(ctx); err != nil {
			return 0, err
		}
		s.mu.Lock()
		s.jwksURL = u
		s.mu.Unlock()
		target = u
	}
	body, hdr, err := s.get(ctx, u, forced)
	if err != nil {
		return 0, err
	}
	keys, skipped, err := parseJWKS(body)
	if err != nil {
		return 0, err
	}
	if len(keys) == 0 {
		return 0, fmt.Errorf("jwks: no usable keys in the JWK Set (%d skipped)", len(skipped))
	}
	ttl := cacheTTL(hdr, s.o.Now(), s.o)
	// Recorded before the keys are published, so that the audit trail has
	// the refresh before any validation with a key it brought.
	s.audit.Emit(context.Background(), audit.Event{
		Name: audit.JWKSRefreshed, Outcome: audit.Success, Issuer: safeurl.String(s.issuer),
		Attrs: []slog.Attr{slog.String("url", safeurl.String(u)), slog.Int("keys", len(keys)),
			slog.Int("skipped", len(skipped)), slog.Bool("forced", forced)},
	})
	added = s.install(keys)
	s.mu.Lock()
	s.ttl = ttl
	s.mu.Unlock()
	return added, nil
}

// install publishes keys and returns how many of their kids are new. A key
// identical to one already published keeps its old *Key, so cache entries
// verified with it stay valid; keys that are gone are marked retired, which
// purges the cache entries they verified.
func (s *RemoteKeySet) install(keys []*Key) (added int) {
	old := s.keys.Load()
	if old == nil {
		s.keys.Store(newKeyIndex(keys))
		return len(keys)
	}
	kept := make(map[*Key]bool, len(old.all))
	for i, k := range keys {
		if len(old.byKID[k.ID]) == 0 {
			added++
		}
		for _, ok := range old.byKID[k.ID] {
			if ok.sameAs(k) {
				keys[i] = ok
				kept[ok] = true
				break
			}
		}
	}
	s.keys.Store(newKeyIndex(keys))
	for _, k := range old.all {
		if !kept[k] {
			retire(k)
		}
	}
	return added
}

// get fetches u. Its errors name the URL without user info or query.
func (s *RemoteKeySet) get(ctx context.Context, u string, forced bool) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("jwks: request: %w", safeurl.Error(err))
	}
	req.Header.Set("Accept", "application/json, application/jwk-set+json")
	if forced {
		req.Header.Set("Cache-Control", "no-cache")
	}
	resp, err := s.o.HTTPClient.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("jwks: fetch: %w", safeurl.Error(err))
	}
	defer resp.Body.Close()
	if resp.Request != nil && resp.Request.URL != nil && resp.Request.URL.String() != u {
		// Redirected: the URL that answered must pass the rule the one
		// configured did, or a redirect to plain http would hand the keys
		// to anyone on the path.
		if err := checkURL(resp.Request.URL.String(), s.o.InsecureAllowHTTP); err != nil {
			return nil, nil, fmt.Errorf("jwks: fetch %s: redirected: %w", safeurl.String(u), err)
		}
	}
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil, nil, fmt.Errorf("jwks: fetch %s: HTTP status %d", safeurl.String(u), resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, s.o.MaxBodySize+1))
	if err != nil {
		return nil, nil, fmt.Errorf("jwks: fetch %s: reading body: %w", safeurl.String(u), err)
	}
	if int64(len(body)) > s.o.MaxBodySize {
		return nil, nil, fmt.Errorf("jwks: fetch %s: response larger than %d bytes", safeurl.String(u), s.o.MaxBodySize)
	}
	return body, resp.Header, nil
}

func (s *RemoteKeySet) discoveryURL() string { return discovery.URL(s.issuer) }

// discover reads the issuer's discovery document (internal/discovery's
// issuer rule) and returns its jwks_uri.
func (s *RemoteKeySet) discover(ctx context.Context) (string, error) {
	doc, err := discovery.Read(ctx, s.issuer, func(ctx context.Context, u string) ([]byte, error) {
		body, _, err := s.get(ctx, u, false)
		return body, err
	})
	if err != nil {
		return "", fmt.Errorf("jwks: discovery: %w", err)
	}
	if err := checkURL(doc.JWKSURL, s.o.InsecureAllowHTTP); err != nil {
		return "", fmt.Errorf("jwks: discovery: jwks_uri: %w", err)
	}
	return doc.JWKSURL, nil
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
// Its errors print the URL without user info or query.
func checkURL(s string, allowHTTP bool) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", safeurl.String(s))
	}
	if u.Scheme == "http" && !allowHTTP && !loopback.URL(u) {
		return fmt.Errorf("%q uses plain http off loopback (see KeySetOptions.InsecureAllowHTTP)", safeurl.String(s))
	}
	return nil
}
