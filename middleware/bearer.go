package middleware

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/idbridge/idbridge/middleware/internal/bearer"
)

// schemeSlack bounds what may precede the token in an Authorization header
// ("Bearer", the spaces after it, surrounding whitespace) before the size
// cap applies, so an oversized header is refused without being scanned.
const schemeSlack = 64

// bearerScheme is the auth-scheme of RFC 6750, matched case-insensitively.
const bearerScheme = "bearer"

// parseAuthorization extracts the token from the value of one Authorization
// header per RFC 6750 §2.1:
//
//	credentials = "Bearer" 1*SP b64token
//	b64token    = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//
// The scheme is matched case-insensitively in ASCII (RFC 7235 §2.1); any
// number of spaces may follow it, as the grammar allows, and HTAB is taken
// as a space because some proxies fold it so. Whitespace around the value,
// which HTTP allows around field values, is ignored. The size cap is applied
// before anything but the scheme is looked at: a header longer than the cap
// plus schemeSlack is refused after reading at most schemeSlack bytes.
// Errors never contain the header.
func parseAuthorization(h string, maxSize int) (string, error) {
	if len(h) > maxSize+schemeSlack {
		// Only the bounded prefix decides between "another scheme" (a huge
		// Negotiate ticket is not ours to judge) and "a bearer token too
		// large".
		if isBearer(h[:schemeSlack]) {
			return "", fmt.Errorf("%w: Authorization header of %d bytes", ErrTokenTooLarge, len(h))
		}
		return "", fmt.Errorf("%w: Authorization scheme is not Bearer", ErrNoToken)
	}
	h = trimOWS(h)
	if h == "" {
		return "", fmt.Errorf("%w: empty Authorization header", ErrNoToken)
	}
	if !isBearer(h) {
		// Another scheme (Basic, Negotiate, DPoP), or none: this is a
		// request without bearer credentials, not a malformed one.
		return "", fmt.Errorf("%w: Authorization scheme is not Bearer", ErrNoToken)
	}
	tok := trimOWS(h[len(bearerScheme):])
	if tok == "" {
		return "", fmt.Errorf("%w: Bearer without a token", ErrMalformedHeader)
	}
	if len(tok) > maxSize {
		return "", fmt.Errorf("%w: token of %d bytes exceeds %d", ErrTokenTooLarge, len(tok), maxSize)
	}
	if !bearer.IsB64Token(tok) {
		return "", fmt.Errorf("%w: the token is not an RFC 6750 b64token", ErrMalformedHeader)
	}
	return tok, nil
}

// isBearer reports whether h, after leading whitespace, starts with the
// Bearer scheme followed by whitespace or the end: "Bearerabc" and
// "Bearer,abc" name other schemes. It compares ASCII only, so no Unicode
// case folding can turn another word into "Bearer".
func isBearer(h string) bool {
	h = trimOWS(h)
	if len(h) < len(bearerScheme) {
		return false
	}
	for i := 0; i < len(bearerScheme); i++ {
		if h[i]|0x20 != bearerScheme[i] {
			return false
		}
	}
	return len(h) == len(bearerScheme) || h[len(bearerScheme)] == ' ' || h[len(bearerScheme)] == '\t'
}

func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// queryTokenParam is the URI query parameter of RFC 6750 §2.3.
const queryTokenParam = "access_token"

// queryTokens returns the access_token values in a raw query. It reads
// the query as every server behind the guard might: pairs split at '&' and
// at ';' (url.ParseQuery skips a pair holding ';', so "a=1;access_token=x"
// would slip past it), the name percent-decoded ("access%5Ftoken") and
// matched without regard to case. A value that does not decode is kept as
// sent, so "access_token=%zz" is found too. A query without a token costs
// one scan and no allocation.
func queryTokens(rawQuery string) []string {
	var toks []string
	for rest := rawQuery; rest != ""; {
		var pair string
		pair, rest = nextQueryPair(rest)
		key, val, _ := strings.Cut(pair, "=")
		if !isQueryTokenKey(key) {
			continue
		}
		if v, err := url.QueryUnescape(val); err == nil {
			val = v
		}
		toks = append(toks, val)
	}
	return toks
}

