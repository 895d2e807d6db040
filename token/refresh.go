package token

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/idbridge/idbridge/internal/audit"
)

// RefreshStore keeps refresh tokens between uses, keyed by a name the
// application chooses (typically client ID plus user or session ID).
// Implementations must be safe for concurrent use; a store shared by
// several processes should make Store atomic per key. Keep the values
// encrypted at rest: a refresh token is a long-lived credential.
type RefreshStore interface {
	// Load returns the refresh token for key, or "" and a nil error
	// when there is none.
	Load(ctx context.Context, key string) (Secret, error)
	// Store replaces the refresh token for key.
	Store(ctx context.Context, key string, refreshToken Secret) error
	// Delete removes the refresh token for key, if any.
	Delete(ctx context.Context, key string) error
}

// SharedRefreshStore is a [RefreshStore] that several processes share (a
// service's replicas on one Redis, token/redisstore), for a refresh token
// the IdP rotates: two replicas that redeem the same refresh token at once
// would get invalid_grant for the second, or the whole token family
// revoked. [Refresh] finds it by type assertion and redeems through it
// instead of Load and Store.
type SharedRefreshStore interface {
	RefreshStore
	// Redeem returns key's tokens as of its current version when that
	// version is newer than seen (another process redeemed since this one
	// last looked) and its access token is still valid. Otherwise it calls
	// redeem with the current refresh token, while no other process
	// redeems key, and stores the rotated refresh token (the returned
	// token's RefreshToken, when not empty) with the access token under a
	// new version only if the version is still the one it read. The
	// returned token carries no refresh token; version is the one it
	// belongs to. An error of redeem is returned as is.
	Redeem(ctx context.Context, key string, seen uint64, redeem func(ctx context.Context, rt Secret) (*Token, error)) (tok *Token, version uint64, err error)
}

// MemoryStore is the in-memory [RefreshStore], the default. Its tokens are
// lost when the process ends, so users sign in again after a restart. It is
// safe for concurrent use by multiple goroutines.
type MemoryStore struct {
	mu sync.Mutex
	m  map[string]Secret // guarded by mu
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{m: map[string]Secret{}} }

// Format prints how many refresh tokens s holds, never the tokens: fmt
// would print the unexported map raw, without asking Secret.
func (s *MemoryStore) Format(f fmt.State, _ rune) {
	s.mu.Lock()
	n := len(s.m)
	s.mu.Unlock()
	fmt.Fprintf(f, "token.MemoryStore{%d refresh tokens}", n)
}

// Load implements RefreshStore.
func (s *MemoryStore) Load(_ context.Context, key string) (Secret, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[key], nil
}

// Store implements RefreshStore.
func (s *MemoryStore) Store(_ context.Context, key string, rt Secret) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]Secret{}
	}
	s.m[key] = rt
	return nil
}

// Delete implements RefreshStore.
func (s *MemoryStore) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

// Refresh obtains access tokens with a stored refresh token (RFC 6749
// section 6) and handles rotation: when the IdP returns a new refresh token,
// it is written to the store before the new access token is returned, so a
// crash can lose an access token but never the only valid refresh token.
// Refreshes are serialised, so the same refresh token is never sent twice
// concurrently (which a rotating IdP treats as token theft).
//
// The tokens it returns carry no refresh token: the store owns it, and only
// the token endpoint ever receives it. An invalid_grant answer deletes the
// stored token and returns an error matching [ErrSignInRequired].
//
// With Options.Audit each redemption records token.refreshed or
// token.refresh_failed, unless a [Cache] that audits wraps it (the Cache
// records them then).
//
// Wrap it in a [Cache]. It is safe for concurrent use by multiple
// goroutines.
type Refresh struct {
	r      *requester
	store  RefreshStore
	key    string
	scopes string
	sem    chan struct{} // one refresh at a time; a channel so waiters honour ctx

	mu       sync.Mutex
	seed     *Token    // guarded by mu: token to hand out before the first refresh
	seededAt time.Time // guarded by mu
	seen     uint64    // guarded by sem: last version of a SharedRefreshStore handed out

	sourceAudit
}

// NewRefresh returns a source that refreshes the token stored under key in
// store (nil means a new [MemoryStore]). scopes may be nil to keep the
// originally granted ones.
func NewRefresh(c Client, store RefreshStore, key string, scopes []string, optFns ...func(*RefreshOptions)) (*Refresh, error) {
	o, r, err := resolveClient(c, optFns)
	if err != nil {
		return nil, err
	}
	if key == "" {
		return nil, fmt.Errorf("%w: refresh store key is required", errInvalidOptions)
	}
	if store == nil {
		store = NewMemoryStore()
	}
	return &Refresh{r: r, store: store, key: key, scopes: strings.Join(scopes, " "), sem: make(chan struct{}, 1),
		sourceAudit: sourceAudit{log: audit.New(o.Audit)}}, nil
}

