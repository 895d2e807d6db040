package jwks

// A strict, allocation-lean JSON reader for JOSE headers and JWT payloads.
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

import (
	"math"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

const maxJSONDepth = 32

// nameSet detects duplicate member names within one JSON object. It scans a
// small inline array and switches to a map beyond it, so that an object
// with thousands of members (a 16 KiB token can hold about 2,500) costs
// linear time, not quadratic.
type nameSet struct {
	small [16]string
	n     int
	m     map[string]struct{}
}

// add records name and reports false if it was already present.
func (s *nameSet) add(name string) bool {
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

type jsonReader struct {
	s     string
	i     int
	depth int
}

func (d *jsonReader) ws() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (d *jsonReader) peek() byte {
	d.ws()
	if d.i >= len(d.s) {
		return 0
	}
	return d.s[d.i]
}

func (d *jsonReader) consume(c byte) bool {
	if d.peek() != c {
		return false
	}
	d.i++
	return true
}

// str reads a string value. Strings without escapes are returned as
// substrings of the input.
func (d *jsonReader) str() (string, bool) {
	if d.peek() != '"' {
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

func (d *jsonReader) strEscaped(start int) (string, bool) {
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

// number reads a JSON number and returns its text.
func (d *jsonReader) number() (string, bool) {
	d.ws()
	s, i := d.s, d.i
	start := i
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
	default:
		return "", false
	}
	if i < len(s) && s[i] == '.' {
		i++
		n := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		if i == n {
			return "", false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		n := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		if i == n {
			return "", false
		}
	}
	d.i = i
	return s[start:i], true
}

func (d *jsonReader) literal(lit string) bool {
	d.ws()
	if len(d.s)-d.i < len(lit) || d.s[d.i:d.i+len(lit)] != lit {
		return false
	}
	d.i += len(lit)
	return true
}

// null consumes a null literal if one is next.
func (d *jsonReader) null() bool {
	if d.peek() == 'n' {
		return d.literal("null")
	}
	return false
}

// skip validates and skips any value.
func (d *jsonReader) skip() bool {
	switch d.peek() {
	case '"':
		_, ok := d.str()
		return ok
	case '{':
		if d.depth++; d.depth > maxJSONDepth {
			return false
		}
		d.i++
		if d.consume('}') {
			d.depth--
			return true
		}
		var names nameSet
		for {
			name, ok := d.str()
			if !ok || !names.add(name) || !d.consume(':') || !d.skip() {
				return false
			}
			if d.consume(',') {
				continue
			}
			if !d.consume('}') {
				return false
			}
			d.depth--
			return true
		}
	case '[':
		if d.depth++; d.depth > maxJSONDepth {
			return false
		}
		d.i++
		if d.consume(']') {
			d.depth--
			return true
		}
		for {
			if !d.skip() {
				return false
			}
			if d.consume(',') {
				continue
			}
			if !d.consume(']') {
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
		_, ok := d.number()
		return ok
	}
}

// strings reads an array of strings into a slice of exactly its length.
func (d *jsonReader) strings() ([]string, bool) {
	if !d.consume('[') {
		return nil, false
	}
	var stack [32]string
	tmp := stack[:0]
	if !d.consume(']') {
		for {
			v, ok := d.str()
			if !ok {
				return nil, false
			}
			tmp = append(tmp, v)
			if d.consume(',') {
				continue
			}
			if !d.consume(']') {
				return nil, false
			}
			break
		}
	}
	out := make([]string, len(tmp))
	copy(out, tmp)
	return out, true
}

// numericDate reads a NumericDate (seconds since the epoch, possibly with a
// fraction).
func (d *jsonReader) numericDate() (time.Time, bool) {
	n, ok := d.number()
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

// members iterates the members of the top-level object, calling fn with
// the decoded name; fn must consume the value. It rejects trailing data.
func (d *jsonReader) members(fn func(name string) bool) bool {
	if !d.consume('{') {
		return false
	}
	if !d.consume('}') {
		for {
			name, ok := d.str()
			if !ok || !d.consume(':') || !fn(name) {
				return false
			}
			if d.consume(',') {
				continue
			}
			if !d.consume('}') {
				return false
			}
			break
		}
	}
	d.ws()
	return d.i == len(d.s)
}

// rawClaim returns the raw JSON text of the top-level member name of an
// already validated payload.
func rawClaim(payload, name string) (string, bool) {
	d := jsonReader{s: payload}
	var out string
	found := false
	d.members(func(n string) bool {
		d.ws()
		start := d.i
		if !d.skip() {
			return false
		}
		if n == name && !found {
			out, found = payload[start:d.i], true
		}
		return true
	})
	return out, found
}
