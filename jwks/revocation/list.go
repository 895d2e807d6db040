package revocation

import (
	"context"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/audit"
	"github.com/idbridge/idbridge/internal/option"
	"github.com/idbridge/idbridge/jwks"
)

// DefaultMaxTokenLifetime is the default Options.MaxTokenLifetime: the
// longest lifetime of a Microsoft Entra ID access token (28 hours, for
// clients capable of continuous access evaluation).
const DefaultMaxTokenLifetime = 28 * time.Hour

// Bounds of Options.MaxTokenLifetime.
const (
	minTokenLifetime = 5 * time.Minute
	maxTokenLifetime = 7 * 24 * time.Hour
)

// pruneEvery bounds how often a Revoke or Merge sweeps expired entries.
const pruneEvery = time.Minute

// Options configure a [List]. [New] copies them.
type Options struct {
	// MaxTokenLifetime is the longest lifetime (exp - iat) of any token the
	// service accepts. An entry is dropped once every token it could match
	// has expired: MaxTokenLifetime plus the validator's largest leeway
	// (jwks.MaxLeeway) after its time. Zero means
	// DefaultMaxTokenLifetime; clamped to [5m, 7 days]. Too short a value
	// lets a revoked long-lived token through once its entry is gone.
	MaxTokenLifetime time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// OnRevoke, when set, is called after each entry that is new or later
	// than the one it replaces — from Revoke or Merge, so on every replica of
	// a shared list — to drop what caches hold for it: group caches
	// (rbac/graph Source.Forget, rbac/ldap Directory.ForgetMatching),
	// on-behalf-of tokens (token.Exchange.Forget); pass [Entry.Matches] to
	// the latter two. It runs with no lock held and must not block.
	OnRevoke func(Entry)
	// Audit receives revocation.added for each Revoke and token.rejected
	// (reason revoked, field revocation = the entry kind) for each token
	// [List.Check] refuses; nil means no audit.
	Audit slog.Handler
}

// List is an in-memory revocation list for one process. Revoke adds
// entries; Check and Lookup answer on the request path without locks or
// allocations for tokens that are not revoked. A List is safe for
// concurrent use by multiple goroutines; it runs no goroutine and needs no
// Close. For a list shared by the replicas of a service, see the redis
// subpackage.
type List struct {
	ttl   time.Duration // entry lifetime: MaxTokenLifetime + jwks.MaxLeeway
	now   func() time.Time
	audit *audit.Logger
	onRev func(Entry)
	seed  uint64 // random per list, so hashes differ between processes

	n      atomic.Int64           // entries in m; 0 skips every probe
	filter atomic.Pointer[filter] // replaced under mu, read without it

	w watchers // open streams to end on revocation

	mu        sync.RWMutex
	m         map[key]int64 // guarded by mu: key → revocation time, unix ns
	lastPrune time.Time     // guarded by mu
}

// New returns an empty List.
func New(optFns ...func(*Options)) (*List, error) {
	o := option.New(optFns)
	switch {
	case o.MaxTokenLifetime == 0:
		o.MaxTokenLifetime = DefaultMaxTokenLifetime
	case o.MaxTokenLifetime < 0:
		return nil, fmt.Errorf("revocation: %w: MaxTokenLifetime %v is negative", idbridge.ErrInvalidOptions, o.MaxTokenLifetime)
	}
	o.MaxTokenLifetime = min(max(o.MaxTokenLifetime, minTokenLifetime), maxTokenLifetime)
	if o.Now == nil {
		o.Now = time.Now
	}
	l := &List{
		ttl:   o.MaxTokenLifetime + jwks.MaxLeeway,
		now:   o.Now,
		audit: audit.New(o.Audit),
		onRev: o.OnRevoke,
		seed:  new(maphash.Hash).Sum64(),
		m:     map[key]int64{},
	}
	l.filter.Store(newFilter(0))
	return l, nil
}

// Lookup returns the kind of the first entry that matches c — a Token
// entry for its jti or uti, a Session entry for its sid, a Subject entry
// for its tid+oid or iss+sub when c was issued before the revocation or in
// the same second (iat has whole seconds; a token without iat counts as
// issued before) — or None. It is the request
// path's check: no lock, no allocation and no clock unless an identifier
// of c may be in the list.
func (l *List) Lookup(c *idbridge.Claims) Kind {
	if c == nil || l.n.Load() == 0 {
		return None
	}
	f := l.filter.Load()
	var maybe uint8
	probe := func(kind uint8, s string) {
		if s != "" && f.has(hashOf(l.seed, kind, s)) {
			maybe |= 1 << kind
		}
	}
	probe(kToken, c.ID)
	probe(kToken, c.UTI)
	probe(kSession, c.SessionID)
	probe(kEntra, c.ObjectID)
	probe(kSubject, c.Subject)
	if maybe == 0 {
		return None
	}
	return l.confirm(c, maybe)
}

