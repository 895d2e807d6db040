package token

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/jwt"

	"github.com/idbridge/idbridge/internal/audit"
)

// Grant types and token types of the downstream flows.
const (
	grantJWTBearer     = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	grantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"

	// TokenTypeAccessToken is the RFC 8693 type of an OAuth access token,
	// the default subject_token_type.
	TokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
	// TokenTypeJWT is the RFC 8693 type of a JWT.
	TokenTypeJWT = "urn:ietf:params:oauth:token-type:jwt"
	// TokenTypeIDToken is the RFC 8693 type of an OpenID Connect ID token.
	TokenTypeIDToken = "urn:ietf:params:oauth:token-type:id_token"
)

// Exchange obtains tokens for calling a downstream API on behalf of the
// user whose token a service received: Entra's on-behalf-of flow
// ([NewOnBehalfOf]) or RFC 8693 token exchange ([NewTokenExchange]).
//
// Results are cached per incoming token (keyed by its SHA-256, never the
// token itself) and scope set, each key with the single flight, backoff and
// refresh window of [Cache]. Unlike Cache, a key is renewed in the
// background only when asked for inside its window, never by a timer: a
// user's downstream token is not worth renewing if the user has gone. The
// oldest keys are dropped beyond ExchangeOptions.MaxEntries, expired ones first.
// [Exchange.Forget] drops the entries of a revoked user, token or session.
//
// An Exchange is safe for concurrent use by multiple goroutines. Call Close
// to stop its goroutines.
type Exchange struct {
	r   *requester
	obo bool
	o   *config
	log *audit.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	mu      sync.Mutex
	entries map[exchangeKey]*entry // guarded by mu
	order   []exchangeKey          // guarded by mu: keys, oldest first
	closed  bool                   // guarded by mu
	// who is the identity of each entry's subject token, for Forget; a
	// key is absent when the token is not a JWT.
	who map[exchangeKey]*idbridge.Claims // guarded by mu
}

// NewOnBehalfOf returns Entra's on-behalf-of flow for client c (a
// confidential client): the jwt-bearer grant with
// requested_token_use=on_behalf_of.
func NewOnBehalfOf(c Client, optFns ...func(*ExchangeOptions)) (*Exchange, error) {
	return newExchange(c, true, optFns)
}

// NewTokenExchange returns the RFC 8693 token exchange for client c. Put
// "audience", "resource", "requested_token_type" or "subject_token_type"
// (default [TokenTypeAccessToken]) in Options.Params as the IdP requires.
func NewTokenExchange(c Client, optFns ...func(*ExchangeOptions)) (*Exchange, error) {
	return newExchange(c, false, optFns)
}

func newExchange(c Client, obo bool, optFns []func(*ExchangeOptions)) (*Exchange, error) {
	o, r, err := resolveClient(c, optFns)
	if err != nil {
		return nil, err
	}
	if obo && c.Auth == nil {
		return nil, fmt.Errorf("%w: on-behalf-of needs a confidential client", errInvalidOptions)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Exchange{
		r: r, obo: obo, o: o, log: audit.New(o.Audit),
		ctx: ctx, cancel: cancel, entries: map[exchangeKey]*entry{}, who: map[exchangeKey]*idbridge.Claims{},
	}, nil
}

// Token returns a token for scopes on behalf of the holder of
// subjectToken, from the cache when possible.
func (x *Exchange) Token(ctx context.Context, subjectToken string, scopes []string) (*Token, error) {
	if subjectToken == "" {
		return nil, fmt.Errorf("%w: empty subject token", errInvalidOptions)
	}
	if len(subjectToken) > maxSubjectToken {
		return nil, fmt.Errorf("%w: subject token of %d bytes exceeds %d", errInvalidOptions, len(subjectToken), maxSubjectToken)
	}
	e, err := x.entry(subjectToken, scopes)
	if err != nil {
		return nil, err
	}
	return e.token(ctx)
}

// Source returns a [Source] of tokens for scopes on behalf of the holder of
// subjectToken, for APIs (such as middleware transports) that take one.
func (x *Exchange) Source(subjectToken string, scopes []string) Source {
	scopes = slices.Clone(scopes)
	return SourceFunc(func(ctx context.Context) (*Token, error) {
		return x.Token(ctx, subjectToken, scopes)
	})
}

// Close stops background refreshes, cancels fetches in flight and waits
// for them. It is idempotent and always returns nil.
func (x *Exchange) Close() error {
	x.once.Do(func() {
		x.mu.Lock()
		x.closed = true
		for _, e := range x.entries {
			e.close()
		}
		x.mu.Unlock()
		x.cancel()
		x.wg.Wait()
	})
	return nil
}

// exchangeKey identifies a cache entry: the incoming token by its hash,
// never the token itself, and the scope set in canonical form.
type exchangeKey struct {
	sum   [sha256.Size]byte
	scope string
}

// maxSubjectToken bounds what an entry keeps, four times the largest token
// jwks accepts by default.
const maxSubjectToken = 64 << 10

// scopeSet is scopes sorted, without duplicates, space-separated; it
// allocates only when there are several scopes.
func scopeSet(scopes []string) string {
	switch len(scopes) {
	case 0:
		return ""
	case 1:
		return scopes[0]
	}
	for i := 1; i < len(scopes); i++ {
		if scopes[i-1] >= scopes[i] { // unsorted or repeated: canonicalise a copy
			scopes = slices.Compact(slices.Sorted(slices.Values(scopes)))
			break
		}
	}
	return strings.Join(scopes, " ")
}

func (x *Exchange) entry(subjectToken string, scopes []string) (*entry, error) {
	scope := scopeSet(scopes)
	key := exchangeKey{sha256.Sum256([]byte(subjectToken)), scope}

	x.mu.Lock()
	if e, ok := x.entries[key]; ok && !x.closed {
		x.mu.Unlock()
		return e, nil
	}
	x.mu.Unlock()
	who := subjectOf(subjectToken) // a miss: read the token outside the lock

	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return nil, fmt.Errorf("%w: source closed", errClosed)
	}
	if e, ok := x.entries[key]; ok {
		return e, nil
	}
	if len(x.entries) >= x.o.MaxEntries {
		x.evictLocked()
	}
	var src Source = SourceFunc(func(ctx context.Context) (*Token, error) {
		return x.fetch(ctx, subjectToken, scope)
	})
	if x.o.SecondLevel != nil {
		src = x.o.SecondLevel(x.r.client.ID+" "+x.r.client.TokenURL+" "+hex.EncodeToString(key.sum[:])+" "+scope, src)
	}
	e := newEntry(x.ctx, src, x.o, x.log, &x.wg)
	x.entries[key] = e
	x.order = append(x.order, key)
	if who != nil {
		x.who[key] = who
	}
	return e, nil
}

