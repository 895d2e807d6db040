package token

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/idbridge/idbridge/internal/backoff"
	"github.com/idbridge/idbridge/internal/option"
)

// Each constructor of this package takes optional functions that edit a
// copy of its own options type; nil functions are ignored. The result is
// validated and clamped at construction and never written afterwards, so
// an options value may be reused. Every field of an options type is used
// by every constructor that takes it.

// Options are the request options of the sources that call an IdP's token
// endpoint: [NewClientCredentials], [NewDevice] and [NewAuthCode], and,
// embedded, [CachedOptions], [RefreshOptions], [ExchangeOptions] and
// [IntrospectorOptions].
type Options struct {
	// HTTPClient sends requests to the IdP. Nil means a client with
	// Timeout. Redirects are never followed on token requests (a
	// redirect would carry secrets to another URL), whatever the
	// client's CheckRedirect says.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now. Tests inject one to move
	// through expiry without sleeping.
	Now func() time.Time
	// Audit receives token.issued (and, from caching sources,
	// token.refreshed and token.refresh_failed) events, and token.issued
	// for each sign-in completed by [AuthCode] and [Device]. Nil disables
	// audit. No event ever carries a token.
	Audit slog.Handler
	// Timeout bounds each request to the IdP. Zero means 30s.
	Timeout time.Duration
	// Params are extra form parameters for every token request (for
	// example "resource" for Entra v1 or "claims" for a CAE challenge).
	// They cannot override the parameters the flow itself sets.
	Params url.Values
	// InsecureAllowHTTP accepts http:// endpoints on hosts other than
	// loopback. Anyone on the network path can then read and replay every
	// secret and token; use it only inside a test network.
	InsecureAllowHTTP bool
}

// Renewal are the knobs of a source that caches tokens and renews them
// ahead of expiry; [CacheOptions], [CachedOptions] and [ExchangeOptions]
// embed it.
type Renewal struct {
	// Logger receives operational problems at warning level, whether or
	// not Audit is set: a renewal that failed (the IdP throttling with 429
	// or 503 and Retry-After, a network error, a refused grant), with the
	// reason class, HTTP status, OAuth error code, Entra trace ID, the
	// consecutive failures, when the next attempt is due and until when
	// the old token is still served. Nil means none. No record carries a
	// token or secret.
	Logger *slog.Logger
	// RefreshWindow is how long before expiry a cached token is renewed in
	// the background. Zero means the larger of 5 minutes and 10% of the
	// token's lifetime. Whatever the setting, the window is at most half
	// the lifetime, so a short-lived token is not fetched on every call.
	RefreshWindow time.Duration
	// RefreshJitter spreads refreshes of many processes: each refresh
	// starts up to this fraction of the window earlier, at random.
	// Zero means 0.2, a negative value none; at most 1.
	RefreshJitter float64
	// ExpiryMargin is how long before its expiry a token is no longer
	// handed out, for clock skew and transit. Zero means 30s; at most 10%
	// of the token's lifetime: its whole lifetime (from iat, when the
	// access token is a JWT), not what is left of it, so that an aged
	// token is not served to its last seconds.
	ExpiryMargin time.Duration
	// MinBackoff and MaxBackoff bound the exponential backoff (with equal
	// jitter) between failed fetches. A server's Retry-After is honoured
	// even when longer, up to one hour. Zero means 1s and 2m.
	MinBackoff, MaxBackoff time.Duration
}

// CacheOptions configure [NewCache].
type CacheOptions struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Audit receives token.issued, token.refreshed and
	// token.refresh_failed events. Nil disables audit.
	Audit slog.Handler
	// Timeout bounds each fetch: a source still running after twice
	// Timeout is abandoned. Zero means 30s.
	Timeout time.Duration
	Renewal
}

// CachedOptions configure [NewCachedClientCredentials]: the requests of
// the source and the renewal of the cache over it.
type CachedOptions struct {
	Options
	Renewal
}

// RefreshOptions configure [NewRefresh].
type RefreshOptions struct {
	Options
	// ExpiryMargin is how long before its expiry an access token that
	// came with a refresh token (from [Refresh.Seed] or a shared store)
	// is no longer reused. Zero means 30s; at most 10% of the token's
	// lifetime.
	ExpiryMargin time.Duration
}

// ExchangeOptions configure [NewOnBehalfOf] and [NewTokenExchange].
type ExchangeOptions struct {
	Options
	Renewal
	// MaxEntries bounds the per-subject caches. Zero means 10000;
	// expired entries are dropped first.
	MaxEntries int
	// SecondLevel, when set, wraps the source of each token the Exchange
	// caches, so that the replicas of a service share it
	// (token/redisstore's Store.SecondLevel). key names the token: client,
	// token endpoint, a hash of the subject token and the scopes; never the
	// subject token itself.
	SecondLevel func(key string, src Source) Source
}

// DiscoverOptions configure [Discover].
type DiscoverOptions struct {
	// HTTPClient fetches the document. Nil means a client with Timeout.
	HTTPClient *http.Client
	// Timeout bounds the request. Zero means 30s.
	Timeout time.Duration
	// InsecureAllowHTTP accepts http:// endpoints off loopback; see
	// [Options].
	InsecureAllowHTTP bool
}

// EnvironmentOptions configure [ClientFromEnvironment].
type EnvironmentOptions struct {
	// Tenant, when set, is the Entra tenant in place of AZURE_TENANT_ID,
	// for a program whose -tenant flag must win over the environment.
	Tenant string
	// ClientID, when set, is the client in place of AZURE_CLIENT_ID (a
	// -client-id flag).
	ClientID string
	// Now is the clock of client assertions; nil means time.Now.
	Now func() time.Time
	// InsecureAllowHTTP accepts an http:// AZURE_AUTHORITY_HOST off
	// loopback; see [Options].
	InsecureAllowHTTP bool
}