// confirm looks up in the map the identifiers whose filter bits were set.
func (l *List) confirm(c *idbridge.Claims, maybe uint8) Kind {
	now := l.now().UnixNano()
	l.mu.RLock()
	defer l.mu.RUnlock()
	live := func(k key) (int64, bool) {
		at, ok := l.m[k]
		return at, ok && now < at+int64(l.ttl)
	}
	// A Token or Session entry is either for any issuer (a == "") or
	// scoped to c's issuer; one of another issuer never matches.
	scoped := func(kind uint8, id string) bool {
		if id == "" {
			return false
		}
		if _, ok := live(key{kind, "", id}); ok {
			return true
		}
		_, ok := live(key{kind, c.Issuer, id})
		return ok && c.Issuer != ""
	}
	if maybe&(1<<kToken) != 0 && (scoped(kToken, c.ID) || scoped(kToken, c.UTI)) {
		return Token
	}
	if maybe&(1<<kSession) != 0 && scoped(kSession, c.SessionID) {
		return Session
	}
	// iat has whole seconds, and so does the time of a revocation that came
	// in a security event: a token issued in the second of the revocation
	// may predate it, so it is refused too (a user signing in again a
	// second later is not).
	issuedBefore := func(at int64) bool { return c.IssuedAt.IsZero() || c.IssuedAt.Unix() <= at/int64(time.Second) }
	if maybe&(1<<kEntra) != 0 && c.TenantID != "" {
		if at, ok := live(key{kEntra, c.TenantID, c.ObjectID}); ok && issuedBefore(at) {
			return Subject
		}
	}
	if maybe&(1<<kSubject) != 0 && c.Issuer != "" {
		if at, ok := live(key{kSubject, c.Issuer, c.Subject}); ok && issuedBefore(at) {
			return Subject
		}
	}
	return None
}

// Check is [List.Lookup] as an error: nil, or a [*RevokedError] (class
// revoked) naming the entry kind, after recording token.rejected with
// reason revoked and the field revocation set to the kind. Call it after
// the token's signature and claims are validated and before authorization.
func (l *List) Check(ctx context.Context, c *idbridge.Claims) error {
	k := l.Lookup(c)
	if k == None {
		return nil
	}
	if l.audit.Enabled(ctx) {
		l.audit.Emit(ctx, rejected(c, k))
	}
	return errFor(k)
}

// rejected is the token.rejected event of a revoked token: who, which
// token (hashed), which kind of entry — never the token.
func rejected(c *idbridge.Claims, k Kind) audit.Event {
	id := c.ID
	if id == "" {
		id = c.UTI
	}
	return audit.Event{
		Name: audit.TokenRejected, Outcome: audit.Failure, Reason: ErrRevoked.Reason(),
		Issuer: c.Issuer, TenantID: c.TenantID, Subject: c.Subject, ObjectID: c.ObjectID,
		Client: c.Client(), TokenID: audit.TokenID(id),
		Attrs: []slog.Attr{slog.String("revocation", k.String())},
	}
}

// Revoke adds e to the list and records revocation.added. A zero e.At
// means now; an At more than jwks.MaxLeeway ahead is refused, and one so
// old that every token it could match has expired is accepted and not
// stored. Revoking what is already revoked keeps the later time. A
// malformed entry is refused with an error wrapping [ErrInvalidEntry].
func (l *List) Revoke(ctx context.Context, e Entry) error {
	e, err := l.Merge(e)
	if err != nil {
		return err
	}
	if l.audit.Enabled(ctx) {
		l.audit.Emit(ctx, added(e))
	}
	return nil
}

