package jwks

import (
	"encoding/base64"
	"strings"
	"time"
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

// Claim indexes for duplicate detection of the typed claims.
const (
	cIss = iota
	cSub
	cAud
	cExp
	cNbf
	cIat
	cJti
	cUti
	cOid
	cTid
	cAzp
	cAppid
	cAzpacr
	cAppidacr
	cScp
	cRoles
	cGroups
	cWids
	cIdtyp
	cAcr
	cAcrs
	cAmr
	cXmsCC
	cPreferredUsername
	cName
	cEmail
	cVer
	cSid
	cNonce
	cClaimNames
	cClaimSources
	numTypedClaims
)

// typedClaimNames are the claim names decodeClaims types, by index.
var typedClaimNames = [numTypedClaims]string{
	cIss: "iss", cSub: "sub", cAud: "aud", cExp: "exp", cNbf: "nbf", cIat: "iat", cJti: "jti", cUti: "uti",
	cOid: "oid", cTid: "tid", cAzp: "azp", cAppid: "appid", cAzpacr: "azpacr", cAppidacr: "appidacr",
	cScp: "scp", cRoles: "roles", cGroups: "groups", cWids: "wids", cIdtyp: "idtyp", cAcr: "acr",
	cAcrs: "acrs", cAmr: "amr", cXmsCC: "xms_cc", cPreferredUsername: "preferred_username", cName: "name",
	cEmail: "email", cVer: "ver", cSid: "sid", cNonce: "nonce", cClaimNames: "_claim_names",
	cClaimSources: "_claim_sources",
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
	for i, t := range typedClaimNames {
		if strings.EqualFold(name, t) {
			return i
		}
	}
	return -1
}

// decodeClaims parses the payload into c. It returns a detail string on
// failure; every failure is of class malformed.
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
		idx := -1
		var str *string
		var list *[]string
		var date *time.Time
		switch name {
		case "iss":
			idx, str = cIss, &c.Issuer
		case "sub":
			idx, str = cSub, &c.Subject
		case "aud":
			idx = cAud
		case "exp":
			idx, date = cExp, &c.ExpiresAt
		case "nbf":
			idx, date = cNbf, &c.NotBefore
		case "iat":
			idx, date = cIat, &c.IssuedAt
		case "jti":
			idx, str = cJti, &c.ID
		case "uti":
			idx, str = cUti, &c.UTI
		case "oid":
			idx, str = cOid, &c.ObjectID
		case "tid":
			idx, str = cTid, &c.TenantID
		case "azp":
			idx, str = cAzp, &c.AuthorizedParty
		case "appid":
			idx, str = cAppid, &c.AppID
		case "azpacr":
			idx, str = cAzpacr, &c.AuthorizedPartyACR
		case "appidacr":
			idx, str = cAppidacr, &c.AppIDACR
		case "scp":
			idx = cScp
		case "roles":
			idx, list = cRoles, &c.Roles
		case "groups":
			idx, list = cGroups, &c.Groups
		case "wids":
			idx, list = cWids, &c.WIDs
		case "idtyp":
			idx, str = cIdtyp, &c.IDType
		case "acr":
			idx, str = cAcr, &c.ACR
		case "acrs":
			idx, list = cAcrs, &c.ACRS
		case "amr":
			idx, list = cAmr, &c.AMR
		case "xms_cc":
			idx, list = cXmsCC, &c.ClientCapabilities
		case "preferred_username":
			idx, str = cPreferredUsername, &c.PreferredUsername
		case "name":
			idx, str = cName, &c.Name
		case "email":
			idx, str = cEmail, &c.Email
		case "ver":
			idx, str = cVer, &c.Version
		case "sid":
			idx, str = cSid, &c.SessionID
		case "nonce":
			idx, str = cNonce, &c.Nonce
		case "_claim_names":
			idx = cClaimNames
		case "_claim_sources":
			idx = cClaimSources
		default:
			if !unknown.add(name) {
				detail = "duplicate claim " + quoteShort(name)
				return false
			}
			if i := foldedTypedClaim(name); i >= 0 {
				folded |= 1 << i
			}
			switch name {
			case "at_hash", "c_hash":
				if d.peek() != 'n' { // null is absent
					c.marks |= markCodeHash
				}
			case "scope":
				if d.peek() != 'n' {
					c.marks |= markScope
				}
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
		switch {
		case str != nil:
			v, ok := d.str()
			if !ok {
				return bad(name)
			}
			*str = v
		case list != nil:
			v, ok := d.strings()
			if !ok {
				return bad(name)
			}
			*list = v
		case date != nil:
			v, ok := d.numericDate()
			if !ok {
				return bad(name)
			}
			*date = v
		case idx == cAud:
			if d.peek() == '"' {
				v, ok := d.str()
				if !ok {
					return bad(name)
				}
				c.Audience = []string{v}
				return true
			}
			v, ok := d.strings()
			if !ok {
				return bad(name)
			}
			c.Audience = v
		case idx == cScp:
			// Entra: a space-separated string. Some IdPs send an array.
			if d.peek() == '[' {
				v, ok := d.strings()
				if !ok {
					return bad(name)
				}
				c.Scopes = v
				return true
			}
			v, ok := d.str()
			if !ok {
				return bad(name)
			}
			c.Scopes = strings.Fields(v)
		case idx == cClaimNames:
			m, ok := d.stringMap()
			if !ok {
				return bad(name)
			}
			c.ClaimNames = m
		case idx == cClaimSources:
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
		for i, name := range typedClaimNames {
			if both&(1<<i) != 0 {
				return "claim " + name + " appears again in another letter case"
			}
		}
	}
	return ""
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
