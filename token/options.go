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

// Options tunes every constructor of this package. Each constructor takes
// optional functions that edit a copy of the defaults; the result is
// validated and clamped at construction and never written afterwards, so
// an Options value may be reused.
//
// Fields that a constructor does not use are ignored by it.
type Options struct {
	// HTTPClient sends requests to the IdP. Nil means a client with
	// Timeout. Redirects are never followed on token requests (a
	// redirect would carry secrets to another URL), whatever the
	// client's CheckRedirect says.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now. Tests inject one to move
	// through expiry without sleeping.
	Now func() time.Time
	// Audit receives token.issued, token.refreshed and
	// token.refresh_failed events from caching sources, and token.issued
	// for each sign-in completed by [AuthCode] and [Device]. Nil disables
	// audit. No event ever carries a token.
	Audit slog.Handler
	// Logger receives operational problems at warning level, whether or
	// not Audit is set: a renewal that failed (the IdP throttling with 429
	// or 503 and Retry-After, a network error, a refused grant), with the
	// reason class, HTTP status, OAuth error code, Entra trace ID, the
	// consecutive failures, when the next attempt is due and until when
	// the old token is still served; and an [Introspector] whose server
	// does not answer usefully. Nil means none. No record carries a token
	// or secret.
	Logger *slog.Logger
	// Timeout bounds each request to the IdP. Default 30s.
	Timeout time.Duration
	// Params are extra form parameters for every token request (for
	// example "resource" for Entra v1 or "claims" for a CAE challenge).
	// They cannot override the parameters the flow itself sets.
	Params url.Values
	// Tenant, when set, is the Entra tenant for [ClientFromEnvironment]
	// and [FromEnvironment] in place of AZURE_TENANT_ID, for a program
	// whose -tenant flag must win over the environment.
	Tenant string
	// ClientID, when set, is the client for [ClientFromEnvironment] and
	// [FromEnvironment] in place of AZURE_CLIENT_ID (a -client-id flag).
	ClientID string
	// InsecureAllowHTTP accepts http:// endpoints on hosts other than
	// loopback. Anyone on the network path can then read and replay every
	// secret and token; use it only inside a test network.
	InsecureAllowHTTP bool

	// RefreshWindow is how long before expiry a cached token is renewed in
	// the background. Zero means the larger of 5 minutes and 10% of the
	// token's lifetime. Whatever the setting, the window is at most half
	// the lifetime, so a short-lived token is not fetched on every call.
	RefreshWindow time.Duration
	// RefreshJitter spreads refreshes of many processes: each refresh
	// starts up to this fraction of the window earlier, at random.
	// Default 0.2; clamped to [0, 1].
	RefreshJitter float64
	// ExpiryMargin is how long before its expiry a token is no longer
	// handed out, for clock skew and transit. Default 30s, at most 10% of
	// the token's lifetime: its whole lifetime (from iat, when the access
	// token is a JWT), not what is left of it, so that an aged token is
	// not served to its last seconds.
	ExpiryMargin time.Duration
	// MinBackoff and MaxBackoff bound the exponential backoff (with equal
	// jitter) between failed fetches. A server's Retry-After is honoured
	// even when longer, up to one hour. Defaults 1s and 2m.
	MinBackoff, MaxBackoff time.Duration
	// MaxEntries bounds the per-subject caches of [Exchange]. Default
	// 10000; expired entries are dropped first.
	MaxEntries int
	// SecondLevel, when set, wraps the source of each token an [Exchange]
	// caches, so that the replicas of a service share it
	// (token/redisstore's Store.SecondLevel). key names the token: client,
	// token endpoint, a hash of the subject token and the scopes; never the
	// subject token itself.
	SecondLevel func(key string, src Source) Source

	// systemClock records that Now was left nil, so that the cache's hot
	// path can read the monotonic clock alone (half the cost of time.Now).
	systemClock bool
	// backoff is MinBackoff and MaxBackoff.
	backoff backoff.Policy
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

// newOptions applies optFns to a defaulted copy and validates the result.
func newOptions(optFns []func(*Options)) (*Options, error) {
	o := &Options{}
	option.Apply(o, optFns)
	if o.Params != nil {
		o.Params = cloneValues(o.Params)
	}
	if o.Now == nil {
		o.Now = time.Now
		o.systemClock = true
	}
	option.Positive(&o.Timeout, defaultTimeout)
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: o.Timeout}
	}
	if o.RefreshWindow < 0 {
		return nil, fmt.Errorf("%w: negative RefreshWindow", ErrInvalidOptions)
	}
	option.Limit(&o.RefreshJitter, defaultJitter, 1) // negative: no jitter
	option.Positive(&o.ExpiryMargin, defaultExpiryMargin)
	option.Positive(&o.MinBackoff, defaultMinBackoff)
	option.Positive(&o.MaxBackoff, defaultMaxBackoff)
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
	o.backoff = backoff.Policy{Min: o.MinBackoff, Max: o.MaxBackoff}
	option.Positive(&o.MaxEntries, defaultMaxEntries)
	return o, nil
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