// added is the revocation.added audit event of e: the subject's
// identifiers, hashed token and session identifiers.
func added(e Entry) audit.Event {
	ev := audit.Event{
		Name: audit.RevocationAdded, Outcome: audit.Success,
		Attrs: []slog.Attr{slog.String("revocation", e.Kind.String()), slog.Time("revoked_at", e.At)},
	}
	switch e.Kind {
	case Subject:
		ev.Issuer, ev.Subject, ev.TenantID, ev.ObjectID = e.Issuer, e.Subject, e.TenantID, e.ObjectID
	case Token:
		ev.Issuer, ev.TokenID = e.Issuer, audit.TokenID(e.ID)
	case Session:
		ev.Issuer = e.Issuer
		ev.Attrs = append(ev.Attrs, slog.String("session_id", audit.TokenID(e.ID)))
	}
	return ev
}

// Merge adds e like Revoke but records nothing: it is for entries decided
// elsewhere (another replica, a store loaded at start) whose revocation was
// audited where it happened. It returns e as stored (normalized, At set).
func (l *List) Merge(e Entry) (Entry, error) {
	e, err := e.normalize()
	if err != nil {
		return Entry{}, err
	}
	now := l.now()
	switch {
	case e.At.IsZero():
		e.At = now
	case e.At.After(now.Add(jwks.MaxLeeway)):
		return Entry{}, fmt.Errorf("%w: revocation time is in the future", ErrInvalidEntry)
	}
	stored := l.add(e, now)
	if stored {
		l.notifyStreams(e, keyOf(e))
		if l.onRev != nil {
			l.onRev(e)
		}
	}
	if !stored {
		if at, ok := l.at(keyOf(e)); ok {
			e.At = at
		}
	}
	return e, nil
}

// at returns the time of the entry under k.
func (l *List) at(k key) (time.Time, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	at, ok := l.m[k]
	return time.Unix(0, at), ok
}

// add stores e unless the list holds a later revocation of the same thing
// or e can no longer match a valid token; it reports whether it stored e.
func (l *List) add(e Entry, now time.Time) bool {
	at := e.At.UnixNano()
	k := keyOf(e)
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastPrune) >= pruneEvery {
		l.pruneLocked(now)
	}
	if now.UnixNano() >= at+int64(l.ttl) {
		return false // nothing it could match is still valid
	}
	if old, ok := l.m[k]; ok {
		if old >= at {
			return false
		}
	} else if len(l.m) >= l.filter.Load().capacity() {
		l.m[k] = at
		l.rebuildLocked()
		return true
	}
	l.m[k] = at
	l.filter.Load().add(hashOf(l.seed, k.kind, k.b))
	l.n.Store(int64(len(l.m)))
	return true
}

// Prune drops the entries that can no longer match a valid token. Revoke
// and Merge do it at most once a minute; call Prune to free memory sooner.
func (l *List) Prune() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pruneLocked(l.now())
}

func (l *List) pruneLocked(now time.Time) {
	l.lastPrune = now
	cut := now.UnixNano() - int64(l.ttl)
	n := len(l.m)
	for k, at := range l.m {
		if at <= cut {
			delete(l.m, k)
		}
	}
	if len(l.m) < n {
		l.rebuildLocked()
	}
}

// rebuildLocked builds a filter sized for the map and swaps it in, so
// pruned entries stop costing probes and growth keeps false positives
// rare.
func (l *List) rebuildLocked() {
	f := newFilter(len(l.m))
	for k := range l.m {
		f.add(hashOf(l.seed, k.kind, k.b))
	}
	l.filter.Store(f)
	l.n.Store(int64(len(l.m)))
}

// EntryLifetime returns how long an entry lasts after its time:
// Options.MaxTokenLifetime plus jwks.MaxLeeway.
func (l *List) EntryLifetime() time.Duration { return l.ttl }

// Len returns the number of entries, including any expired ones not yet
// pruned.
func (l *List) Len() int { return int(l.n.Load()) }

// Entries returns a copy of the entries that can still match a token, for
// stores and diagnostics.
func (l *List) Entries() []Entry {
	now := l.now().UnixNano()
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]Entry, 0, len(l.m))
	for k, at := range l.m {
		if now >= at+int64(l.ttl) {
			continue
		}
		e := Entry{At: time.Unix(0, at)}
		switch k.kind {
		case kSubject:
			e.Kind, e.Issuer, e.Subject = Subject, k.a, k.b
		case kEntra:
			e.Kind, e.TenantID, e.ObjectID = Subject, k.a, k.b
		case kToken:
			e.Kind, e.Issuer, e.ID = Token, k.a, k.b
		case kSession:
			e.Kind, e.Issuer, e.ID = Session, k.a, k.b
		}
		out = append(out, e)
	}
	return out
}
