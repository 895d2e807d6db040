package revocation

import (
	"math/bits"
	"sync/atomic"
)

// filter is a blocked Bloom filter over the identifiers in the list, read
// without a lock on the request path: a token none of whose identifiers is
// in it is not revoked, which is the answer for nearly every request. Each
// identifier sets two bits of one 64-bit word, so a probe touches one cache
// line. Bits are only ever set; removing entries means building a new
// filter (under the list's write lock) and swapping it in.
type filter struct {
	words []atomic.Uint64
	mask  uint64
}

// Sizing: about 32 bits per entry (two entries per word) gives roughly a
// 0.4 % false-positive rate; a false positive only costs a map lookup.
const (
	minFilterWords   = 1 << 10
	entriesPerWord   = 2
	maxEntriesToGrow = entriesPerWord
)

func newFilter(entries int) *filter {
	n := max(minFilterWords, 1<<bits.Len(uint(entries/entriesPerWord)))
	return &filter{words: make([]atomic.Uint64, n), mask: uint64(n - 1)}
}

func (f *filter) capacity() int { return len(f.words) * maxEntriesToGrow }

func wordBits(h uint64) uint64 { return 1<<(h>>58) | 1<<((h>>52)&63) }

func (f *filter) add(h uint64) { f.words[h&f.mask].Or(wordBits(h)) }

func (f *filter) has(h uint64) bool {
	b := wordBits(h)
	return f.words[h&f.mask].Load()&b == b
}

// Key kinds: a subject has two forms, each in its own key space.
const (
	kSubject uint8 = iota + 1 // iss+sub
	kEntra                    // tid+oid
	kToken                    // jti or uti
	kSession                  // sid
)

// key identifies an entry in the map. The filter hashes only its last
// string (sub, oid, id): the map confirms the rest.
type key struct {
	kind uint8
	a, b string
}

func keyOf(e Entry) key {
	switch {
	case e.Kind == Subject && e.TenantID != "":
		return key{kEntra, e.TenantID, e.ObjectID}
	case e.Kind == Subject:
		return key{kSubject, e.Issuer, e.Subject}
	case e.Kind == Token:
		return key{kToken, e.Issuer, e.ID} // the filter hashes only b: scoped or not, one probe
	default:
		return key{kSession, e.Issuer, e.ID}
	}
}

// hashOf hashes s in the key space kind with the list's random seed. It
// is a multiply-xor hash over 8-byte words, a few nanoseconds for the
// 20-60 byte identifiers of real tokens (hash/maphash's call layers cost
// more than the hashing here). Collisions only cost a map lookup, and
// token identifiers come from the IdP, not from the caller.
func hashOf(seed uint64, kind uint8, s string) uint64 {
	const m1, m2 = 0x9e3779b97f4a7c15, 0xbf58476d1ce4e5b9
	h := seed ^ uint64(kind)<<56 ^ uint64(len(s))
	for len(s) >= 8 {
		h = mix(h^le64(s), m1)
		s = s[8:]
	}
	if len(s) > 0 {
		var t uint64
		for i := len(s) - 1; i >= 0; i-- {
			t = t<<8 | uint64(s[i])
		}
		h = mix(h^t, m1)
	}
	return mix(h, m2)
}

func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}
