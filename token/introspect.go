package token

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/audit"
	"github.com/idbridge/idbridge/internal/flight"
	"github.com/idbridge/idbridge/internal/option"
	"github.com/idbridge/idbridge/internal/reason"
	"github.com/idbridge/idbridge/internal/selfaudit"
	"github.com/idbridge/idbridge/jwks"
)

// Defaults and bounds of [IntrospectorOptions].
const (
	// defaultIntrospectionTimeout bounds one introspection request when
	// Options.Timeout is zero: a request waits for it, so it is shorter
	// than the token flows' default.
	defaultIntrospectionTimeout = 10 * time.Second
	// defaultIntrospectionCacheTTL is how long an active answer is reused
	// when CacheTTL is zero.
	defaultIntrospectionCacheTTL = 60 * time.Second
	// maxIntrospectionCacheTTL caps CacheTTL: a revoked token is accepted
	// for up to this long.
	maxIntrospectionCacheTTL = 10 * time.Minute
	// defaultInactiveCacheTTL is how long a refusal is reused when
	// InactiveCacheTTL is zero.
	defaultInactiveCacheTTL = 2 * time.Second
	// maxInactiveCacheTTL caps InactiveCacheTTL, so that a token the
	// server did not know yet (a replica behind) is not refused for long.
	maxInactiveCacheTTL = 10 * time.Second
)

// maxIntrospectedToken is the upper bound of MaxTokenSize.
const maxIntrospectedToken = 64 << 10

// ErrInactive means the authorization server answered active=false: the
// token was revoked, has expired, belongs to a disabled user, or is not
// one it issued (RFC 7662 does not say which). Its reason class is
// revoked; no retry helps.
var ErrInactive = reason.New(reason.Revoked, "token: token is not active")

// errInactive is the error every inactive answer returns; one value, so
// that a cached refusal costs no allocation.
var errInactive = fmt.Errorf("%w (introspection answered active=false)", ErrInactive)

// IntrospectorOptions configure an [Introspector]. In the embedded
// [Options], Timeout defaults to 10s.
type IntrospectorOptions struct {
	Options
	// Logger receives, at warning level, answers of the server that are
	// of no use (errors, unparsable bodies). Nil means none.
	Logger *slog.Logger
	// MaxEntries bounds the answer cache. Zero means 10000.
	MaxEntries int

	// Issuers are the accepted iss values, compared exactly. Required
	// unless SkipIssuerCheck: one endpoint may answer for several realms
	// or tenants, and the answer must be about a token of yours.
	Issuers []string
	// SkipIssuerCheck accepts a missing or any iss. Every token the
	// endpoint vouches for is then accepted, whichever realm or tenant
	// issued it. Set it only for servers that omit iss.
	SkipIssuerCheck bool

	// Audiences accepted in aud (your API's identifier). Required unless
	// SkipAudienceCheck: without it, a token the same server issued for
	// any other API is accepted here, so that API, or anyone who stole a
	// token sent to it, can replay it against yours.
	Audiences []string
	// SkipAudienceCheck accepts a missing or any aud, with the risk just
	// described. Set it only for servers that omit aud, and check
	// audience-like claims (client_id, scope) yourself.
	SkipAudienceCheck bool

	// Leeway tolerates clock skew for exp, nbf and iat. Zero means
	// jwks.DefaultLeeway, a negative value none; at most jwks.MaxLeeway.
	Leeway time.Duration

	// CacheTTL is how long an active answer is reused: a revoked token
	// keeps working for up to this long, the price of not asking the
	// server on every request. An answer is never reused past the token's
	// exp. Zero means 60s; a negative value
	// disables the cache; at most 10 minutes. The cache
	// holds at most MaxEntries answers and about 32 MiB.
	CacheTTL time.Duration
	// InactiveCacheTTL is how long a refusal (inactive, or a failed
	// issuer, audience or time check) is reused, which spares the server
	// a client retrying a dead token. Zero means 2s;
	// a negative value disables it; at most 10s. Failures
	// to reach the server are never cached.
	InactiveCacheTTL time.Duration

	// MaxTokenSize caps the token length in bytes, checked before the
	// token is hashed or sent. Zero means jwks.DefaultMaxTokenSize; at
	// most 64 KiB.
	MaxTokenSize int
}

