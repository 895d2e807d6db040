package rbac

import (
	"encoding/hex"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DN canonicalisation (RFC 4514), written here so that a program using rbac
// does not link an LDAP client. The canonical form is the one go-ldap's
// ParseDN(dn).String() gives, lower-cased, which is what group IDs of kind
// [GroupIDDN] have always been compared in, except for the order of the
// attributes of a multi-valued RDN (below); a differential test in
// rbac/ldap checks the two agree, over a table of tricky DNs and fuzzed ones.
//
// The rules, in the order they apply:
//   - ',' and ';' separate RDNs, '+' separates the attributes of a
//     multi-valued RDN, the first unescaped '=' ends an attribute type;
//     a backslash escapes the next byte from this split;
//   - types and values lose unescaped leading and trailing spaces; '\X'
//     (X one of ` "#+,;<=>\`) and '\XX' (two hex digits) are unescaped;
//     an unescaped '"', ';', '<', '>' or NUL is an error, as is a broken
//     escape; invalid UTF-8 becomes U+FFFD;
//   - a value that starts with '#' is the hex form of one BER element,
//     whose content octets are the value (rbac accepts a primitive element
//     with a definite length, and not the REAL or GeneralizedTime types; go-ldap
//     also reads constructed ones, which no directory uses for names);
//   - the type is case-folded, type and value are escaped again (specials
//     with a backslash, bytes outside printable ASCII as \xx), and the
//     whole is lower-cased; the attributes of an RDN are sorted in their
//     lower-case form, so that every spelling of a DN has one canonical
//     form, which is its own (go-ldap sorts before lower-casing, so it
//     orders "cn=B+cn=a" and "cn=b+cn=a" differently).

// canonicalDN returns the canonical form of dn and whether dn is a valid,
// non-empty distinguished name.
func canonicalDN(dn string) (string, bool) {
	if strings.TrimSpace(dn) == "" {
		return "", false
	}
	var p dnParser
	p.out = make([]byte, 0, len(dn)+16)
	if !p.parse(dn) {
		return "", false
	}
	out := p.out
	for i, c := range out {
		if 'A' <= c && c <= 'Z' {
			out[i] = c + 'a' - 'A'
		}
	}
	return string(out), true
}

type dnParser struct {
	out     []byte   // canonical DN so far (not yet lower-cased)
	typ     []byte   // decoded type of the attribute being read; empty until its '='
	val     []byte   // scratch: decoded value
	fold    []byte   // scratch: folded type
	multi   []string // encoded attributes of the current multi-valued RDN
	started bool     // an RDN has been written to out
}

func (p *dnParser) parse(s string) bool {
	start := 0
	escaping := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case escaping:
			escaping = false
		case c == '\\':
			escaping = true
		case c == '=' && len(p.typ) == 0:
			var ok bool
			if p.typ, ok = appendDNString(p.typ[:0], s[start:i]); !ok {
				return false
			}
			start = i + 1
		case c == ',' || c == '+' || c == ';':
			if len(p.typ) == 0 || !p.attribute(s[start:i], c == '+') {
				return false
			}
			start = i + 1
		}
	}
	return len(p.typ) > 0 && p.attribute(s[start:], false)
}

// attribute completes the attribute whose type is p.typ with the raw
// value; more says the RDN continues with another attribute.
func (p *dnParser) attribute(raw string, more bool) bool {
	var ok bool
	if len(raw) > 0 && raw[0] == '#' {
		p.val, ok = appendBERValue(p.val[:0], raw[1:])
	} else {
		p.val, ok = appendDNString(p.val[:0], raw)
	}
	if !ok {
		return false
	}
	p.fold = appendFolded(p.fold[:0], p.typ)
	p.typ = p.typ[:0]
	if !more && len(p.multi) == 0 {
		// A single-valued RDN, the common case: straight to the output.
		p.separate()
		p.out = appendDNEscaped(p.out, p.fold, false)
		p.out = append(p.out, '=')
		p.out = appendDNEscaped(p.out, p.val, true)
		return true
	}
	a := appendDNEscaped(nil, p.fold, false)
	a = append(a, '=')
	a = appendDNEscaped(a, p.val, true)
	// Lower-cased before sorting, as the whole is lower-cased after: sorted
	// the other way, "cn=B+cn=a" and "cn=b+cn=a" (one DN) would print in
	// different orders.
	for i, c := range a {
		if 'A' <= c && c <= 'Z' {
			a[i] = c + 'a' - 'A'
		}
	}
	p.multi = append(p.multi, string(a))
	if more {
		return true
	}
	slices.Sort(p.multi)
	p.separate()
	for i, a := range p.multi {
		if i > 0 {
			p.out = append(p.out, '+')
		}
		p.out = append(p.out, a...)
	}
	p.multi = p.multi[:0]
	return true
}

func (p *dnParser) separate() {
	if p.started {
		p.out = append(p.out, ',')
	}
	p.started = true
}

