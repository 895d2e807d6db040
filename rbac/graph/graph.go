package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/idbridge/idbridge/internal/loopback"
	"github.com/idbridge/idbridge/internal/option"

	"golang.org/x/sync/singleflight"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/audit"
	"github.com/idbridge/idbridge/internal/reason"
	"github.com/idbridge/idbridge/token"
)

// The sentinels; every error of [Source.Groups] wraps one of them.
var (
	// ErrUnavailable: Graph could not be asked or refused to answer
	// (network, throttling beyond the retry budget, 4xx/5xx, token
	// failure, more groups than Graph returns: see [Error] with Code
	// Directory_ResultSizeLimitExceeded).
	ErrUnavailable = reason.New(reason.IdPUnavailable, "graph: group lookup failed")
	// ErrNoUser: the claims carry no oid (object ID) to look up.
	ErrNoUser = reason.New(reason.MissingClaim, "graph: claims carry no user object ID")
	// ErrTenant: the claims come from a tenant other than the one this
	// source holds an app token for.
	ErrTenant = reason.New(reason.Tenant, "graph: user from another tenant")
)

// Error is Graph's own error response ({"error":{"code","message"}}) with
// the HTTP status. It unwraps to Err, [ErrUnavailable].
type Error struct {
	Err        error         // the sentinel, [ErrUnavailable]
	Status     int           // HTTP status of Graph's answer
	Code       string        // e.g. "Request_ResourceNotFound", "Authorization_RequestDenied"
	Message    string        // Graph's message; never contains the app token
	RetryAfter time.Duration // from Retry-After on 429/503, else 0
}