// Introspector validates access tokens by asking the authorization
// server (OAuth 2.0 Token Introspection, RFC 7662), for tokens a resource
// server cannot verify itself: opaque tokens, or JWTs from a server that
// publishes no keys. Its Validate has the shape of jwks.Validator's, so
// middleware.Guard and rbac.Policy use it unchanged.
//
// The resource server authenticates as client c, with any [ClientAuth].
// Each Validate of a token not in the cache sends token and
// token_type_hint=access_token; concurrent calls for the same token share
// one request. Active answers are cached, keyed by the token's SHA-256,
// for CacheTTL (at most until exp); refusals for a few seconds.
//
// An Introspector is safe for concurrent use by multiple goroutines. Close
// it to cancel requests in flight.
type Introspector struct {
	c       Client
	url     string
	hc      *http.Client
	o       *config
	issuers []string
	auds    []string
	leeway  time.Duration
	ttl     time.Duration // <= 0: active answers are not cached
	negTTL  time.Duration // <= 0: refusals are not cached
	maxSize int
	log     *audit.Logger
	shards  [introspectionShards]introspectionShard

	ctx    context.Context // cancelled by Close; requests run under it
	cancel context.CancelFunc
	once   sync.Once
	calls  flight.Group[[sha256.Size]byte, *introspection] // requests in flight, by token hash
}

// NewIntrospector returns an Introspector that asks introspectionURL,
// authenticating as client c. c needs an Auth: RFC 7662 servers answer
// only resource servers they know. c.TokenURL may be empty, except with
// [PrivateKeyJWT] without JWTOptions.Audience, whose assertions are
// addressed to it. Issuers and Audiences are required unless explicitly
// skipped; see [IntrospectorOptions].
func NewIntrospector(c Client, introspectionURL string, optFns ...func(*IntrospectorOptions)) (*Introspector, error) {
	opt := option.New(optFns)
	o, err := resolve([]func(*IntrospectorOptions){func(o *IntrospectorOptions) { *o = opt }})
	if err != nil {
		return nil, err
	}
	if err := checkIntrospector(c, introspectionURL, &opt, o); err != nil {
		return nil, err
	}
	i := &Introspector{
		c: c, url: introspectionURL, hc: noRedirects(o.HTTPClient), o: o,
		issuers: slices.Clone(opt.Issuers), auds: slices.Clone(opt.Audiences),
		log: audit.New(o.Audit),
	}
	i.leeway, i.ttl, i.negTTL, i.maxSize = opt.Leeway, opt.CacheTTL, opt.InactiveCacheTTL, opt.MaxTokenSize
	option.Limit(&i.leeway, jwks.DefaultLeeway, jwks.MaxLeeway)
	option.Limit(&i.ttl, defaultIntrospectionCacheTTL, maxIntrospectionCacheTTL)
	option.Limit(&i.negTTL, defaultInactiveCacheTTL, maxInactiveCacheTTL)
	option.Positive(&i.maxSize, jwks.DefaultMaxTokenSize)
	i.maxSize = min(i.maxSize, maxIntrospectedToken)
	perShard := max(1, (o.MaxEntries+introspectionShards-1)/introspectionShards)
	for s := range i.shards {
		i.shards[s].entries = map[[sha256.Size]byte]*introspection{}
		i.shards[s].max = perShard
		i.shards[s].maxBytes = maxIntrospectionCacheBytes / introspectionShards
	}
	i.ctx, i.cancel = context.WithCancel(context.Background())
	return i, nil
}

// checkIntrospector refuses a client, endpoint or options an Introspector
// cannot work with.
func checkIntrospector(c Client, introspectionURL string, opt *IntrospectorOptions, o *config) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{errInvalidOptions}, args...)...)
	}
	switch {
	case c.ID == "":
		return bad("client ID is required")
	case c.Auth == nil:
		return bad("introspection needs client authentication (RFC 7662 section 2.1)")
	}
	if c.TokenURL != "" {
		if err := checkEndpoint("token endpoint", c.TokenURL, o); err != nil {
			return err
		}
	} else if ja, ok := c.Auth.(*jwtAuth); ok && ja.o.Audience == "" {
		return bad("PrivateKeyJWT needs Client.TokenURL or JWTOptions.Audience as the assertion's audience")
	}
	if err := checkEndpoint("introspection endpoint", introspectionURL, o); err != nil {
		return err
	}
	if err := checkRequired("Issuers", opt.Issuers, "SkipIssuerCheck", opt.SkipIssuerCheck); err != nil {
		return err
	}
	return checkRequired("Audiences", opt.Audiences, "SkipAudienceCheck", opt.SkipAudienceCheck)
}