// trimDNSpaces removes leading and trailing spaces, keeping a trailing
// space that an odd number of backslashes escapes.
func trimDNSpaces(s string) string {
	t := strings.Trim(s, " ")
	if t != "" && s[len(s)-1] == ' ' {
		n := 0
		for i := len(t) - 1; i >= 0 && t[i] == '\\'; i-- {
			n++
		}
		if n%2 == 1 {
			t += " "
		}
	}
	return t
}

// appendDNString appends the unescaped form of a type or string value.
func appendDNString(dst []byte, raw string) ([]byte, bool) {
	s := trimDNSpaces(raw)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		if r != '\\' {
			switch r {
			case '"', ';', '<', '>', 0:
				return dst, false
			}
			dst = utf8.AppendRune(dst, r)
			continue
		}
		if i >= len(s) {
			return dst, false
		}
		switch c := s[i]; c {
		case ' ', '"', '#', '+', ',', ';', '<', '=', '>', '\\':
			dst = append(dst, c)
			i++
			continue
		}
		hi, ok1 := unhex(s[i])
		if !ok1 || i+1 >= len(s) {
			return dst, false
		}
		lo, ok2 := unhex(s[i+1])
		if !ok2 {
			return dst, false
		}
		dst = append(dst, hi<<4|lo)
		i += 2
	}
	return dst, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// BER identifiers and universal tags the '#' form needs.
const (
	berConstructed      = 0x20
	berClassMask        = 0xc0
	berHighTag          = 0x1f
	berTagReal          = 9
	berTagUTF8          = 12
	berTagPrintable     = 19
	berTagIA5           = 22
	berTagGeneralizedTm = 24
)

// appendBERValue appends the content octets of the one BER element whose
// hex form is h.
func appendBERValue(dst []byte, h string) ([]byte, bool) {
	b, err := hex.DecodeString(h)
	if err != nil || len(b) == 0 || b[0]&berConstructed != 0 {
		return dst, false
	}
	universal := b[0]&berClassMask == 0
	tag, rest, ok := berTag(b)
	if !ok {
		return dst, false
	}
	content, ok := berContent(rest)
	if !ok || (universal && !berValid(tag, content)) {
		return dst, false
	}
	return append(dst, content...), true
}

// berTag reads the identifier octets of b.
func berTag(b []byte) (tag uint64, rest []byte, ok bool) {
	if b[0]&berHighTag != berHighTag {
		return uint64(b[0] & berHighTag), b[1:], true
	}
	for n := 1; n < len(b); n++ {
		tag = tag<<7 | uint64(b[n]&0x7f)
		if (n == 1 && tag == 0) || n > 9 {
			return 0, nil, false
		}
		if b[n]&0x80 == 0 {
			return tag, b[n+1:], true
		}
	}
	return 0, nil, false
}

// berContent reads a definite length and returns exactly that many
// content octets, which must be all of b.
func berContent(b []byte) ([]byte, bool) {
	if len(b) == 0 || b[0] == 0xff || b[0] == 0x80 {
		return nil, false
	}
	n := uint64(b[0])
	b = b[1:]
	if n&0x80 != 0 {
		k := int(n & 0x7f)
		if k > 8 || k > len(b) {
			return nil, false
		}
		n = 0
		for _, c := range b[:k] {
			n = n<<8 | uint64(c)
		}
		b = b[k:]
	}
	if n != uint64(len(b)) {
		return nil, false
	}
	return b, true
}

// berValid applies the checks a universal string type implies; REAL and
// GeneralizedTime values are refused rather than parsed.
func berValid(tag uint64, v []byte) bool {
	switch tag {
	case berTagReal, berTagGeneralizedTm:
		return false
	case berTagUTF8:
		return utf8.Valid(v)
	case berTagPrintable:
		for _, c := range v {
			if !isPrintableStringChar(c) {
				return false
			}
		}
	case berTagIA5:
		for _, c := range v {
			if c >= 0x7f {
				return false
			}
		}
	}
	return true
}

func isPrintableStringChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("'()+,-./:=? ", c) >= 0
}

// appendFolded appends s case-folded: ASCII letters in lower case, any
// other rune replaced by the last of its unicode.SimpleFold orbit.
func appendFolded(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRune(s[i:])
		i += n
		if r < utf8.RuneSelf {
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			dst = append(dst, byte(r))
			continue
		}
		for {
			f := unicode.SimpleFold(r)
			if f <= r {
				break
			}
			r = f
		}
		dst = utf8.AppendRune(dst, r)
	}
	return dst
}

// appendDNEscaped appends v escaped as RFC 4514 asks: a leading space or
// '#', a trailing space and the specials with a backslash ('=' too in a
// type), bytes outside printable ASCII as \xx.
func appendDNEscaped(dst, v []byte, isValue bool) []byte {
	const digits = "0123456789abcdef"
	for i, c := range v {
		switch {
		case i == 0 && (c == ' ' || c == '#'),
			i == len(v)-1 && c == ' ',
			strings.IndexByte("\"+,;<>\\", c) >= 0,
			!isValue && c == '=':
			dst = append(dst, '\\', c)
		case c < ' ' || c > '~':
			dst = append(dst, '\\', digits[c>>4], digits[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
