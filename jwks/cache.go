package jwks

import (
	"sync"
	"unsafe"
)

const (
	defaultCacheEntries = 10000
	defaultCacheBytes   = 32 << 20
	cacheShards         = 16
)

// tokenCache is the verified-token cache: SHA-256 of the token → claims.
// It is sharded to keep lock contention low; each shard bounds its entries
// and approximate memory, evicting expired or retired-key entries first and
// otherwise arbitrary ones (map order), which is cheap and good enough for a
// cache whose entries all expire within a token lifetime.
type tokenCache struct {
	shards     [cacheShards]cacheShard
	maxEntries int
	maxBytes   int64
}

type cacheShard struct {
	mu    sync.RWMutex // guards m and bytes
	m     map[[32]byte]*Claims
	bytes int64
	_     [64]byte // keep shards on separate cache lines
}

func newTokenCache(o CacheOptions) *tokenCache {
	if o.MaxEntries <= 0 {
		o.MaxEntries = defaultCacheEntries
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = defaultCacheBytes
	}
	c := &tokenCache{
		maxEntries: max(o.MaxEntries/cacheShards, 1),
		maxBytes:   max(o.MaxBytes/cacheShards, 1),
	}
	for i := range c.shards {
		c.shards[i].m = map[[32]byte]*Claims{}
	}
	return c
}

func (tc *tokenCache) get(sum [32]byte) *Claims {
	s := &tc.shards[sum[0]%cacheShards]
	s.mu.RLock()
	c := s.m[sum]
	s.mu.RUnlock()
	return c
}

func (tc *tokenCache) del(sum [32]byte) {
	s := &tc.shards[sum[0]%cacheShards]
	s.mu.Lock()
	if c, ok := s.m[sum]; ok {
		delete(s.m, sum)
		s.bytes -= claimsSize(c)
	}
	s.mu.Unlock()
}

func (tc *tokenCache) put(sum [32]byte, c *Claims) {
	size := claimsSize(c)
	if size > tc.maxBytes {
		return
	}
	s := &tc.shards[sum[0]%cacheShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.m[sum]; ok {
		s.bytes -= claimsSize(old)
	}
	for len(s.m) >= tc.maxEntries || s.bytes+size > tc.maxBytes {
		s.evictLocked()
	}
	s.m[sum] = c
	s.bytes += size
}

// evictLocked removes one entry, preferring one whose key was retired.
func (s *cacheShard) evictLocked() {
	var victim [32]byte
	found, n := false, 0
	for k, c := range s.m {
		if !found {
			victim, found = k, true
		}
		if c.key != nil && c.key.retired.Load() {
			victim = k
			break
		}
		if n++; n >= 8 {
			break
		}
	}
	if !found {
		s.bytes = 0
		return
	}
	s.bytes -= claimsSize(s.m[victim])
	delete(s.m, victim)
}

// claimsSize approximates the memory an entry holds: the decoded token
// buffer (payload and header share it), slices and fixed overhead.
func claimsSize(c *Claims) int64 {
	n := int64(unsafe.Sizeof(*c)) + int64(len(c.raw))*2 + 128
	for _, l := range [][]string{c.Audience, c.Scopes, c.Roles, c.Groups, c.WIDs, c.ACRS, c.AMR, c.ClientCapabilities} {
		n += int64(len(l)) * 16
	}
	n += int64(len(c.ClaimNames)+len(c.ClaimSources)) * 64
	return n
}