// FromEnvironmentOptions configure [FromEnvironment]: Tenant and ClientID
// as in [EnvironmentOptions], and the cached source's options (whose Now
// and InsecureAllowHTTP also apply to the client).
type FromEnvironmentOptions struct {
	Tenant, ClientID string
	CachedOptions
}

// FileAssertionOptions configure [NewFileAssertion].
type FileAssertionOptions struct {
	// Now is the clock that judges the token's expiry; nil means time.Now.
	Now func() time.Time
}

const (
	defaultTimeout      = 30 * time.Second
	defaultMinWindow    = 5 * time.Minute
	defaultJitter       = 0.2
	defaultExpiryMargin = 30 * time.Second
	defaultMinBackoff   = time.Second
	defaultMaxBackoff   = 2 * time.Minute
	defaultMaxEntries   = 10000
)

// config is what the constructors resolve their options to: every knob,
// defaulted and clamped. Constructors fill only the fields their options
// type has; the others keep their defaults.
type config struct {
	HTTPClient        *http.Client
	Now               func() time.Time
	Audit             slog.Handler
	Timeout           time.Duration
	Params            url.Values
	Tenant, ClientID  string
	InsecureAllowHTTP bool
	Renewal           // Logger too
	MaxEntries        int
	SecondLevel       func(key string, src Source) Source

	// systemClock records that Now was left nil, so that the cache's hot
	// path can read the monotonic clock alone (half the cost of time.Now).
	systemClock bool
	// backoff is MinBackoff and MaxBackoff.
	backoff backoff.Policy
}

func (o *Options) apply(c *config) {
	c.HTTPClient, c.Now, c.Audit, c.Timeout = o.HTTPClient, o.Now, o.Audit, o.Timeout
	c.Params, c.InsecureAllowHTTP = o.Params, o.InsecureAllowHTTP
}

func (o *CacheOptions) apply(c *config) {
	c.Now, c.Audit, c.Timeout, c.Renewal = o.Now, o.Audit, o.Timeout, o.Renewal
}

func (o *CachedOptions) apply(c *config) {
	o.Options.apply(c)
	c.Renewal = o.Renewal
}

func (o *RefreshOptions) apply(c *config) {
	o.Options.apply(c)
	c.ExpiryMargin = o.ExpiryMargin
}

func (o *ExchangeOptions) apply(c *config) {
	o.Options.apply(c)
	c.Renewal, c.MaxEntries, c.SecondLevel = o.Renewal, o.MaxEntries, o.SecondLevel
}

func (o *EnvironmentOptions) apply(c *config) {
	c.Tenant, c.ClientID, c.Now, c.InsecureAllowHTTP = o.Tenant, o.ClientID, o.Now, o.InsecureAllowHTTP
}

func (o *FromEnvironmentOptions) apply(c *config) {
	o.CachedOptions.apply(c)
	c.Tenant, c.ClientID = o.Tenant, o.ClientID
}

func (o *FileAssertionOptions) apply(c *config) { c.Now = o.Now }

func (o *IntrospectorOptions) apply(c *config) {
	o.Options.apply(c)
	c.Logger, c.MaxEntries = o.Logger, o.MaxEntries
	if c.Timeout == 0 {
		c.Timeout = defaultIntrospectionTimeout
	}
}

func (o *DiscoverOptions) apply(c *config) {
	c.HTTPClient, c.Timeout, c.InsecureAllowHTTP = o.HTTPClient, o.Timeout, o.InsecureAllowHTTP
}

// applier is every options type of this package.
type applier interface{ apply(*config) }

// resolve applies optFns to a zero O, copies the result into a config and
// defaults, clamps and validates it.
func resolve[O any, P interface {
	*O
	applier
}](optFns []func(*O)) (*config, error) {
	o := option.New(optFns)
	c := &config{}
	P(&o).apply(c)
	return c, c.finish()
}

// resolveClient is resolve for the flows that talk to the token endpoint
// as client c: it also checks c against the options and builds the
// requester.
func resolveClient[O any, P interface {
	*O
	applier
}](c Client, optFns []func(*O)) (*config, *requester, error) {
	o, err := resolve[O, P](optFns)
	if err != nil {
		return nil, nil, err
	}
	r, err := newRequester(c, o)
	return o, r, err
}

// finish defaults, clamps and validates c.
func (c *config) finish() error {
	if c.Params != nil {
		c.Params = cloneValues(c.Params)
	}
	if c.Now == nil {
		c.Now = time.Now
		c.systemClock = true
	}
	option.Positive(&c.Timeout, defaultTimeout)
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: c.Timeout}
	}
	if c.RefreshWindow < 0 {
		return fmt.Errorf("%w: negative RefreshWindow", errInvalidOptions)
	}
	option.Limit(&c.RefreshJitter, defaultJitter, 1) // negative: no jitter
	option.Positive(&c.ExpiryMargin, defaultExpiryMargin)
	option.Positive(&c.MinBackoff, defaultMinBackoff)
	option.Positive(&c.MaxBackoff, defaultMaxBackoff)
	c.MaxBackoff = max(c.MaxBackoff, c.MinBackoff)
	c.backoff = backoff.Policy{Min: c.MinBackoff, Max: c.MaxBackoff}
	option.Positive(&c.MaxEntries, defaultMaxEntries)
	return nil
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
