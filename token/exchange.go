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
// oldest keys are dropped beyond Options.MaxEntries, expired ones first.
//
// An Exchange is safe for concurrent use by multiple goroutines. Call Close
// to stop its goroutines.
type Exchange struct {
	r   *requester
	obo bool
	o   *Options
	log *audit.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	mu      sync.Mutex
	entries map[exchangeKey]*entry // guarded by mu
	order   []exchangeKey          // guarded by mu: keys, oldest first
	closed  bool                   // guarded by mu
}

// NewOnBehalfOf returns Entra's on-behalf-of flow for client c (a
// confidential client): the jwt-bearer grant with
// requested_token_use=on_behalf_of.
func NewOnBehalfOf(c Client, optFns ...func(*Options)) (*Exchange, error) {
	return newExchange(c, true, optFns)
}

// NewTokenExchange returns the RFC 8693 token exchange for client c. Put
// "audience", "resource", "requested_token_type" or "subject_token_type"
// (default [TokenTypeAccessToken]) in Options.Params as the IdP requires.
func NewTokenExchange(c Client, optFns ...func(*Options)) (*Exchange, error) {
	return newExchange(c, false, optFns)
}

func newExchange(c Client, obo bool, optFns []func(*Options)) (*Exchange, error) {
	o, err := newOptions(optFns)
	if err != nil {
		return nil, err
	}
	r, err := newRequester(c, o)
	if err != nil {
		return nil, err
	}
	if obo && c.Auth == nil {
		return nil, fmt.Errorf("%w: on-behalf-of needs a confidential client", ErrInvalidOptions)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Exchange{
		r: r, obo: obo, o: o, log: audit.New(o.Audit),
		ctx: ctx, cancel: cancel, entries: map[exchangeKey]*entry{},
	}, nil
}

// Token returns a token for scopes on behalf of the holder of
// subjectToken, from the cache when possible.
func (x *Exchange) Token(ctx context.Context, subjectToken string, scopes []string) (*Token, error) {
	if subjectToken == "" {
		return nil, fmt.Errorf("%w: empty subject token", ErrInvalidOptions)
	}
	if len(subjectToken) > maxSubjectToken {
		return nil, fmt.Errorf("%w: subject token of %d bytes exceeds %d", ErrInvalidOptions, len(subjectToken), maxSubjectToken)
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
	defer x.mu.Unlock()
	if x.closed {
		return nil, ErrClosed
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
	return e, nil
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
			continue
		}
		kept = append(kept, k)
	}
	x.order = kept
	for len(x.entries) >= x.o.MaxEntries && len(x.order) > 0 {
		delete(x.entries, x.order[0])
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
