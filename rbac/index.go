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
		b := quickHash(k) >> x.shift
		x.bits[b>>6] |= 1 << (b & 63)
	}
}

func (x *strIndex) get(s string) (uint32, bool) {
	b := quickHash(s) >> x.shift
	if x.bits[b>>6]&(1<<(b&63)) == 0 {
		return 0, false
	}
	a, ok := x.m[s]
	return a, ok
}

func (x *strIndex) len() int { return len(x.m) }

// quickHash mixes the first and last 8 bytes and the length. It is not a
// general-purpose hash (strings sharing both ends collide), which is fine
// for a filter: collisions only cost a map lookup.
func quickHash(s string) uint64 {
	n := len(s)
	var a uint64
	if n >= 8 {
		a = le64(s) ^ (le64(s[n-8:])<<29 | le64(s[n-8:])>>35)
	} else {
		for i := 0; i < n; i++ {
			a = a<<8 | uint64(s[i])
		}
	}
	a ^= uint64(n) << 56
	a ^= a >> 31
	return a * 0x9E3779B97F4A7C15
}

func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}