// Error formats the status, code and message.
func (e *Error) Error() string {
	s := fmt.Sprintf("graph: getMemberObjects: HTTP %d", e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// Reason returns the reason class of Err.
func (e *Error) Reason() idbridge.Reason { return reason.Of(e.Err) }

// DefaultEndpoint is Microsoft Graph v1.0 in the global cloud. National
// clouds use their own host (for example https://graph.microsoft.us/v1.0).
const DefaultEndpoint = "https://graph.microsoft.com/v1.0"

// Defaults and bounds of [Options].
const (
	defaultTTL           = 5 * time.Minute
	defaultMaxEntries    = 10000
	defaultTimeout       = 10 * time.Second
	defaultMaxRetries    = 2
	defaultMaxRetryAfter = 10 * time.Second
	maxBody              = 4 << 20 // 11,000 IDs is under 500 KB
)

// Options configure a [Source]. They are copied at construction.
type Options struct {
	// Endpoint is the Graph base URL; "" means [DefaultEndpoint]. It must
	// be https, except for loopback hosts (tests).
	Endpoint string
	// HTTPClient sends the requests; nil means a client with no overall
	// timeout (each request is bounded by Timeout).
	HTTPClient *http.Client
	// AllGroups asks for every group type. By default only security groups
	// are returned (securityEnabledOnly: true), which is what the groups
	// claim carries with the usual "SecurityGroup" app setting.
	AllGroups bool
	// TTL is how long a user's groups are cached; 0 means 5 minutes,
	// negative disables caching. Clamped to at most 24h. A mover's new
	// groups take effect after at most TTL.
	TTL time.Duration
	// MaxEntries bounds the cache; 0 means 10,000.
	MaxEntries int
	// Timeout bounds one lookup including retries; 0 means
	// 10s.
	Timeout time.Duration
	// MaxRetries is how often a throttled (429/503/504) request is
	// retried; 0 means 2, negative means never.
	MaxRetries int
	// MaxRetryAfter is the longest Retry-After the source waits for; a
	// longer one fails at once. 0 means 10s.
	MaxRetryAfter time.Duration
	// Now is the clock for the cache; nil means time.Now.
	Now func() time.Time
	// Audit receives groups.resolved for each Graph lookup (one per user
	// however many callers wait; none for an answer from the cache) and
	// for claims refused before any request (reason tenant or
	// missing_claim); nil means no audit.
	Audit slog.Handler
}

// Source looks up group memberships in Microsoft Graph for one tenant. It
// is safe for concurrent use by multiple goroutines; it runs no goroutines
// of its own beyond in-flight lookups and needs no Close.
type Source struct {
	tenant string
	token  token.Source
	opts   Options
	base   string

	flight singleflight.Group

	mu    sync.Mutex
	cache map[string]entry // guarded by mu

	audit *audit.Logger
}

type entry struct {
	groups  []string
	expires time.Time
}

var guidRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// NewSource returns a source for users of tenantID (a GUID) that
// authenticates to Graph with the app-only access tokens of src, typically
// a client-credentials source for scope https://graph.microsoft.com/.default
// wrapped in token's cache: it is asked for each request that misses the
// group cache.
func NewSource(tenantID string, src token.Source, optFns ...func(*Options)) (*Source, error) {
	if !guidRe.MatchString(tenantID) {
		return nil, invalid("tenant ID must be a GUID")
	}
	if src == nil {
		return nil, invalid("a token source is required")
	}
	o := option.New(optFns)
	if err := o.check(); err != nil {
		return nil, err
	}
	return &Source{
		tenant: strings.ToLower(tenantID), token: src, opts: o,
		base: strings.TrimRight(o.Endpoint, "/"), cache: map[string]entry{},
		audit: audit.New(o.Audit),
	}, nil
}

// invalid is the error of NewSource given unusable options.
func invalid(format string, args ...any) error {
	return fmt.Errorf("graph: %w: "+format, append([]any{idbridge.ErrInvalidOptions}, args...)...)
}

// check validates the options and fills in their defaults.
func (o *Options) check() error {
	option.Default(&o.Endpoint, DefaultEndpoint)
	u, err := url.Parse(o.Endpoint)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return invalid("invalid endpoint %q", o.Endpoint)
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && loopback.Host(u.Hostname())) {
		return invalid("endpoint %q must use https", o.Endpoint)
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{}
	}
	option.Limit(&o.TTL, defaultTTL, 24*time.Hour)
	option.Positive(&o.MaxEntries, defaultMaxEntries)
	option.Positive(&o.Timeout, defaultTimeout)
	option.Limit(&o.MaxRetries, defaultMaxRetries, 0)
	option.Positive(&o.MaxRetryAfter, defaultMaxRetryAfter)
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// Groups returns the object IDs (lower case) of every group the user of c
// is a member of, directly or through nesting. It implements
// rbac.GroupSource. The slice is shared with the cache: do not modify it.
func (s *Source) Groups(ctx context.Context, c *idbridge.Claims) ([]string, error) {
	if c == nil || !guidRe.MatchString(c.ObjectID) {
		s.emit(ctx, c, nil, ErrNoUser, 0)
		return nil, ErrNoUser
	}
	if c.TenantID != "" && !strings.EqualFold(c.TenantID, s.tenant) {
		s.emit(ctx, c, nil, ErrTenant, 0)
		return nil, ErrTenant
	}
	oid := strings.ToLower(c.ObjectID)
	if g, ok := s.cached(oid); ok {
		return g, nil
	}
	// One request per user however many callers wait; it runs detached
	// from any one caller's cancellation and each caller leaves on its own
	// context.
	ch := s.flight.DoChan(oid, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.Timeout)
		defer cancel()
		start := s.opts.Now()
		g, err := s.fetch(fctx, oid)
		if err == nil {
			s.store(oid, g)
		}
		s.emit(ctx, c, g, err, s.opts.Now().Sub(start))
		return g, err
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.([]string), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
	}
}

// emit records one lookup (or refusal) as groups.resolved.
func (s *Source) emit(ctx context.Context, c *idbridge.Claims, g []string, err error, d time.Duration) {
	if !s.audit.Enabled(ctx) {
		return
	}
	ev := audit.Event{Name: audit.GroupsResolved, Outcome: audit.Success, Duration: d,
		Attrs: []slog.Attr{slog.String(idbridge.FieldSource, "graph")}}
	if err != nil {
		ev.Outcome, ev.Reason = audit.Failure, reason.Of(err)
		var e *Error
		if errors.As(err, &e) && e.Code != "" {
			ev.Attrs = append(ev.Attrs, slog.String(idbridge.FieldErrorCode, e.Code))
		}
	} else {
		ev.Attrs = append(ev.Attrs, slog.Int(idbridge.FieldGroups, len(g)))
	}
	if c != nil {
		ev.Issuer, ev.TenantID, ev.Subject, ev.ObjectID = c.Issuer, c.TenantID, c.Subject, c.ObjectID
	}
	s.audit.Emit(ctx, ev)
}

func (s *Source) cached(oid string) ([]string, bool) {
	if s.opts.TTL <= 0 {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.cache[oid]
	if !ok || !s.opts.Now().Before(e.expires) {
		return nil, false
	}
	return e.groups, true
}

func (s *Source) store(oid string, g []string) {
	if s.opts.TTL <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	if len(s.cache) >= s.opts.MaxEntries {
		for k, e := range s.cache {
			if !now.Before(e.expires) {
				delete(s.cache, k)
			}
		}
		// Still full: drop arbitrary entries (map order is random), which
		// costs a re-fetch, never a wrong answer.
		for k := range s.cache {
			if len(s.cache) < s.opts.MaxEntries {
				break
			}
			delete(s.cache, k)
		}
	}
	s.cache[oid] = entry{groups: g, expires: now.Add(s.opts.TTL)}
}

// Forget drops a user's cached groups, for a mover or leaver event that
// must take effect before the TTL.
func (s *Source) Forget(objectID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.cache, strings.ToLower(objectID))
}

func (s *Source) fetch(ctx context.Context, oid string) ([]string, error) {
	body := []byte(`{"securityEnabledOnly":true}`)
	if s.opts.AllGroups {
		body = []byte(`{"securityEnabledOnly":false}`)
	}
	endpoint := s.base + "/users/" + url.PathEscape(oid) + "/getMemberObjects"
	for attempt := 0; ; attempt++ {
		tok, err := s.appToken(ctx)
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		groups, gerr := s.do(req)
		var ge *Error
		if gerr == nil || !errors.As(gerr, &ge) || !retryable(ge.Status) || attempt >= s.opts.MaxRetries {
			return groups, gerr
		}
		if ge.RetryAfter > s.opts.MaxRetryAfter {
			return nil, gerr
		}
		t := time.NewTimer(ge.RetryAfter)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%w: waiting to retry: %w", gerr, ctx.Err())
		}
	}
}

