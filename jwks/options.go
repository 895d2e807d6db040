package jwks

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/idbridge/idbridge/internal/safeurl"
)

// Defaults and bounds applied by [NewValidator].
const (
	DefaultLeeway       = 60 * time.Second // clock skew tolerated for exp, nbf and iat
	MaxLeeway           = 5 * time.Minute  // upper bound of Options.Leeway
	DefaultMaxTokenSize = 16 << 10         // bytes; Entra tokens with many claims stay under 8 KiB
)

// Options configure a [Validator]. NewValidator copies them; changing the
// struct afterwards has no effect.
type Options struct {
	// Issuers are the trusted issuers, each with its key set. Required.
	// A token's iss selects one before any network call, so a token from an
	// unknown issuer never causes a fetch.
	Issuers []Issuer
	// Audiences accepted in aud (your API's client ID and/or App ID URI).
	// Required: validating a token without checking its audience accepts
	// tokens minted for any other API of the same IdP.
	Audiences []string
	// Algorithms is the alg allow-list, for example {"RS256"}. Required.
	// "none" and HMAC algorithms are refused: with public keys they only
	// enable forgeries.
	Algorithms []string
	// Leeway tolerates clock skew for exp, nbf and iat. Zero means
	// DefaultLeeway, a negative value means none; clamped to MaxLeeway.
	Leeway time.Duration
	// MaxAge, when positive, bounds a token's age by its iat: iat becomes
	// required, a token issued more than MaxAge (plus Leeway) ago is
	// refused with ErrExpired, and exp becomes optional (still checked when
	// present). It is for Security Event Tokens (RFC 8417), which carry iat
	// and no exp; access tokens should keep the default, zero: exp required.
	MaxAge time.Duration
	// MaxTokenSize caps the token length in bytes, checked before any
	// parsing. Zero means DefaultMaxTokenSize.
	MaxTokenSize int
	// Types, when set, are the accepted header typ values, such as
	// {"at+jwt"} (RFC 9068) or {"JWT"}; compared case-insensitively with an
	// optional "application/" prefix. Empty means typ is not checked.
	Types []string
	// Tenants, when set, is a tenant (tid) allow-list applied to every token.
	Tenants []string
	// SkipTenantCheck allows an issuer template with {tenantid} and no
	// tenant allow-list. Without an allow-list, any Entra tenant in the
	// world — including one an attacker creates for free — can mint tokens
	// your API accepts. Set it only if you check TenantID yourself.
	SkipTenantCheck bool
	// Cache enables the verified-token cache; nil disables it.
	Cache *CacheOptions
	// KeySet configures the key sets the validator creates for issuers given
	// by JWKSURL or discovery. HTTPClient, Now, Audit and Logger default to
	// the validator's.
	KeySet KeySetOptions
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// HTTPClient is used for discovery and JWKS fetches; nil means a client
	// with default settings (each fetch still has its own timeout).
	HTTPClient *http.Client
	// Audit receives token.validated and token.rejected events; nil means
	// no audit.
	Audit slog.Handler
	// Logger receives operational problems of the key sets the validator
	// creates (a JWKS refresh failing, then recovering; unknown-kid
	// refreshes throttled), whether or not Audit is set; nil means none.
	// KeySet.Logger, when set, takes precedence.
	Logger *slog.Logger
}

// Issuer is one trusted issuer and where its keys come from. Exactly one of
// Keys and JWKSURL may be set; when both are empty the validator discovers
// the JWKS URL from Issuer's OpenID discovery document.
type Issuer struct {
	// Issuer is the exact iss value, or a template containing {tenantid}
	// (Entra multi-tenant), which is replaced by the token's tid and then
	// compared exactly.
	Issuer string
	// Keys is the key set to verify this issuer's tokens. The caller owns it.
	Keys KeySet
	// JWKSURL makes the validator create (and own, and Close) a remote key
	// set. Issuers with the same JWKSURL share one key set. It may carry
	// user info or a query secret (a SAS signature): they are never printed.
	JWKSURL string
	// Tenants is a tenant allow-list for this issuer, applied in addition to
	// Options.Tenants.
	Tenants []string

	err error // why Entra or EntraAPI refused their input; NewValidator returns it
	// entraPeer is set by Entra and EntraAPI: the issuer of the other token
	// version (v1.0/v2.0) of the same tenant and authorities, whose keys
	// also verify this issuer's tokens.
	entraPeer string
}

// CacheOptions bound the verified-token cache. A hit re-checks exp and nbf
// against the clock and returns the same *Claims without verifying again;
// the cache section of the package documentation says when entries are
// dropped.
type CacheOptions struct {
	// MaxEntries caps the number of cached tokens. Zero means 10000.
	MaxEntries int
	// MaxBytes caps the memory held by cached claims, approximately. Zero
	// means 32 MiB.
	MaxBytes int64
}

// String describes is without the secrets its URLs may carry, so that %v
// of an Issuer, or of Options, prints no user info or query.
func (is Issuer) String() string {
	var b strings.Builder
	b.WriteString("{Issuer:")
	b.WriteString(safeurl.String(is.Issuer))
	if is.JWKSURL != "" {
		b.WriteString(" JWKSURL:")
		b.WriteString(safeurl.String(is.JWKSURL))
	}
	if is.Keys != nil {
		fmt.Fprintf(&b, " Keys:%T", is.Keys)
	}
	if len(is.Tenants) > 0 {
		fmt.Fprintf(&b, " Tenants:%v", is.Tenants)
	}
	b.WriteString("}")
	return b.String()
}

