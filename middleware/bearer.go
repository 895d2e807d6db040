package middleware

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
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
	if !isB64Token(tok) {
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

// isB64Token reports whether s matches the b64token production.
func isB64Token(s string) bool {
	n := len(s)
	for n > 0 && s[n-1] == '=' {
		n--
	}
	if n == 0 {
		return false
	}
	for i := 0; i < n; i++ {
		if !b64tokenChar[s[i]] {
			return false
		}
	}
	return true
}

var b64tokenChar = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "-._~+/" {
		t[c] = true
	}
	return t
}()

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

// queryTokens returns the access_token values in a raw query, without
// parsing queries that cannot hold one (the common case costs a substring
// search and no allocation). Percent-encoded keys are decoded, so
// "access%5Ftoken" is found too.
func queryTokens(rawQuery string) []string {
	if rawQuery == "" || (!strings.Contains(rawQuery, queryTokenParam) && !strings.Contains(rawQuery, "%")) {
		return nil
	}
	// A query that does not parse still yields the pairs that do; a token
	// hidden behind a bad pair is found all the same.
	q, _ := url.ParseQuery(rawQuery)
	return q[queryTokenParam]
}

// stripQueryToken returns u without access_token, so the handler (and any
// access log behind it) never sees the token in the URL. The other pairs
// are kept as they were sent, in their order and encoding: a handler that
// checks a signed URL or reads repeated keys sees the same query.
func stripQueryToken(u *url.URL) *url.URL {
	u2 := *u
	var b strings.Builder
	for pair := range strings.SplitSeq(u.RawQuery, "&") {
		key, _, _ := strings.Cut(pair, "=")
		if k, err := url.QueryUnescape(key); err == nil && k == queryTokenParam {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(pair)
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
	qs := queryTokens(r.URL.RawQuery)
	if len(qs) > 0 {
		switch {
		case !allowQuery:
			return "", false, ErrQueryToken
		case len(hs) > 0 || len(qs) > 1:
			return "", false, fmt.Errorf("%w: token in the query string and elsewhere", ErrMultipleTokens)
		case len(qs[0]) > maxSize:
			return "", false, fmt.Errorf("%w: token of %d bytes exceeds %d", ErrTokenTooLarge, len(qs[0]), maxSize)
		case !isB64Token(qs[0]):
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
