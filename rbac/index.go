package rbac

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
// into one word for the filter hash.
func filterKey(s string) uint64 {
	n := len(s)
	if n < 8 {
		return shortKey(s)
	}
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[n-1])<<48 | uint64(n)<<56
}

func shortKey(s string) uint64 {
	var k uint64
	for i := 0; i < len(s); i++ {
		k = k<<8 | uint64(s[i])
	}
	return k ^ uint64(len(s))<<56
}