// GoString is the Go syntax of is without the secrets of its URLs, for %#v.
func (is Issuer) GoString() string {
	return fmt.Sprintf("jwks.Issuer{Issuer:%q, Keys:%#v, JWKSURL:%q, Tenants:%#v}",
		safeurl.String(is.Issuer), is.Keys, safeurl.String(is.JWKSURL), is.Tenants)
}

// DefaultUnknownKIDInterval is the least time between two unknown-kid
// refreshes when KeySetOptions.UnknownKIDInterval is zero.
const DefaultUnknownKIDInterval = time.Second

// The other key-set defaults applied by [NewKeySet] and [Discover]; their
// values are stated in the KeySetOptions fields' documentation.
const (
	defaultRefreshInterval    = time.Hour        // refresh period without cache headers
	defaultMinRefreshInterval = 5 * time.Minute  // lower bound for header-derived periods
	defaultMaxRefreshInterval = 24 * time.Hour   // upper bound for header-derived periods
	defaultUnknownKIDPerHour  = 60               // unknown-kid refreshes per hour for kids seen once
	defaultFetchTimeout       = 10 * time.Second // per discovery or JWKS request
	defaultMaxBodySize        = 1 << 20          // bytes per discovery or JWKS response
)

// KeySetOptions configure a [RemoteKeySet]. NewKeySet copies them.
type KeySetOptions struct {
	// HTTPClient fetches discovery documents and JWKS; nil means a default
	// client. Each fetch is bounded by FetchTimeout whatever the client's
	// own timeout.
	HTTPClient *http.Client
	// Now is the clock of the unknown-kid limits; nil means time.Now.
	Now func() time.Time
	// Audit receives jwks.refreshed and jwks.refresh_failed events.
	Audit slog.Handler
	// Logger receives operational problems: a refresh failing (Warn), the
	// first success after failures (Info), unknown-kid refreshes throttled
	// (Warn, at most once a minute). nil means none. URLs are printed
	// without user info or query.
	Logger *slog.Logger

	// RefreshInterval is the background refresh period when the JWKS
	// response carries no Cache-Control max-age or Expires. Zero means 1
	// hour.
	RefreshInterval time.Duration
	// MinRefreshInterval and MaxRefreshInterval bound the period derived
	// from response headers, so an IdP can neither make us poll it
	// constantly nor keep stale keys for days. Zero means the defaults: 5
	// minutes and 24 hours.
	MinRefreshInterval time.Duration
	// MaxRefreshInterval: see MinRefreshInterval.
	MaxRefreshInterval time.Duration
	// UnknownKIDInterval is the least time between two refreshes caused by
	// tokens whose kid is not in the set; it is also the longest such a
	// token waits for a refresh. Only these refreshes count: the first load
	// and background refreshes do not, so a key rotated at any moment is
	// fetched as soon as its first token arrives after a quiet period.
	// Refreshes that find no new key back off from this interval (see the
	// package documentation). Zero means DefaultUnknownKIDInterval; clamped
	// to [1s, 1h].
	UnknownKIDInterval time.Duration
	// UnknownKIDPerHour caps the refreshes per hour caused by kids seen
	// only once, such as a flood of random forged kids. Zero means
	// 60; clamped to [1, 3600].
	UnknownKIDPerHour int
	// FetchTimeout bounds each discovery or JWKS request, so a hanging IdP
	// cannot hold back later fetches. Zero means 10 s.
	FetchTimeout time.Duration
	// MaxBodySize caps a discovery or JWKS response. Zero means 1 MiB.
	MaxBodySize int64
	// InsecureAllowHTTP lets discovery and JWKS URLs use plain http on
	// hosts other than loopback. Without TLS anyone on the path can swap
	// the keys and forge every token; set it only behind a transport that
	// already authenticates the IdP (a service-mesh sidecar with mTLS).
	InsecureAllowHTTP bool
	// Lazy makes NewKeySet and Discover return at once and load the keys in
	// the background, so a service can start while its IdP is down; tokens
	// fail with ErrUnavailable until the first fetch succeeds, and
	// [RemoteKeySet.Ready] waits for it.
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
	def(&o.RefreshInterval, defaultRefreshInterval)
	def(&o.MinRefreshInterval, defaultMinRefreshInterval)
	def(&o.MaxRefreshInterval, defaultMaxRefreshInterval)
	def(&o.UnknownKIDInterval, DefaultUnknownKIDInterval)
	def(&o.FetchTimeout, defaultFetchTimeout)
	o.UnknownKIDInterval = min(max(o.UnknownKIDInterval, time.Second), time.Hour)
	if o.UnknownKIDPerHour <= 0 {
		o.UnknownKIDPerHour = defaultUnknownKIDPerHour
	}
	o.UnknownKIDPerHour = min(o.UnknownKIDPerHour, 3600)
	if o.MaxRefreshInterval < o.MinRefreshInterval {
		o.MaxRefreshInterval = o.MinRefreshInterval
	}
	o.RefreshInterval = min(max(o.RefreshInterval, o.MinRefreshInterval), o.MaxRefreshInterval)
	if o.MaxBodySize <= 0 {
		o.MaxBodySize = defaultMaxBodySize
	}
}
