package saml

import (
	"sync"
	"time"
)

// defaultReplayCacheSize bounds the in-memory replay cache: assertions are
// kept until their NotOnOrAfter (about an hour for Entra), so it covers
// some 25 sign-ins a second.
const defaultReplayCacheSize = 100000

// ReplayCache records accepted assertion IDs so that each is accepted once.
// Consume must be atomic and safe for concurrent use; it returns an error
// matching [ErrReplayed] for an ID already recorded, and any other error
// when it cannot record (the assertion is then refused). A fleet shares
// one (in Redis, say) so that an assertion used on one replica is refused
// on the others.
type ReplayCache interface {
	Consume(id string, until time.Time) error
}

// MemoryReplayCache is a bounded in-process ReplayCache. When full of
// unexpired IDs it refuses new assertions ([ErrIdPUnavailable]) rather than
// forget one that could then be replayed. Filling it takes genuine signed
// assertions, so an attacker without the IdP's key cannot.
type MemoryReplayCache struct {
	mu    sync.Mutex
	seen  map[string]time.Time // guarded by mu
	max   int
	now   func() time.Time
	sweep time.Time // guarded by mu: next expiry sweep
}

// NewMemoryReplayCache returns a cache of at most max IDs (<= 0 means
// 100000) on the clock now (nil means time.Now).
func NewMemoryReplayCache(max int, now func() time.Time) *MemoryReplayCache {
	if max <= 0 {
		max = defaultReplayCacheSize
	}
	if now == nil {
		now = time.Now
	}
	return &MemoryReplayCache{seen: make(map[string]time.Time), max: max, now: now}
}

// Consume implements ReplayCache.
func (c *MemoryReplayCache) Consume(id string, until time.Time) error {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if exp, ok := c.seen[id]; ok && now.Before(exp) {
		return fail(ErrReplayed, "assertion ID seen before")
	}
	if len(c.seen) >= c.max || now.After(c.sweep) {
		for k, exp := range c.seen {
			if !now.Before(exp) {
				delete(c.seen, k)
			}
		}
		c.sweep = now.Add(time.Minute)
	}
	if len(c.seen) >= c.max {
		return fail(ErrIdPUnavailable, "replay cache full (%d unexpired assertions)", c.max)
	}
	c.seen[id] = until
	return nil
}

// Len returns the number of IDs held.
func (c *MemoryReplayCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}
