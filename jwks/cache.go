package jwks

import (
	"crypto/sha256"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/idbridge/idbridge"
)

const (
	defaultCacheEntries = 10000
	defaultCacheBytes   = 32 << 20
	cacheShards         = 16
)

// retirements counts keys retired by any key set. A cache that sees it move
// sweeps out the entries of retired keys, so their memory is released soon
// after a rotation rather than only when they are next looked up.
var retirements atomic.Uint64

// retire marks k as gone from its key set.
func retire(k *Key) {
	if !k.retired.Swap(true) {
		retirements.Add(1)
	}
}

// tokenCache is the verified-token cache. An entry is found by the SHA-256
// of the token's signature segment, and is a hit only if the token's
// signing input (base64url header "." payload) is byte-for-byte the one
// that was verified. Together the two make a hit mean "this exact token was
// verified": a token that reuses a verified signature with another header
// or payload always misses, whatever its length or hash, and a different
// signature for the same signing input cannot share the SHA-256.
//
// Why not the SHA-256 of the whole token, as first specified: hashing a
// 1.9 KB token costs about as much as the whole 1 µs a hit may take, while
// the signature segment (342 bytes for RS256, 86 for ES256) is a fifth of
// that, and comparing the signing input costs a memcmp.
//
// An entry keeps the signing input (the claims in base64url, not a bearer
// credential) and the decoded header and payload behind *Claims, never the
// signature, so the cache cannot hand out or leak a usable token.
//
// It is sharded to keep lock contention low; each shard bounds its entries
// and approximate memory, evicting entries of retired keys or expired
// tokens first and otherwise arbitrary ones (map order), which is cheap and
// good enough for a cache whose entries all expire within a token lifetime.
type tokenCache struct {
	shards     [cacheShards]cacheShard
	maxEntries int
	maxBytes   int64
	swept      atomic.Uint64 // value of retirements at the last sweep
}

type cacheKey [32]byte

type cacheEntry struct {
	c     *idbridge.Claims
	key   *Key   // the key that verified the signature: the entry goes when it is retired
	size  int64  // approximate memory held (entrySize)
	input string // the verified signing input (copied, never the caller's token)
	// recheck is the key set to ask again on every hit, for key sets that
	// do not retire their keys themselves (keyfuncset, custom KeySets);
	// nil for RemoteKeySet and StaticKeySet.
	recheck KeySet
}

// cacheKeyOf hashes a token's signature segment.
func cacheKeyOf(sig string) cacheKey {
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(sig), len(sig)))
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
	}
	c.swept.Store(retirements.Load())
	for i := range c.shards {
		c.shards[i].m = map[cacheKey]cacheEntry{}
	}
	return c
}

// get returns the entry for a token whose signature segment hashes to k and
// whose signing input is input, or ok false.
func (tc *tokenCache) get(k cacheKey, input string) (e cacheEntry, ok bool) {
	s := &tc.shards[k[0]%cacheShards]
	s.mu.RLock()
	e, ok = s.m[k]
	s.mu.RUnlock()
	if !ok || e.input != input {
		return cacheEntry{}, false
	}
	return e, true
}

// del removes the entry for k if it still holds c.
func (tc *tokenCache) del(k cacheKey, c *idbridge.Claims) {
	s := &tc.shards[k[0]%cacheShards]
	s.mu.Lock()
	if e, ok := s.m[k]; ok && e.c == c {
		delete(s.m, k)
		s.bytes -= e.size
	}
	s.mu.Unlock()
}

// put stores c, verified with key from a token with signature hash k,
// signing input input and a decoded header and payload of decoded bytes.
// now orders evictions (expired entries go first).
func (tc *tokenCache) put(k cacheKey, input string, decoded int, c *idbridge.Claims, key *Key, recheck KeySet, now time.Time) {
	if g, last := retirements.Load(), tc.swept.Load(); g != last && tc.swept.CompareAndSwap(last, g) {
		tc.sweepRetired()
	}
	e := cacheEntry{c: c, key: key, input: strings.Clone(input), recheck: recheck}
	e.size = entrySize(c, decoded, len(input))
	size := e.size
	if size > tc.maxBytes {
		return
	}
	s := &tc.shards[k[0]%cacheShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.m[k]; ok {
		s.bytes -= old.size
		delete(s.m, k)
	}
	for len(s.m) > 0 && (len(s.m) >= tc.maxEntries || s.bytes+size > tc.maxBytes) {
		s.evictLocked(now)
	}
	s.m[k] = e
	s.bytes += size
}

// sweepRetired drops every entry whose key was retired.
func (tc *tokenCache) sweepRetired() {
	for i := range tc.shards {
		s := &tc.shards[i]
		s.mu.Lock()
		for k, e := range s.m {
			if e.key.retired.Load() {
				delete(s.m, k)
				s.bytes -= e.size
			}
		}
		s.mu.Unlock()
	}
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

// evictLocked removes one entry among the first few in map order,
// preferring one whose key was retired or whose token has expired.
func (s *cacheShard) evictLocked(now time.Time) {
	var victim cacheKey
	found, n := false, 0
	for k, e := range s.m {
		if !found {
			victim, found = k, true
		}
		if e.key.retired.Load() || !now.Before(e.c.ExpiresAt) {
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
	s.bytes -= s.m[victim].size
	delete(s.m, victim)
}

// entrySize approximates the memory an entry holds: the decoded header and
// payload buffer (decoded bytes), the copied signing input (input bytes),
// slices and fixed overhead.
func entrySize(c *idbridge.Claims, decoded, input int) int64 {
	n := int64(unsafe.Sizeof(*c)) + int64(decoded)*2 + int64(input) + 128
	for _, l := range [][]string{c.Audience, c.Scopes, c.Roles, c.Groups, c.WIDs, c.ACRS, c.AMR, c.ClientCapabilities} {
		n += int64(len(l)) * 16
	}
	n += int64(len(c.ClaimNames)+len(c.ClaimSources)) * 64
	return n
}