// Seed stores the refresh token of tok, just obtained by an interactive
// flow, and keeps its access token to be returned by the next Token call
// while it is not about to expire, so that signing in costs one request,
// not two. When a [Cache] wraps f and the user signs in again, call the
// Cache's Invalidate after Seed so that it drops the old token and error.
func (f *Refresh) Seed(ctx context.Context, tok *Token) error {
	if tok == nil || tok.RefreshToken == "" {
		return fmt.Errorf("%w: token has no refresh token (was offline_access requested?)", ErrSignInRequired)
	}
	if err := f.store.Store(ctx, f.key, Secret(tok.RefreshToken)); err != nil {
		return unavailable("storing refresh token", err)
	}
	seed := *tok
	seed.RefreshToken = ""
	f.mu.Lock()
	f.seed, f.seededAt = &seed, f.r.o.Now()
	f.mu.Unlock()
	return nil
}

// Token returns the seeded token if it is still valid, otherwise redeems
// the stored refresh token.
func (f *Refresh) Token(ctx context.Context) (*Token, error) {
	select {
	case f.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("token: waiting for refresh: %w", ctx.Err())
	}
	defer func() { <-f.sem }()

	f.mu.Lock()
	seed, seededAt := f.seed, f.seededAt
	f.seed = nil
	f.mu.Unlock()
	if seed != nil {
		// Hand the seed out only while it is not about to expire, by the
		// margin a Cache would apply to a token of its lifetime.
		now := f.r.o.Now()
		margin := min(f.r.o.ExpiryMargin, seed.Expiry.Sub(seededAt)/10)
		if seed.Valid(now.Add(margin)) {
			return seed, nil
		}
	}

	if ss, ok := f.store.(SharedRefreshStore); ok {
		return f.shared(ctx, ss)
	}
	rt, err := f.store.Load(ctx, f.key)
	if err != nil {
		return nil, unavailable("loading refresh token", err)
	}
	if rt == "" {
		return nil, fmt.Errorf("%w: no refresh token stored", ErrSignInRequired)
	}
	tok, err := f.redeem(ctx, rt)
	if err != nil {
		if errors.Is(err, ErrSignInRequired) {
			// Delete only the token we used: another process may have
			// rotated it meanwhile.
			if cur, lerr := f.store.Load(ctx, f.key); lerr == nil && cur == rt {
				_ = f.store.Delete(ctx, f.key)
			}
		}
		return nil, err
	}
	if tok.RefreshToken != "" && tok.RefreshToken != rt.Reveal() {
		if err := f.store.Store(ctx, f.key, Secret(tok.RefreshToken)); err != nil {
			return nil, unavailable("storing rotated refresh token", err)
		}
	}
	tok.RefreshToken = ""
	return tok, nil
}

// redeem sends rt to the token endpoint.
func (f *Refresh) redeem(ctx context.Context, rt Secret) (*Token, error) {
	if rt == "" {
		return nil, fmt.Errorf("%w: no refresh token stored", ErrSignInRequired)
	}
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt.Reveal()}}
	if f.scopes != "" {
		form.Set("scope", f.scopes)
	}
	start := time.Now()
	tok, err := f.r.token(ctx, form, rt.Reveal())
	f.emit(ctx, audit.TokenRefreshed, tok, err, time.Since(start))
	return tok, err
}

// shared redeems through a store other processes use too. A token another
// process obtained is taken only while it is not about to expire, by the
// margin a Cache would apply; otherwise the second call redeems.
func (f *Refresh) shared(ctx context.Context, ss SharedRefreshStore) (*Token, error) {
	for range 2 {
		tok, v, err := ss.Redeem(ctx, f.key, f.seen, f.redeem)
		if err != nil {
			return nil, unavailable("redeeming shared refresh token", err)
		}
		if v > f.seen {
			f.seen = v
		}
		now := f.r.o.Now()
		if tok != nil && tok.AccessToken != "" && tok.Valid(now.Add(min(f.r.o.ExpiryMargin, lifetime(tok, now)/10))) {
			tok.RefreshToken = ""
			return tok, nil
		}
	}
	return nil, fmt.Errorf("%w: shared refresh store returned an expired token", ErrIdPUnavailable)
}