// pathToken reports whether a path carries an access_token parameter after
// a ';' (matrix or path parameters, which servlet containers and some
// proxies read: /loans;access_token=...). A path without ';' costs one
// byte search.
func pathToken(p string) bool {
	i := strings.IndexByte(p, ';')
	if i < 0 {
		return false
	}
	for rest := p[i+1:]; rest != ""; {
		var param string
		if j := strings.IndexAny(rest, ";&/"); j >= 0 {
			param, rest = rest[:j], rest[j+1:]
		} else {
			param, rest = rest, ""
		}
		if key, _, ok := strings.Cut(param, "="); ok && isQueryTokenKey(key) {
			return true
		}
	}
	return false
}

// nextQueryPair splits the first pair off a raw query at '&' or ';'.
func nextQueryPair(q string) (pair, rest string) {
	if i := strings.IndexAny(q, "&;"); i >= 0 {
		return q[:i], q[i+1:]
	}
	return q, ""
}

// isQueryTokenKey reports whether a raw query key names access_token.
func isQueryTokenKey(key string) bool {
	if len(key) < len(queryTokenParam) || len(key) > 3*len(queryTokenParam) {
		return false // too short, or longer than its every byte percent-encoded
	}
	if strings.IndexByte(key, '%') >= 0 {
		k, err := url.QueryUnescape(key)
		if err != nil {
			return false
		}
		key = k
	}
	return strings.EqualFold(key, queryTokenParam)
}

// stripQueryToken returns u without access_token (every pair queryTokens
// finds), so the handler (and any access log behind it) never sees the
// token in the URL. The other pairs are kept as they were sent, in their
// order, encoding and separators: a handler that checks a signed URL or
// reads repeated keys sees the same query.
func stripQueryToken(u *url.URL) *url.URL {
	u2 := *u
	var b strings.Builder
	q := u.RawQuery
	for start := 0; start <= len(q); {
		end := start + strings.IndexAny(q[start:], "&;")
		if end < start {
			end = len(q)
		}
		pair := q[start:end]
		key, _, _ := strings.Cut(pair, "=")
		if !isQueryTokenKey(key) {
			if b.Len() > 0 {
				b.WriteByte(q[start-1]) // the separator it was sent with
			}
			b.WriteString(pair)
		}
		start = end + 1
	}
	u2.RawQuery = b.String()
	u2.ForceQuery = false
	return &u2
}

// bearerFromRequest extracts the bearer token of r: exactly one
// Authorization header, or with allowQuery exactly one access_token query
// parameter, never both.
func bearerFromRequest(r *http.Request, maxSize int, allowQuery bool) (tok string, fromQuery bool, err error) {
	hs := r.Header["Authorization"]
	if pathToken(r.URL.Path) {
		// A path parameter (/loans;access_token=...) is no RFC 6750 way
		// to send a token, and logs keep it as they keep a query.
		return "", false, fmt.Errorf("%w: in a path parameter", ErrQueryToken)
	}
	qs := queryTokens(r.URL.RawQuery)
	if len(qs) > 0 {
		switch {
		case !allowQuery:
			return "", false, ErrQueryToken
		case len(hs) > 0 || len(qs) > 1:
			return "", false, fmt.Errorf("%w: token in the query string and elsewhere", ErrMultipleTokens)
		case len(qs[0]) > maxSize:
			return "", false, fmt.Errorf("%w: token of %d bytes exceeds %d", ErrTokenTooLarge, len(qs[0]), maxSize)
		case !bearer.IsB64Token(qs[0]):
			return "", false, fmt.Errorf("%w: the query token is not an RFC 6750 b64token", ErrMalformedHeader)
		}
		return qs[0], true, nil
	}
	switch len(hs) {
	case 0:
		return "", false, fmt.Errorf("%w: no Authorization header", ErrNoToken)
	case 1:
		tok, err := parseAuthorization(hs[0], maxSize)
		return tok, false, err
	default:
		return "", false, fmt.Errorf("%w: %d Authorization headers", ErrMultipleTokens, len(hs))
	}
}
