package jwks

import (
	"crypto/sha256"
	"hash/maphash"
	"strings"
	"sync"
	"unsafe"
)

const (
	defaultCacheEntries = 10000
	defaultCacheBytes   = 32 << 20
	cacheShards         = 16
)

// tokenCache is the verified-token cache. An entry is found by the SHA-256
// of the token's signature segment and must then also match the token's
// length and a 64-bit hash of the whole token under a per-cache secret seed.
//
// Why not the SHA-256 of the whole token: hashing 1.9 KB costs more than the
// 1 µs a hit may take on the machines we measured, while the signature
// segment (342 bytes for RS256, 86 for ES256) is a fifth of that. The
// identity is as strong where it matters: the signature is unique to the
// signed header and payload, so a hit requires the exact signature of a token
// that was verified, and a hit returns only that token's verified claims; the
// seeded whole-token hash additionally rejects any other header or payload
// presented with a known signature. Tokens themselves are never stored.
//
// It is sharded to keep lock contention low; each shard bounds its entries
// and approximate memory, evicting expired or retired-key entries first and
// otherwise arbitrary ones (map order), which is cheap and good enough for a
// cache whose entries all expire within a token lifetime.
type tokenCache struct {
	shards     [cacheShards]cacheShard
	maxEntries int
	maxBytes   int64
	seed       maphash.Seed
}

type cacheKey [32]byte

type cacheEntry struct {
	c     *Claims
	n     int    // token length
	check uint64 // maphash of the token under tokenCache.seed
}

// key computes the lookup key and the whole-token check of token.
func (tc *tokenCache) key(token string) (k cacheKey, check uint64) {
	sig := token[strings.LastIndexByte(token, '.')+1:]
	k = sha256.Sum256(unsafe.Slice(unsafe.StringData(sig), len(sig)))
	return k, maphash.String(tc.seed, token)
}

type cacheShard struct {
	mu    sync.RWMutex // guards m and bytes
	m     map[cacheKey]cacheEntry
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
		seed:       maphash.MakeSeed(),
	}
	for i := range c.shards {
		c.shards[i].m = map[cacheKey]cacheEntry{}
	}
	return c
}

func (tc *tokenCache) get(k cacheKey, n int, check uint64) *Claims {
	s := &tc.shards[k[0]%cacheShards]
	s.mu.RLock()
	e, ok := s.m[k]
	s.mu.RUnlock()
	if !ok || e.n != n || e.check != check {
		return nil
	}
	return e.c
}

func (tc *tokenCache) del(k cacheKey) {
	s := &tc.shards[k[0]%cacheShards]
	s.mu.Lock()
	if e, ok := s.m[k]; ok {
		delete(s.m, k)
		s.bytes -= claimsSize(e.c)
	}
	s.mu.Unlock()
}

func (tc *tokenCache) put(k cacheKey, n int, check uint64, c *Claims) {
	size := claimsSize(c)
	if size > tc.maxBytes {
		return
	}
	s := &tc.shards[k[0]%cacheShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.m[k]; ok {
		s.bytes -= claimsSize(old.c)
		delete(s.m, k)
	}
	for len(s.m) > 0 && (len(s.m) >= tc.maxEntries || s.bytes+size > tc.maxBytes) {
		s.evictLocked()
	}
	s.m[k] = cacheEntry{c: c, n: n, check: check}
	s.bytes += size
}

// len returns the number of entries, for tests.
func (tc *tokenCache) len() int {
	n := 0
	for i := range tc.shards {
		s := &tc.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}

// evictLocked removes one entry, preferring one whose key was retired.
func (s *cacheShard) evictLocked() {
	var victim cacheKey
	found, n := false, 0
	for k, e := range s.m {
		if !found {
			victim, found = k, true
		}
		if e.c.key != nil && e.c.key.retired.Load() {
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
	s.bytes -= claimsSize(s.m[victim].c)
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
