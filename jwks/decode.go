package jwks

import (
	"encoding/base64"
	"slices"
	"strings"
	"unsafe"
)

// This file is the one reader of JWTs: splitJWS and decodeSegment take a
// compact JWS apart, decodeHeader and decodeClaims read its JSON. The
// Validator and ParseUnverified (for code that must read a token it does
// not verify) both use them, so no two paths read one token differently.

var b64url = base64.RawURLEncoding.Strict()

// splitJWS splits a compact JWS into its three base64url segments. It
// returns a detail (class malformed) when the form is wrong.
func splitJWS(token string) (h64, p64, s64, detail string) {
	d1 := strings.IndexByte(token, '.')
	if d1 < 0 {
		return "", "", "", "not a compact JWS (no dots)"
	}
	d2 := strings.IndexByte(token[d1+1:], '.')
	if d2 < 0 {
		return "", "", "", "not a compact JWS (one dot)"
	}
	d2 += d1 + 1
	if strings.IndexByte(token[d2+1:], '.') >= 0 {
		return "", "", "", "not a compact JWS (more than two dots; JWE is not accepted)"
	}
	h64, p64, s64 = token[:d1], token[d1+1:d2], token[d2+1:]
	if len(h64) == 0 || len(p64) == 0 {
		return "", "", "", "empty JWS header or payload"
	}
	return h64, p64, s64, ""
}

// decodeSegment decodes one segment into dst, which must be exactly
// b64url.DecodedLen(len(s)) bytes, and reports whether s is canonical
// base64url (RFC 7515 §2): the URL-safe alphabet only — no padding, no
// whitespace, no '+' or '/' — and zero trailing bits. The strict decoder
// refuses all of that except CR and LF, which encoding/base64 always skips,
// so they are refused here first; otherwise one token would have many
// spellings, each a different key for a cache or a deny-list.
func decodeSegment(dst []byte, s string) bool {
	if strings.IndexByte(s, '\n') >= 0 || strings.IndexByte(s, '\r') >= 0 {
		return false
	}
	n, err := b64url.Decode(dst, unsafe.Slice(unsafe.StringData(s), len(s)))
	return err == nil && n == len(dst)
}

// ParseUnverified reads the header and claims of a compact JWS with exactly
// the rules [Validator] applies (canonical base64url in every segment, the
// header and claims JSON rules of [ParseClaims]) and verifies nothing: no
// signature, issuer, audience or time. Use it only to label or time a token
// you hold for someone else (an audit event, when to refresh, what an STS
// will see), never to decide anything. The size is not bounded here: bound
// it before. Errors wrap [ErrMalformed] and never contain the token.
func ParseUnverified(token string) (*Claims, error) {
	h64, p64, s64, detail := splitJWS(token)
	if detail != "" {
		return nil, fail(ErrMalformed, detail)
	}
	hn, pn := b64url.DecodedLen(len(h64)), b64url.DecodedLen(len(p64))
	buf := make([]byte, hn+pn+b64url.DecodedLen(len(s64)))
	if !decodeSegment(buf[:hn], h64) || !decodeSegment(buf[hn:hn+pn], p64) || !decodeSegment(buf[hn+pn:], s64) {
		return nil, fail(ErrMalformed, "a segment is not canonical base64url")
	}
	var h header
	if detail := decodeHeader(string(buf[:hn]), &h); detail != "" {
		return nil, fail(ErrMalformed, detail)
	}
	payload := string(buf[hn : hn+pn])
	c := &Claims{raw: payload, alg: h.alg, kid: h.kid, typ: h.typ}
	if detail := decodeClaims(payload, c); detail != "" {
		return nil, fail(ErrMalformed, detail)
	}
	return c, nil
}

// header is the part of the JOSE header the validator reads. The key-carrying
// parameters jku, x5u, jwk and x5c are deliberately ignored: keys only ever
// come from the issuer's key set.
type header struct {
	alg, kid, typ string
	hasAlg        bool
}

