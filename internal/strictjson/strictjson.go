// Package strictjson is a strict, allocation-lean JSON reader for JOSE
// headers and JWT payloads, shared by the claims reader of the root package
// and the JWT reader of internal/jwt.
//
// encoding/json is not used on the hot path for two reasons: it silently
// accepts duplicate member names (last one wins), which lets a forged or
// confused token carry two different "exp" or "iss" values that other
// parsers read differently; and it allocates per field and per value, which
// alone would exceed the validator's allocation budget. This reader returns
// substrings of the payload (no copy) for strings without escapes, decodes
// member names with escapes before comparing them (so "\u0065xp" is "exp"),
// rejects control characters and invalid UTF-8, limits nesting depth,
// rejects duplicate member names at every depth (RFC 7519 §4 lets a parser
// reject them, and a reader that did not could disagree with another about
// a nested value returned by Claims.Get), and validates every value it
// skips. Every input it accepts is valid JSON that encoding/json decodes to
// the same values; a differential fuzz target (FuzzDecodeDifferential)
// holds it to that.
package strictjson

import (
	"math"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of arrays and objects accepted.
const MaxDepth = 32

// NameSet detects duplicate member names within one JSON object. It scans a
// small inline array and switches to a map beyond it, so that an object
// with thousands of members (a 16 KiB token can hold about 2,500) costs
// linear time, not quadratic.
type NameSet struct {
	small [16]string
	n     int
	m     map[string]struct{}
}

// Add records name and reports false if it was already present.
func (s *NameSet) Add(name string) bool {
	if s.m != nil {
		if _, dup := s.m[name]; dup {
			return false
		}
		s.m[name] = struct{}{}
		return true
	}
	for _, x := range s.small[:s.n] {
		if x == name {
			return false
		}
	}
	if s.n < len(s.small) {
		s.small[s.n] = name
		s.n++
		return true
	}
	s.m = make(map[string]struct{}, 4*len(s.small))
	for _, x := range s.small {
		s.m[x] = struct{}{}
	}
	s.m[name] = struct{}{}
	return true
}

// Reader reads one JSON text; make it with [New].
type Reader struct {
	s     string
	i     int
	depth int
}

// New returns a Reader of s.
func New(s string) Reader { return Reader{s: s} }

// WS skips white space.
func (d *Reader) WS() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// Peek returns the next non-space byte, or 0 at the end.
func (d *Reader) Peek() byte {
	d.WS()
	if d.i >= len(d.s) {
		return 0
	}
	return d.s[d.i]
}

// Consume consumes c if it is the next non-space byte.
func (d *Reader) Consume(c byte) bool {
	if d.Peek() != c {
		return false
	}
	d.i++
	return true
}

// Str reads a string value. Strings without escapes are returned as
// substrings of the input.
func (d *Reader) Str() (string, bool) {
	if d.Peek() != '"' {
		return "", false
	}
	start := d.i + 1
	ascii := true
	for j := start; j < len(d.s); j++ {
		c := d.s[j]
		switch {
		case c == '"':
			v := d.s[start:j]
			if !ascii && !utf8.ValidString(v) {
				return "", false
			}
			d.i = j + 1
			return v, true
		case c == '\\':
			return d.strEscaped(start)
		case c < 0x20:
			return "", false
		case c >= 0x80:
			ascii = false
		}
	}
	return "", false
}

func (d *Reader) strEscaped(start int) (string, bool) {
	buf := make([]byte, 0, 64)
	j := start
	for j < len(d.s) {
		c := d.s[j]
		switch {
		case c == '"':
			if !utf8.Valid(buf) {
				return "", false
			}
			d.i = j + 1
			return string(buf), true
		case c < 0x20:
			return "", false
		case c != '\\':
			buf = append(buf, c)
			j++
			continue
		}
		j++
		if j >= len(d.s) {
			return "", false
		}
		switch e := d.s[j]; e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := hex4(d.s, j+1)
			if !ok {
				return "", false
			}
			j += 4
			if utf16.IsSurrogate(r) {
				r2, ok2 := rune(-1), false
				if j+6 < len(d.s) && d.s[j+1] == '\\' && d.s[j+2] == 'u' {
					r2, ok2 = hex4(d.s, j+3)
				}
				if dec := utf16.DecodeRune(r, r2); ok2 && dec != utf8.RuneError {
					r = dec
					j += 6
				} else {
					r = utf8.RuneError
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", false
		}
		j++
	}
	return "", false
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		r <<= 4
		switch {
		case '0' <= c && c <= '9':
			r |= rune(c - '0')
		case 'a' <= c && c <= 'f':
			r |= rune(c - 'a' + 10)
		case 'A' <= c && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}

// Number reads a JSON number and returns its text.
func (d *Reader) Number() (string, bool) {
	d.WS()
	s, i := d.s, d.i
	start := i
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		i = digits(s, i)
	default:
		return "", false
	}
	if i < len(s) && s[i] == '.' {
		n := digits(s, i+1)
		if n == i+1 {
			return "", false
		}
		i = n
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		n := digits(s, i)
		if n == i {
			return "", false
		}
		i = n
	}
	d.i = i
	return s[start:i], true
}

// digits returns the index after the decimal digits of s from i on.
func digits(s string, i int) int {
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	return i
}

func (d *Reader) literal(lit string) bool {
	d.WS()
	if len(d.s)-d.i < len(lit) || d.s[d.i:d.i+len(lit)] != lit {
		return false
	}
	d.i += len(lit)
	return true
}

// Null consumes a null literal if one is next.
func (d *Reader) Null() bool {
	if d.Peek() == 'n' {
		return d.literal("null")
	}
	return false
}

// Skip validates and skips any value.
func (d *Reader) Skip() bool {
	switch d.Peek() {
	case '"':
		_, ok := d.Str()
		return ok
	case '{':
		if d.depth++; d.depth > MaxDepth {
			return false
		}
		d.i++
		if d.Consume('}') {
			d.depth--
			return true
		}
		var names NameSet
		for {
			name, ok := d.Str()
			if !ok || !names.Add(name) || !d.Consume(':') || !d.Skip() {
				return false
			}
			if d.Consume(',') {
				continue
			}
			if !d.Consume('}') {
				return false
			}
			d.depth--
			return true
		}
	case '[':
		if d.depth++; d.depth > MaxDepth {
			return false
		}
		d.i++
		if d.Consume(']') {
			d.depth--
			return true
		}
		for {
			if !d.Skip() {
				return false
			}
			if d.Consume(',') {
				continue
			}
			if !d.Consume(']') {
				return false
			}
			d.depth--
			return true
		}
	case 't':
		return d.literal("true")
	case 'f':
		return d.literal("false")
	case 'n':
		return d.literal("null")
	case 0:
		return false
	default:
		_, ok := d.Number()
		return ok
	}
}

// Strings reads an array of strings into a slice of exactly its length.
func (d *Reader) Strings() ([]string, bool) {
	if !d.Consume('[') {
		return nil, false
	}
	var stack [32]string
	tmp := stack[:0]
	if !d.Consume(']') {
		for {
			v, ok := d.Str()
			if !ok {
				return nil, false
			}
			tmp = append(tmp, v)
			if d.Consume(',') {
				continue
			}
			if !d.Consume(']') {
				return nil, false
			}
			break
		}
	}
	out := make([]string, len(tmp))
	copy(out, tmp)
	return out, true
}

// NumericDate reads a NumericDate (seconds since the epoch, possibly with a
// fraction).
func (d *Reader) NumericDate() (time.Time, bool) {
	n, ok := d.Number()
	if !ok {
		return time.Time{}, false
	}
	f, err := strconv.ParseFloat(n, 64)
	// Bound to ±2^53 seconds: beyond that the value is not a date, and
	// time.Unix would overflow when adding the leeway.
	if err != nil || math.IsNaN(f) || math.Abs(f) > 1<<53 {
		return time.Time{}, false
	}
	sec := math.Floor(f)
	return time.Unix(int64(sec), int64((f-sec)*1e9)), true
}

// Members iterates the members of the top-level object, calling fn with
// the decoded name; fn must consume the value. It rejects trailing data.
func (d *Reader) Members(fn func(name string) bool) bool {
	if !d.Consume('{') {
		return false
	}
	if !d.Consume('}') {
		for {
			name, ok := d.Str()
			if !ok || !d.Consume(':') || !fn(name) {
				return false
			}
			if d.Consume(',') {
				continue
			}
			if !d.Consume('}') {
				return false
			}
			break
		}
	}
	d.WS()
	return d.i == len(d.s)
}

// Member returns the raw JSON text of the top-level member name of an
// already validated payload.
func Member(payload, name string) (string, bool) {
	d := New(payload)
	var out string
	found := false
	d.Members(func(n string) bool {
		d.WS()
		start := d.i
		if !d.Skip() {
			return false
		}
		if n == name && !found {
			out, found = payload[start:d.i], true
		}
		return true
	})
	return out, found
}

// StringMap reads an object whose values are all strings.
func (d *Reader) StringMap() (map[string]string, bool) {
	if !d.Consume('{') {
		return nil, false
	}
	m := map[string]string{}
	if d.Consume('}') {
		return m, true
	}
	for {
		k, ok := d.Str()
		if !ok || !d.Consume(':') {
			return nil, false
		}
		v, ok := d.Str()
		if !ok {
			return nil, false
		}
		if _, dup := m[k]; dup {
			return nil, false
		}
		m[k] = v
		if d.Consume(',') {
			continue
		}
		return m, d.Consume('}')
	}
}

// AtEnd reports whether the whole input has been read, white space aside.
func (d *Reader) AtEnd() bool {
	d.WS()
	return d.i == len(d.s)
}

// QuoteShort quotes a value read from a token for an error detail, cut to
// a length that cannot carry a token.
func QuoteShort(s string) string {
	const max = 64
	if len(s) > max {
		s = s[:max] + "…"
	}
	return strconv.Quote(s)
}

// LowerASCII reports whether s has no upper-case ASCII letter and no
// non-ASCII byte: such a name can equal another under Unicode case folding
// only if the two are equal.
func LowerASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x80 || 'A' <= c && c <= 'Z' {
			return false
		}
	}
	return true
}
