// Package jwt is idbridge's one reader of compact JWS tokens: Split and
// DecodeSegment take a token apart, DecodeHeader reads its JOSE header and
// the root package's claims reader its payload. The jwks validator uses the
// pieces and verifies the signature; [Parse] reads a token without
// verifying anything, for code that must label or time a token it holds
// for someone else (token, federation, audit, tools). Both read one token
// the same way, so what one refuses the other refuses.
package jwt

import (
	"encoding/base64"
	"strings"
	"unsafe"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/strictjson"
)

var b64url = base64.RawURLEncoding.Strict()

// DecodedLen returns the length of the decoded form of a canonical
// base64url segment of n bytes.
func DecodedLen(n int) int { return b64url.DecodedLen(n) }

// Parse reads the header and claims of a compact JWS with exactly the rules
// the jwks validator applies (canonical base64url in every segment, the
// header rules of [DecodeHeader], the claims rules of idbridge.ParseClaims)
// and verifies nothing: no signature, issuer, audience or time. Use it only
// to label or time a token you hold for someone else (an audit event, when
// to refresh, what an STS will see), never to decide anything. The size is
// not bounded here: bound it before. Errors are *idbridge.ParseError
// wrapping idbridge.ErrMalformed and never contain the token.
func Parse(token string) (*idbridge.Claims, error) {
	h64, p64, s64, detail := Split(token)
	if detail != "" {
		return nil, malformed(detail)
	}
	hn, pn := DecodedLen(len(h64)), DecodedLen(len(p64))
	buf := make([]byte, hn+pn+DecodedLen(len(s64)))
	if !DecodeSegment(buf[:hn], h64) || !DecodeSegment(buf[hn:hn+pn], p64) || !DecodeSegment(buf[hn+pn:], s64) {
		return nil, malformed("a segment is not canonical base64url")
	}
	var h idbridge.Header
	if _, detail := DecodeHeader(string(buf[:hn]), &h); detail != "" {
		return nil, malformed(detail)
	}
	c, err := idbridge.ParseClaims(buf[hn : hn+pn])
	if err != nil {
		return nil, err
	}
	c.Header = h
	return c, nil
}

func malformed(detail string) error {
	return &idbridge.ParseError{Err: idbridge.ErrMalformed, Detail: detail}
}

// Split splits a compact JWS into its three base64url segments. It
// returns a detail (class malformed) when the form is wrong.
func Split(token string) (h64, p64, s64, detail string) {
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

// DecodeSegment decodes one segment into dst, which must be exactly
// DecodedLen(len(s)) bytes, and reports whether s is canonical
// base64url (RFC 7515 §2): the URL-safe alphabet only — no padding, no
// whitespace, no '+' or '/' — and zero trailing bits. The strict decoder
// refuses all of that except CR and LF, which encoding/base64 always skips,
// so they are refused here first; otherwise one token would have many
// spellings, each a different key for a cache or a deny-list.
func DecodeSegment(dst []byte, s string) bool {
	if strings.IndexByte(s, '\n') >= 0 || strings.IndexByte(s, '\r') >= 0 {
		return false
	}
	n, err := b64url.Decode(dst, unsafe.Slice(unsafe.StringData(s), len(s)))
	return err == nil && n == len(dst)
}

// DecodeHeader parses the protected header into h: alg, kid and typ, each
// a string at most once. The key-carrying parameters jku, x5u, jwk and x5c
// are deliberately ignored: keys only ever come from the issuer's key set.
// crit and b64 are refused, as is a registered name in another letter
// case. hasAlg reports whether alg was present; detail says why the header
// is refused (class malformed), "" when it is not.
func DecodeHeader(s string, h *idbridge.Header) (hasAlg bool, detail string) {
	d := strictjson.New(s)
	var seen uint8
	var others strictjson.NameSet
	ok := d.Members(func(name string) bool {
		var bit uint8
		var dst *string
		switch name {
		case "alg":
			bit, dst = 1, &h.Algorithm
		case "kid":
			bit, dst = 2, &h.KeyID
		case "typ":
			bit, dst = 4, &h.Type
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
			if !others.Add(name) {
				detail = "duplicate header parameter " + strictjson.QuoteShort(name)
				return false
			}
			if foldedHeaderName(name) {
				detail = "header parameter " + strictjson.QuoteShort(name) + " is a registered name in another letter case"
				return false
			}
			return d.Skip()
		}
		if seen&bit != 0 {
			detail = "duplicate header parameter " + name
			return false
		}
		seen |= bit
		v, ok := d.Str()
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
		return false, detail
	}
	return seen&1 != 0, ""
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
	if strictjson.LowerASCII(name) {
		return name == "x5t#s256" // the one registered name with a capital
	}
	for _, h := range headerNames {
		if strings.EqualFold(name, h) && name != h {
			return true
		}
	}
	return false
}
