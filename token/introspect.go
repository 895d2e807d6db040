package token

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
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
	// DefaultIntrospectionTimeout bounds one introspection request when
	// Options.Timeout is zero: a request waits for it, so it is shorter
	// than the token flows' default.
	DefaultIntrospectionTimeout = 10 * time.Second
	// DefaultIntrospectionCacheTTL is how long an active answer is reused
	// when CacheTTL is zero.
	DefaultIntrospectionCacheTTL = 60 * time.Second
	// MaxIntrospectionCacheTTL caps CacheTTL: a revoked token is accepted
	// for up to this long.
	MaxIntrospectionCacheTTL = 10 * time.Minute
	// DefaultInactiveCacheTTL is how long a refusal is reused when
	// InactiveCacheTTL is zero.
	DefaultInactiveCacheTTL = 2 * time.Second
	// MaxInactiveCacheTTL caps InactiveCacheTTL, so that a token the
	// server did not know yet (a replica behind) is not refused for long.
	MaxInactiveCacheTTL = 10 * time.Second
)

// maxIntrospectionBody caps what is read of an introspection response:
// claims of a token, even with hundreds of groups, fit well below it.
const maxIntrospectionBody = 256 << 10

// maxIntrospectedToken is the upper bound of MaxTokenSize.
const maxIntrospectedToken = 64 << 10

// introspectionShards spreads the cache over this many locks.
const introspectionShards = 16

// maxIntrospectionCacheBytes bounds the memory the cache holds, roughly:
// answers of users in hundreds of groups are tens of KiB each.
const maxIntrospectionCacheBytes = 32 << 20

// entryOverhead approximates what an answer costs beyond its JSON body.
const entryOverhead = 256

// ErrInactive means the authorization server answered active=false: the
// token was revoked, has expired, belongs to a disabled user, or is not
// one it issued (RFC 7662 does not say which). Its reason class is
// revoked; no retry helps.
var ErrInactive = reason.New(reason.Revoked, "token: token is not active")

// errInactive is the error every inactive answer returns; one value, so
// that a cached refusal costs no allocation.
var errInactive = fmt.Errorf("%w (introspection answered active=false)", ErrInactive)

// IntrospectorOptions configure an [Introspector]. In the embedded
// [Options], Timeout defaults to [DefaultIntrospectionTimeout].
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
	// exp. Zero means [DefaultIntrospectionCacheTTL]; a negative value
	// disables the cache; at most [MaxIntrospectionCacheTTL]. The cache
	// holds at most MaxEntries answers and about 32 MiB.
	CacheTTL time.Duration
	// InactiveCacheTTL is how long a refusal (inactive, or a failed
	// issuer, audience or time check) is reused, which spares the server
	// a client retrying a dead token. Zero means [DefaultInactiveCacheTTL];
	// a negative value disables it; at most [MaxInactiveCacheTTL]. Failures
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

// introspection is one answer, as cached and handed to the waiters of a
// request.
type introspection struct {
	claims  *idbridge.Claims // nil on failure
	label   *idbridge.Claims // what audit events name, even on failure
	err     error
	until   time.Time // zero: not cacheable
	tokenID string    // audit token_id
	size    int       // approximate memory held, for the cache bound
}