// checkRequired refuses a list that is both given and skipped, neither,
// or holds an empty string.
func checkRequired(name string, list []string, skipName string, skip bool) error {
	switch {
	case skip && len(list) > 0:
		return fmt.Errorf("%w: both %s and %s are set", errInvalidOptions, name, skipName)
	case !skip && len(list) == 0:
		return fmt.Errorf("%w: %s is required (or %s)", errInvalidOptions, name, skipName)
	case slices.Contains(list, ""):
		return fmt.Errorf("%w: %s must not contain empty strings", errInvalidOptions, name)
	}
	return nil
}

// Format prints the endpoint only: never the client's credential or a
// cached answer.
func (i *Introspector) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "token.Introspector(%s)", i.url)
}

// The guard of package middleware learns through selfaudit that an
// introspector with Options.Audit records token.validated and
// token.rejected itself, so it does not record them again.
func init() {
	selfaudit.Register(func(v any) (bool, bool) {
		i, ok := v.(*Introspector)
		return ok && i != nil && i.log.Enabled(context.Background()), ok
	})
}

// Close cancels requests in flight and waits for them; their callers get
// [idbridge.ErrClosed]. Answers already cached are still served, so requests in
// flight during shutdown complete. Close is idempotent and returns nil.
func (i *Introspector) Close() error {
	i.once.Do(func() {
		i.cancel()
		i.calls.Close()
	})
	return nil
}

// Validate returns the claims of an active access token, or an error
// wrapping one sentinel: [ErrInactive] (revoked), jwks.ErrIssuer,
// jwks.ErrAudience, jwks.ErrExpired, jwks.ErrNotYetValid,
// jwks.ErrIssuedInFuture, jwks.ErrMissingClaim, jwks.ErrType (a refresh or
// ID token), jwks.ErrMalformed or jwks.ErrTooLarge for the token itself,
// [ErrIdPUnavailable] when the server gave no usable answer (network,
// 5xx, a refused client authentication, an unparsable body), or
// [idbridge.ErrClosed]. A call whose ctx ends returns an error wrapping ctx.Err().
//
// The claims are shared with the cache: treat them as read-only. They are
// decoded from the response with idbridge.ParseClaims, so Claims.Get returns
// any member of it, extensions such as "department" or "xms_*" included
// (rbac claim conditions see them), and MarshalJSON the response, with a
// list claim sent as one string turned into an array. Claims.Header is
// empty: there is no JWS header.
func (i *Introspector) Validate(ctx context.Context, token string) (*idbridge.Claims, error) {
	var start time.Time
	auditing := i.log.Enabled(ctx)
	if auditing {
		start = time.Now()
	}
	if token == "" {
		err := &jwks.ValidationError{Err: jwks.ErrMalformed, Detail: "empty token"}
		i.emit(ctx, auditing, nil, err, "", start)
		return nil, err
	}
	if len(token) > i.maxSize {
		err := &jwks.ValidationError{Err: jwks.ErrTooLarge, Detail: "token of " + strconv.Itoa(len(token)) + " bytes"}
		i.emit(ctx, auditing, nil, err, "", start)
		return nil, err
	}
	// The token is only read, never kept: hashing it in place spares a
	// copy on the hot path.
	key := sha256.Sum256(unsafe.Slice(unsafe.StringData(token), len(token)))
	if res := i.cached(&key); res != nil {
		i.emit(ctx, auditing, res.label, res.err, res.tokenID, start)
		return res.claims, res.err
	}
	res, err := i.flight(ctx, &key, token)
	if err != nil {
		i.emit(ctx, auditing, nil, err, hashID(&key), start)
		return nil, err
	}
	i.emit(ctx, auditing, res.label, res.err, res.tokenID, start)
	return res.claims, res.err
}

// emit records token.validated or token.rejected.
func (i *Introspector) emit(ctx context.Context, auditing bool, c *idbridge.Claims, err error, tokenID string, start time.Time) {
	if !auditing {
		return
	}
	e := audit.Event{Name: audit.TokenValidated, Outcome: audit.Success, TokenID: tokenID, Duration: time.Since(start)}
	if err != nil {
		e.Name, e.Outcome, e.Reason = audit.TokenRejected, audit.Failure, reason.Of(err)
	}
	if c != nil {
		// The server authenticated the answer, so its identity fields
		// label even a rejection (a token for another API, say).
		e.Issuer, e.TenantID, e.Subject, e.ObjectID, e.Client = c.Issuer, c.TenantID, c.Subject, c.ObjectID, c.Client()
		if err == nil {
			e.Roles = c.Roles
		}
	}
	i.log.Emit(ctx, e)
}