// decodeHeader parses the protected header. It returns a detail string on
// failure; every failure is of class malformed.
func decodeHeader(s string, h *header) string {
	d := jsonReader{s: s}
	var seen uint8
	var others nameSet
	detail := ""
	ok := d.members(func(name string) bool {
		var bit uint8
		var dst *string
		switch name {
		case "alg":
			bit, dst = 1, &h.alg
		case "kid":
			bit, dst = 2, &h.kid
		case "typ":
			bit, dst = 4, &h.typ
		case "crit":
			// No JWS extension is understood, so any critical one must be
			// rejected (RFC 7515 §4.1.11).
			detail = "header crit lists an extension that is not understood"
			return false
		case "b64":
			// RFC 7797 unencoded payloads change the signing input; refuse.
			detail = "header b64 is not supported"
			return false
		default:
			if !others.add(name) {
				detail = "duplicate header parameter " + quoteShort(name)
				return false
			}
			if foldedHeaderName(name) {
				detail = "header parameter " + quoteShort(name) + " is a registered name in another letter case"
				return false
			}
			return d.skip()
		}
		if seen&bit != 0 {
			detail = "duplicate header parameter " + name
			return false
		}
		seen |= bit
		v, ok := d.str()
		if !ok {
			detail = "header parameter " + name + " is not a string"
			return false
		}
		*dst = v
		return true
	})
	if !ok {
		if detail == "" {
			detail = "header is not a JSON object"
		}
		return detail
	}
	h.hasAlg = seen&1 != 0
	return ""
}

// headerNames are the registered JWS header parameters (RFC 7515 §4.1,
// RFC 7797).
var headerNames = [...]string{"alg", "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256", "typ", "cty", "crit", "b64"}

// foldedHeaderName reports whether name equals a registered header
// parameter under Unicode case folding without being equal to it ("ALG",
// "\u212aid"): a library that reads the header with encoding/json would
// take it for that parameter, and "CRIT" or a second alg would mean to it
// what it does not mean here.
func foldedHeaderName(name string) bool {
	plain := true
	for i := 0; i < len(name) && plain; i++ {
		c := name[i]
		plain = c < 0x80 && (c < 'A' || c > 'Z')
	}
	if plain {
		return name == "x5t#s256" // the one registered name with a capital
	}
	for _, h := range headerNames {
		if strings.EqualFold(name, h) && name != h {
			return true
		}
	}
	return false
}

// foldedTypedClaim returns the index of the typed claim that name equals
// under Unicode case folding without being equal to it ("EXP", "ſub"), or
// -1. encoding/json matches struct fields that way, so a service decoding
// the payload into its own struct would read "EXP" where we read "exp".
func foldedTypedClaim(name string) int {
	plain := true
	for i := 0; i < len(name) && plain; i++ {
		c := name[i]
		plain = c < 0x80 && (c < 'A' || c > 'Z')
	}
	if plain {
		return -1 // lowercase ASCII: equal to a typed name or unrelated to all
	}
	for i := range claimTable {
		if strings.EqualFold(name, claimTable[i].name) {
			return i
		}
	}
	return -1
}