// appToken asks the token source for an access token.
func (s *Source) appToken(ctx context.Context) (string, error) {
	t, err := s.token.Token(ctx)
	if err == nil && (t == nil || t.AccessToken == "") {
		err = errors.New("empty access token")
	}
	if err != nil {
		return "", fmt.Errorf("%w: app token: %w", ErrUnavailable, err)
	}
	return t.AccessToken, nil
}

func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
}

func (s *Source) do(req *http.Request) ([]string, error) {
	resp, err := s.opts.HTTPClient.Do(req)
	if err != nil {
		// The URL holds only the configured endpoint and the oid.
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading response: %w", ErrUnavailable, err)
	}
	if len(data) > maxBody {
		return nil, fmt.Errorf("%w: response larger than %d bytes", ErrUnavailable, maxBody)
	}
	if resp.StatusCode != http.StatusOK {
		e := &Error{Err: ErrUnavailable, Status: resp.StatusCode}
		var body struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(data, &body) == nil {
			e.Code, e.Message = clip(body.Error.Code, 100), clip(body.Error.Message, 300)
		}
		if retryable(resp.StatusCode) {
			e.RetryAfter = retryAfter(resp.Header.Get("Retry-After"))
		}
		return nil, e
	}
	return parseMemberObjects(data)
}

// parseMemberObjects reads a getMemberObjects response body: every value
// must be an object ID, and the whole list must be there.
func parseMemberObjects(data []byte) ([]string, error) {
	var ok struct {
		Value    []string `json:"value"`
		NextLink string   `json:"@odata.nextLink"`
	}
	if err := json.Unmarshal(data, &ok); err != nil {
		return nil, fmt.Errorf("%w: malformed response: %w", ErrUnavailable, err)
	}
	if ok.Value == nil {
		return nil, fmt.Errorf("%w: response has no value array", ErrUnavailable)
	}
	if ok.NextLink != "" {
		// getMemberObjects does not page: it returns every ID or fails
		// with Directory_ResultSizeLimitExceeded. A partial page could
		// leave out the very group a deny rule names, so fail closed.
		return nil, fmt.Errorf("%w: response is one page of several (@odata.nextLink), which getMemberObjects never sends", ErrUnavailable)
	}
	out := make([]string, 0, len(ok.Value))
	for _, id := range ok.Value {
		if !guidRe.MatchString(id) {
			return nil, fmt.Errorf("%w: response holds a value that is not an object ID", ErrUnavailable)
		}
		out = append(out, strings.ToLower(id))
	}
	return out, nil
}

// retryAfter reads delay-seconds (Graph's form); an HTTP date or garbage
// means "retry soon", one second.
func retryAfter(v string) time.Duration {
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	return time.Second
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