// subjectOf is who a subject token speaks for — iss, sub, tid, oid, jti,
// uti, sid and iat — read with the one JWT reader without verifying
// anything: the service validated the token before exchanging it, and
// Forget only drops entries by it. The strings are copied so that an entry
// does not keep the whole payload alive. nil for a token that is not a JWT.
func subjectOf(tok string) *idbridge.Claims {
	c, err := jwt.Parse(tok) // size bounded by Token
	if err != nil {
		return nil
	}
	return &idbridge.Claims{
		Issuer: strings.Clone(c.Issuer), Subject: strings.Clone(c.Subject),
		TenantID: strings.Clone(c.TenantID), ObjectID: strings.Clone(c.ObjectID),
		ID: strings.Clone(c.ID), UTI: strings.Clone(c.UTI), SessionID: strings.Clone(c.SessionID),
		IssuedAt: c.IssuedAt,
	}
}

// Forget drops the cached tokens obtained for every subject token whose
// identity match accepts, and returns how many entries it dropped. Call it
// when a user, a token or a session is revoked: the guard refuses the
// revoked token, so its downstream tokens would never be reused, but
// without Forget they stay in memory until evicted. With a revocation
// list, on every replica:
//
//	o.OnRevoke = func(e revocation.Entry) { obo.Forget(e.Matches) }
//
// match sees, for each entry, the claims Issuer, Subject, TenantID,
// ObjectID, ID, UTI, SessionID and IssuedAt of its subject token (read
// unverified when the entry was made; nothing else is set), and must not
// keep or modify them. Entries for subject tokens that are not JWTs are
// never matched. Copies in ExchangeOptions.SecondLevel stay until they expire:
// they are keyed by the revoked token's hash, which no caller that checks
// the list asks for again. Forget holds the cache's lock while it scans
// it: one call of match per entry.
func (x *Exchange) Forget(match func(*idbridge.Claims) bool) int {
	x.mu.Lock()
	defer x.mu.Unlock()
	n := 0
	for k, c := range x.who {
		if !match(c) {
			continue
		}
		if e, ok := x.entries[k]; ok {
			e.invalidate() // a caller holding e fetches afresh, never the dropped token
			delete(x.entries, k)
			n++
		}
		delete(x.who, k)
	}
	if n > 0 {
		x.order = slices.DeleteFunc(x.order, func(k exchangeKey) bool { _, ok := x.entries[k]; return !ok })
	}
	return n
}

// evictLocked drops expired entries, then the oldest, until there is room
// for one more.
func (x *Exchange) evictLocked() {
	now := x.o.Now()
	kept := x.order[:0]
	for _, k := range x.order {
		e := x.entries[k]
		if s := e.cur.Load(); (s == nil || !now.Before(s.expireAt)) && !e.busy.Load() {
			delete(x.entries, k)
			delete(x.who, k)
			continue
		}
		kept = append(kept, k)
	}
	x.order = kept
	for len(x.entries) >= x.o.MaxEntries && len(x.order) > 0 {
		delete(x.entries, x.order[0])
		delete(x.who, x.order[0])
		x.order = x.order[1:]
	}
}

func (x *Exchange) fetch(ctx context.Context, subjectToken, scope string) (*Token, error) {
	form := url.Values{}
	if x.obo {
		form.Set("grant_type", grantJWTBearer)
		form.Set("requested_token_use", "on_behalf_of")
		form.Set("assertion", subjectToken)
	} else {
		form.Set("grant_type", grantTokenExchange)
		form.Set("subject_token", subjectToken)
		if x.o.Params.Get("subject_token_type") == "" {
			form.Set("subject_token_type", TokenTypeAccessToken)
		}
	}
	if scope != "" {
		form.Set("scope", scope)
	}
	return x.r.token(ctx, form, subjectToken)
}
