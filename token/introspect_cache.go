package token

import (
	"crypto/sha256"
	"sync"
	"time"

	"github.com/idbridge/idbridge"
)

// introspectionShards spreads the cache over this many locks.
const introspectionShards = 16

// maxIntrospectionCacheBytes bounds the memory the cache holds, roughly:
// answers of users in hundreds of groups are tens of KiB each.
const maxIntrospectionCacheBytes = 32 << 20

// entryOverhead approximates what an answer costs beyond its JSON body.
const entryOverhead = 256

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