type introspectionShard struct {
	mu       sync.RWMutex
	entries  map[[sha256.Size]byte]*introspection // guarded by mu
	bytes    int                                  // guarded by mu: sum of entries' size
	max      int
	maxBytes int
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
	bad := func(format string, args ...any) (*Introspector, error) {
		return nil, fmt.Errorf("%w: "+format, append([]any{errInvalidOptions}, args...)...)
	}
	switch {
	case c.ID == "":
		return bad("client ID is required")
	case c.Auth == nil:
		return bad("introspection needs client authentication (RFC 7662 section 2.1)")
	}
	if c.TokenURL != "" {
		if err := checkEndpoint("token endpoint", c.TokenURL, o); err != nil {
			return nil, err
		}
	} else if ja, ok := c.Auth.(*jwtAuth); ok && ja.o.Audience == "" {
		return bad("PrivateKeyJWT needs Client.TokenURL or JWTOptions.Audience as the assertion's audience")
	}
	if err := checkEndpoint("introspection endpoint", introspectionURL, o); err != nil {
		return nil, err
	}
	switch {
	case opt.SkipIssuerCheck && len(opt.Issuers) > 0:
		return bad("both Issuers and SkipIssuerCheck are set")
	case !opt.SkipIssuerCheck && len(opt.Issuers) == 0:
		return bad("Issuers is required (or SkipIssuerCheck)")
	case slices.Contains(opt.Issuers, ""):
		return bad("Issuers must not contain empty strings")
	case opt.SkipAudienceCheck && len(opt.Audiences) > 0:
		return bad("both Audiences and SkipAudienceCheck are set")
	case !opt.SkipAudienceCheck && len(opt.Audiences) == 0:
		return bad("Audiences is required (or SkipAudienceCheck)")
	case slices.Contains(opt.Audiences, ""):
		return bad("Audiences must not contain empty strings")
	}
	i := &Introspector{
		c: c, url: introspectionURL, hc: noRedirects(o.HTTPClient), o: o,
		issuers: slices.Clone(opt.Issuers), auds: slices.Clone(opt.Audiences),
		log: audit.New(o.Audit),
	}
	i.leeway, i.ttl, i.negTTL, i.maxSize = opt.Leeway, opt.CacheTTL, opt.InactiveCacheTTL, opt.MaxTokenSize
	option.Limit(&i.leeway, jwks.DefaultLeeway, jwks.MaxLeeway)
	option.Limit(&i.ttl, DefaultIntrospectionCacheTTL, MaxIntrospectionCacheTTL)
	option.Limit(&i.negTTL, DefaultInactiveCacheTTL, MaxInactiveCacheTTL)
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
// list claim sent as one string turned into an array. KeyID, Algorithm
// and Type are empty: there is no JWS header.
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

// cached returns a still-valid answer for key, or nil.
func (i *Introspector) cached(key *[sha256.Size]byte) *introspection {
	s := &i.shards[key[0]%introspectionShards]
	s.mu.RLock()
	res := s.entries[*key]
	s.mu.RUnlock()
	if res == nil || !i.o.Now().Before(res.until) {
		return nil
	}
	return res
}

// store caches res until res.until. A full shard (by count or by bytes)
// first drops expired answers among a few it looks at, else one of them
// at random (map order), until res fits.
func (i *Introspector) store(key *[sha256.Size]byte, res *introspection) {
	now := i.o.Now()
	if res.until.IsZero() || !now.Before(res.until) {
		return
	}
	s := &i.shards[key[0]%introspectionShards]
	if res.size > s.maxBytes {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.entries[*key]; ok {
		delete(s.entries, *key)
		s.bytes -= old.size
	}
	for len(s.entries) > 0 && (len(s.entries) >= s.max || s.bytes+res.size > s.maxBytes) {
		var victim [sha256.Size]byte
		probes := 0
		for k, e := range s.entries {
			if probes == 0 || !now.Before(e.until) {
				victim = k
				if !now.Before(e.until) {
					break
				}
			}
			if probes++; probes >= 8 {
				break
			}
		}
		s.bytes -= s.entries[victim].size
		delete(s.entries, victim)
	}
	s.entries[*key] = res
	s.bytes += res.size
}

// flight returns the answer of the request in flight for key, starting
// one if there is none. The request runs detached from ctx, so that a
// caller who gives up does not fail the others; it is bounded by Timeout
// and cancelled by Close.
func (i *Introspector) flight(ctx context.Context, key *[sha256.Size]byte, token string) (*introspection, error) {
	k := *key
	res, err := i.calls.Do(ctx, k, func() (*introspection, error) {
		res := i.introspect(i.ctx, token, &k)
		warnIntrospection(i.ctx, i.o.Logger, res.err)
		i.store(&k, res) // before the call is forgotten: no gap between the two
		return res, nil
	})
	switch {
	case errors.Is(err, flight.ErrClosed):
		return nil, fmt.Errorf("%w: introspector closed", errClosed)
	case err != nil:
		return nil, fmt.Errorf("token: introspection: %w", err)
	}
	return res, nil
}

// introspect asks the server about token and checks the answer.
func (i *Introspector) introspect(ctx context.Context, token string, key *[sha256.Size]byte) *introspection {
	res := &introspection{tokenID: hashID(key), size: entryOverhead}
	form := url.Values{}
	for k, vs := range i.o.Params {
		form[k] = vs
	}
	form.Set("token", token)
	form.Set("token_type_hint", "access_token")
	h := http.Header{}
	used, err := i.c.Auth.authenticate(ctx, &i.c, form, h)
	if err != nil {
		res.err = i.closedOr(ctx, err)
		return res
	}
	body, status, hdr, err := i.post(ctx, form, h)
	if err != nil {
		res.err = i.closedOr(ctx, err)
		return res
	}
	if status != http.StatusOK {
		e := parseError(body, status, hdr, i.o.Now(), append(used, token))
		// Whatever the code, the API cannot validate any token until the
		// server or its own registration is fixed: not the caller's fault.
		res.err = fmt.Errorf("%w: introspection endpoint answered HTTP %d: %w", ErrIdPUnavailable, status, e)
		return res
	}
	if ct, _, _ := mime.ParseMediaType(hdr.Get("Content-Type")); ct == "application/token-introspection+jwt" {
		res.err = fmt.Errorf("%w: JWT introspection responses (RFC 9701) are not supported", ErrIdPUnavailable)
		return res
	}
	r, err := parseIntrospection(body)
	if err != nil {
		res.err = err
		return res
	}
	res.size += len(body)
	now := i.o.Now()
	if !r.active {
		res.err = errInactive
		if i.negTTL > 0 {
			res.until = now.Add(i.negTTL)
		}
		return res
	}
	c := &r.claims
	if id := firstNonEmpty(c.ID, c.UTI); id != "" {
		res.tokenID = audit.TokenID(id)
	}
	if err := i.check(r, now); err != nil {
		res.err, res.label = err, c
		if i.negTTL > 0 {
			res.until = now.Add(i.negTTL)
		}
		return res
	}
	res.claims, res.label = c, c
	if i.ttl > 0 {
		res.until = now.Add(i.ttl)
		if !c.ExpiresAt.IsZero() && c.ExpiresAt.Before(res.until) {
			res.until = c.ExpiresAt
		}
	}
	return res
}

// closedOr turns a failure caused by Close into errClosed.
func (i *Introspector) closedOr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w: introspection cancelled by Close", errClosed)
	}
	return err
}