// decodeClaims parses the payload into c through claimTable. It returns a
// detail string on failure; every failure is of class malformed.
func decodeClaims(s string, c *Claims) string {
	d := jsonReader{s: s}
	var seen, folded uint64
	var unknown nameSet
	detail := ""
	bad := func(name string) bool {
		detail = "claim " + name + " has the wrong type"
		return false
	}
	ok := d.members(func(name string) bool {
		idx, typed := claimIndex[name]
		if !typed {
			if !unknown.add(name) {
				detail = "duplicate claim " + quoteShort(name)
				return false
			}
			if i := foldedTypedClaim(name); i >= 0 {
				folded |= 1 << i
			}
			if (name == "at_hash" || name == "c_hash") && d.peek() != 'n' { // null is absent
				c.marks |= markCodeHash
			}
			if !d.skip() {
				detail = "claim " + quoteShort(name) + " is not valid JSON"
				return false
			}
			return true
		}
		if seen&(1<<idx) != 0 {
			detail = "duplicate claim " + name
			return false
		}
		seen |= 1 << idx
		if d.null() {
			return true // null is treated as absent
		}
		if idx == cNonce {
			c.marks |= markNonce // even "": only ID tokens carry a nonce
		}
		def := &claimTable[idx]
		switch def.kind {
		case kindString:
			v, ok := d.str()
			if !ok {
				return bad(name)
			}
			*def.str(c) = v
		case kindList:
			v, ok := d.strings()
			if !ok {
				return bad(name)
			}
			*def.list(c) = v
		case kindDate:
			v, ok := d.numericDate()
			if !ok {
				return bad(name)
			}
			*def.date(c) = v
		case kindAud:
			if d.peek() == '"' {
				v, ok := d.str()
				if !ok {
					return bad(name)
				}
				*def.list(c) = []string{v}
				return true
			}
			v, ok := d.strings()
			if !ok {
				return bad(name)
			}
			*def.list(c) = v
		case kindSpaced:
			// Entra's scp and RFC 9068's scope: a space-separated string;
			// some IdPs send an array.
			var v []string
			if d.peek() == '[' {
				l, ok := d.strings()
				if !ok {
					return bad(name)
				}
				v = l
			} else {
				sv, ok := d.str()
				if !ok {
					return bad(name)
				}
				v = strings.Fields(sv)
			}
			dst := def.list(c)
			if *dst == nil {
				*dst = v
			} else if !sameSet(*dst, v) {
				// Both scp and scope: one meaning or none.
				detail = "claims scp and scope list different scopes"
				return false
			}
		case kindNames:
			m, ok := d.stringMap()
			if !ok {
				return bad(name)
			}
			c.ClaimNames = m
		case kindSources:
			m, ok := d.claimSources()
			if !ok {
				return bad(name)
			}
			c.ClaimSources = m
		}
		return true
	})
	if !ok {
		if detail == "" {
			detail = "payload is not a JSON object"
		}
		return detail
	}
	if both := seen & folded; both != 0 {
		for i := range claimTable {
			if both&(1<<i) != 0 {
				return "claim " + claimTable[i].name + " appears again in another letter case"
			}
		}
	}
	// azp (v2), appid (v1) and client_id (RFC 9068) all name the client;
	// Client reads the first one set, so they must agree.
	if a, b := firstTwo(c.AuthorizedParty, c.AppID, c.ClientID); a != b && b != "" {
		return "claims azp, appid and client_id name different clients"
	}
	return ""
}

// firstTwo returns the first two non-empty values.
func firstTwo(vs ...string) (a, b string) {
	for _, v := range vs {
		switch {
		case v == "":
		case a == "":
			a = v
		case v != a:
			return a, v
		}
	}
	return a, ""
}

// sameSet reports whether a and b hold the same values, in any order.
func sameSet(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			return false
		}
	}
	return true
}

// stringMap reads an object whose values are all strings.
func (d *jsonReader) stringMap() (map[string]string, bool) {
	if !d.consume('{') {
		return nil, false
	}
	m := map[string]string{}
	if d.consume('}') {
		return m, true
	}
	for {
		k, ok := d.str()
		if !ok || !d.consume(':') {
			return nil, false
		}
		v, ok := d.str()
		if !ok {
			return nil, false
		}
		if _, dup := m[k]; dup {
			return nil, false
		}
		m[k] = v
		if d.consume(',') {
			continue
		}
		return m, d.consume('}')
	}
}

// claimSources reads _claim_sources: an object of objects, keeping only
// each source's endpoint.
func (d *jsonReader) claimSources() (map[string]ClaimSource, bool) {
	if !d.consume('{') {
		return nil, false
	}
	m := map[string]ClaimSource{}
	if d.consume('}') {
		return m, true
	}
	for {
		k, ok := d.str()
		if !ok || !d.consume(':') || !d.consume('{') {
			return nil, false
		}
		if _, dup := m[k]; dup {
			return nil, false
		}
		var src ClaimSource
		if !d.consume('}') {
			var names nameSet
			for {
				f, ok := d.str()
				if !ok || !names.add(f) || !d.consume(':') {
					return nil, false
				}
				if f == "endpoint" {
					if src.Endpoint, ok = d.str(); !ok {
						return nil, false
					}
				} else if !d.skip() {
					return nil, false
				}
				if d.consume(',') {
					continue
				}
				if !d.consume('}') {
					return nil, false
				}
				break
			}
		}
		m[k] = src
		if d.consume(',') {
			continue
		}
		return m, d.consume('}')
	}
}
