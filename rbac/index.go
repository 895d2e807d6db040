package rbac

import (
	"slices"
	"sort"
)

// strIndex is a string → atom map with a bit filter in front. Most values a
// token carries (groups above all) are not in the policy; the filter turns
// those misses away with one hash of 16 bytes and one memory load, which is
// several times cheaper than a Go map miss on a 36-byte GUID. Only
// candidates that pass the filter pay for the map lookup, so the result is
// exact.
type strIndex struct {
	bits  []uint64
	shift uint // 64 - log2(filter bits): multiplicative hashing keeps the top bits
	m     map[string]uint32
}

func newStrIndex() strIndex { return strIndex{m: map[string]uint32{}} }

// seal sizes and fills the filter once all keys are in.
func (x *strIndex) seal() {
	n, lg := uint64(512), uint(9)
	for n < uint64(len(x.m))*16 {
		n <<= 1
		lg++
	}
	x.bits = make([]uint64, n/64)
	x.shift = 64 - lg
	for k := range x.m {
		b := (filterKey(k) * 0x9E3779B97F4A7C15) >> x.shift
		x.bits[b>>6] |= 1 << (b & 63)
	}
}

func (x *strIndex) get(s string) (uint32, bool) {
	if !x.mayContain(s) {
		return 0, false
	}
	a, ok := x.m[s]
	return a, ok
}

// mayContain is the filter.
func (x *strIndex) mayContain(s string) bool {
	b := (filterKey(s) * 0x9E3779B97F4A7C15) >> x.shift
	return x.bits[b>>6]&(1<<(b&63)) != 0
}

func (x *strIndex) len() int { return len(x.m) }

// filterKey packs the first 6 bytes, the last byte and the length of s
// into one word for the filter hash. Bytes are folded with 0x20 (ASCII
// letters to lower case) so that a GUID written in upper case passes the
// filter of its lower-case key and reaches [lookupLower]; for other values
// folding only adds a few false positives, which the map then turns away.
func filterKey(s string) uint64 {
	n := len(s)
	if n < 8 {
		return shortKey(s)
	}
	_ = s[7]
	return (uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[n-1])<<48 | uint64(n)<<56) | foldMask
}

// foldMask sets bit 5 of the seven value bytes of a filter key (not the
// length byte): ASCII letters fold to lower case in one instruction.
const foldMask = 0x0020202020202020

func shortKey(s string) uint64 {
	var k uint64
	for i := 0; i < len(s); i++ {
		k = k<<8 | uint64(s[i]|0x20) // short keys: scopes, roles
	}
	return k ^ uint64(len(s))<<56
}

// lookupLower finds a GUID written with upper-case letters under its
// lower-case key, without allocating: GUIDs (group object IDs, tenant IDs)
// are compared case-insensitively, and the policy stores them in lower
// case. It reports false for anything that is not 36 bytes long or has no
// upper-case letter (the caller has already tried the exact key). The
// common case, a lower-case GUID that passed the filter by chance, costs
// five word operations.
func lookupLower(m map[string]uint32, s string) (uint32, bool) {
	if len(s) != 36 || !hasUpper8(le64(s[0:])) && !hasUpper8(le64(s[8:])) && !hasUpper8(le64(s[16:])) &&
		!hasUpper8(le64(s[24:])) && !hasUpper8(le64(s[28:])) {
		return 0, false
	}
	return lookupFolded(m, s)
}

// lookupFolded looks up the lower-case form of a 36-byte s.
func lookupFolded(m map[string]uint32, s string) (uint32, bool) {
	var buf [36]byte
	for i := 0; i < len(buf) && i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	a, ok := m[string(buf[:])] // no allocation: the conversion is only a map key
	return a, ok
}

// le64 loads 8 bytes of s (the compiler turns this into one load).
func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// hasUpper8 reports whether a byte of x may be in 'A'..'Z'. Bytes are
// first masked to 7 bits so no addition carries into the next byte; a
// non-ASCII byte may then look upper-case, which only costs a lookup.
func hasUpper8(x uint64) bool {
	const ones = 0x0101010101010101
	x &= 0x7f * ones
	ge := x + (0x80-'A')*ones   // high bit set where the byte >= 'A'
	gt := x + (0x80-'Z'-1)*ones // high bit set where the byte > 'Z'
	return ge&^gt&(0x80*ones) != 0
}

// buildIndex picks one anchor atom per clause, the one that fewest clauses
// use, and indexes clauses by it. A decision then only looks at clauses
// anchored on atoms the claims actually carry, so its cost follows the
// token, not the size of the policy. Atoms many tokens carry (mfa, acr,
// tenant, issuer, scopes) are avoided as anchors when a clause has others.
func (c *compiler) buildIndex() {
	for _, t := range c.out.issuerList {
		t.groups.seal()
		t.roles.seal()
		t.scopes.seal()
	}
	n := len(c.out.atoms)
	freq := make([]int, n)
	for _, cl := range c.out.clauses {
		for _, a := range cl.atoms {
			freq[a]++
		}
	}
	// Scopes come second (a clause reached through its group can then
	// tell "insufficient scope"), and mfa/acr/tenant/issuer last.
	cost := func(a uint32) int {
		switch c.out.atoms[a].kind {
		case leafScope:
			return freq[a] + 1<<28
		case leafMFA, leafACR, leafTenant, leafIssuer:
			return freq[a] + 1<<30
		}
		return freq[a]
	}
	anchor := make([]uint32, len(c.out.clauses))
	counts := make([]uint32, n+1)
	for i, cl := range c.out.clauses {
		best := cl.atoms[0]
		for _, a := range cl.atoms[1:] {
			if cost(a) < cost(best) {
				best = a
			}
		}
		anchor[i] = best
		counts[best+1]++
	}
	for i := 1; i <= n; i++ {
		counts[i] += counts[i-1]
	}
	c.out.anchorOff = slices.Clone(counts)
	c.out.anchorList = make([]uint32, len(c.out.clauses))
	fill := slices.Clone(counts[:n])
	for i := range c.out.clauses {
		a := anchor[i]
		c.out.anchorList[fill[a]] = uint32(i)
		fill[a]++
	}
	// Keep per-anchor clause lists in policy order, so explanations and
	// the first matching deny rule are deterministic.
	for a := 0; a < n; a++ {
		seg := c.out.anchorList[c.out.anchorOff[a]:c.out.anchorOff[a+1]]
		sort.Slice(seg, func(i, j int) bool { return seg[i] < seg[j] })
	}
}