// post sends form to the introspection endpoint and returns the capped
// body.
func (i *Introspector) post(ctx context.Context, form url.Values, h http.Header) ([]byte, int, http.Header, error) {
	return postForm(ctx, i.hc, i.o.Timeout, i.url, "introspection", maxIntrospectionBody, form, h)
}

// check applies the resource server's own checks to an active answer: the
// server vouches that the token is live, not that it is meant for us.
func (i *Introspector) check(r *introspected, now time.Time) error {
	c := &r.claims
	for _, t := range []string{r.tokenType, r.tokenUse, r.typ} {
		if notAccessToken(t) {
			return reject(jwks.ErrType, "token_type "+quoteCut(t)+" is not an access token")
		}
	}
	if len(i.issuers) > 0 {
		if c.Issuer == "" {
			return reject(jwks.ErrMissingClaim, "iss is required by the issuer check")
		}
		if !slices.Contains(i.issuers, c.Issuer) {
			return reject(jwks.ErrIssuer, "iss "+quoteCut(c.Issuer)+" is not trusted")
		}
	}
	if len(i.auds) > 0 && !slices.ContainsFunc(c.Audience, func(a string) bool { return slices.Contains(i.auds, a) }) {
		if len(c.Audience) == 0 {
			return reject(jwks.ErrAudience, "the answer has no aud")
		}
		return reject(jwks.ErrAudience, "no aud value is accepted")
	}
	lw := " (leeway " + i.leeway.String() + ")"
	if !c.ExpiresAt.IsZero() && !now.Before(c.ExpiresAt.Add(i.leeway)) {
		return reject(jwks.ErrExpired, "exp "+c.ExpiresAt.UTC().Format(time.RFC3339)+" is past"+lw)
	}
	if !c.NotBefore.IsZero() && now.Add(i.leeway).Before(c.NotBefore) {
		return reject(jwks.ErrNotYetValid, "nbf "+c.NotBefore.UTC().Format(time.RFC3339)+" is ahead"+lw)
	}
	if !c.IssuedAt.IsZero() && now.Add(i.leeway).Before(c.IssuedAt) {
		return reject(jwks.ErrIssuedInFuture, "iat "+c.IssuedAt.UTC().Format(time.RFC3339)+" is ahead"+lw)
	}
	return nil
}

// notAccessToken recognises the token types servers report for refresh
// and ID tokens (token_type, Hydra's token_use, Keycloak's typ): a
// resource server must not accept them as access tokens.
func notAccessToken(t string) bool {
	switch strings.ToLower(t) {
	case "refresh_token", "refresh", "offline", "id_token", "id",
		"urn:ietf:params:oauth:token-type:refresh_token", "urn:ietf:params:oauth:token-type:id_token":
		return true
	}
	return false
}

func reject(s *reason.Error, detail string) error {
	return &jwks.ValidationError{Err: s, Detail: "introspection: " + detail}
}

// quoteCut quotes a value from the answer, cut so that a long one cannot
// flood a log line.
func quoteCut(s string) string {
	if len(s) > 64 {
		s = strings.ToValidUTF8(s[:64], "") + "…"
	}
	return strconv.Quote(s)
}

// hashID is the audit token_id of a token without jti: the first 16 hex
// digits of its SHA-256, never the token.
func hashID(key *[sha256.Size]byte) string { return hex.EncodeToString(key[:8]) }

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

// introspected is a parsed introspection response.
type introspected struct {
	active                   bool
	claims                   idbridge.Claims
	tokenType, tokenUse, typ string
}

// listClaims are the list claims a server may send as a single string,
// which idbridge.ParseClaims refuses; see listsAsArrays.
var listClaims = []string{"groups", "roles", "amr", "wids", "acrs", "xms_cc"}

// parseIntrospection reads an RFC 7662 response with idbridge.ParseClaims, so
// the answer is decoded like a token payload (one JSON object, no
// duplicate member, the registered and Entra-style claims of their JSON
// types, null as absence) and Claims.Get returns every member, extensions
// included. On top of that: "active" must be a JSON boolean; a list claim
// (groups, roles, amr, ...) may be a single string; exp, iat and nbf must
// be non-negative and are read in whole seconds, 0 meaning absent; scope
// and client_id are read by jwks's claim table, as in a JWT (Scopes,
// ClientID, so Client); username is the preferred username when
// preferred_username is not; token_type, token_use and typ must be
// strings. Every error wraps ErrIdPUnavailable and quotes at most a
// member's name, cut short.
func parseIntrospection(body []byte) (*introspected, error) {
	fail := func(detail string) (*introspected, error) {
		return nil, fmt.Errorf("%w: introspection response %s", ErrIdPUnavailable, detail)
	}
	c, err := idbridge.ParseClaims(body)
	if err != nil {
		if fixed, ok := listsAsArrays(body); ok {
			c, err = idbridge.ParseClaims(fixed)
		}
	}
	if err != nil {
		var ve *idbridge.ParseError
		if errors.As(err, &ve) {
			return fail("is malformed: " + ve.Detail)
		}
		return fail("is malformed")
	}
	// member returns a member's raw JSON, nil when absent or null. Get is
	// unambiguous: ParseClaims refused duplicate members.
	member := func(name string) json.RawMessage {
		if raw, ok := c.Get(name); ok && string(raw) != "null" {
			return raw
		}
		return nil
	}
	r := &introspected{}
	switch string(member("active")) {
	case "true":
		r.active = true
	case "false":
	case "":
		return fail("has no active member")
	default:
		return fail("has an invalid \"active\"")
	}
	// scope and client_id are in jwks's claim table: ParseClaims read them
	// as the validator reads them in a JWT (Claims.Scopes, Claims.ClientID).
	var user string
	for _, m := range []struct {
		name string
		dst  *string
		saw  *bool
	}{
		{"username", &user, nil},
		{"token_type", &r.tokenType, nil}, {"token_use", &r.tokenUse, nil}, {"typ", &r.typ, nil},
	} {
		raw := member(m.name)
		if raw == nil {
			continue
		}
		v, ok := jsonString(raw)
		if !ok {
			return fail("has an invalid " + quoteCut(m.name))
		}
		*m.dst = v
		if m.saw != nil {
			*m.saw = true
		}
	}
	// jwks reads NumericDates of any sign, with fractions; RFC 7662 sends
	// whole seconds since the epoch, and some servers 0 for "never".
	for _, d := range []struct {
		name string
		dst  *time.Time
	}{{"exp", &c.ExpiresAt}, {"iat", &c.IssuedAt}, {"nbf", &c.NotBefore}} {
		raw := member(d.name)
		if raw == nil {
			continue
		}
		t, ok := jsonDate(raw)
		if !ok {
			return fail("has an invalid " + quoteCut(d.name))
		}
		*d.dst = t
	}
	if !r.active {
		// RFC 7662 section 2.2: nothing else of an inactive answer counts.
		return &introspected{}, nil
	}
	if c.PreferredUsername == "" {
		c.PreferredUsername = user
	}
	r.claims = *c
	return r, nil
}

// listsAsArrays rewrites the list claims of body that are a single JSON
// string into one-element arrays, so that ParseClaims accepts them (and
// Get returns them as the typed field reads them). It reports false when
// there is none, or body is not a JSON object; it checks nothing else,
// ParseClaims does.
func listsAsArrays(body []byte) ([]byte, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	var out []byte
	last := 0
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, false
		}
		name, _ := t.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, false
		}
		if len(raw) == 0 || raw[0] != '"' || !slices.Contains(listClaims, name) {
			continue
		}
		end := int(dec.InputOffset())
		start := end - len(raw)
		if start < last || string(body[start:end]) != string(raw) {
			return nil, false // not where expected: leave the body alone
		}
		out = append(out, body[last:start]...)
		out = append(out, '[')
		out = append(out, raw...)
		out = append(out, ']')
		last = end
	}
	if out == nil {
		return nil, false
	}
	return append(out, body[last:]...), true
}

func jsonString(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	return s, json.Unmarshal(raw, &s) == nil
}

// jsonDate reads a NumericDate. Zero (or less than a second) is read as
// absent, as some servers send it for tokens that do not expire.
func jsonDate(raw json.RawMessage) (time.Time, bool) {
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return time.Time{}, false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f < 0 || f > 1<<40 {
		return time.Time{}, false
	}
	if sec := int64(f); sec > 0 {
		return time.Unix(sec, 0).UTC(), true
	}
	return time.Time{}, true
}
