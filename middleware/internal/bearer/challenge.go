// Package bearer holds what middleware's client Transport and grpcauth's
// PerRPCCredentials share: the RFC 6750 b64token grammar, the reading of a
// server's Bearer challenge, and the one rule for renewing a refused token.
package bearer

import "strings"

// maxChallengeSize bounds the WWW-Authenticate values the client Transport
// reads: a server's challenge is a few hundred bytes, Entra's claims
// challenges a few kilobytes.
const maxChallengeSize = 16 << 10

// ChallengeError returns the error parameter of the first Bearer
// challenge among WWW-Authenticate values (RFC 7235 §4.1, RFC 6750 §3), or
// "" when there is none or the values cannot be read. It is what the
// clients ask of a refusal before retrying with a new token, so it is
// lenient where servers are sloppy (unquoted values, stray spaces) and
// gives up rather than guess: a parameter of another scheme's challenge,
// or one inside a quoted string, never counts.
//
//	WWW-Authenticate = 1#challenge
//	challenge  = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//	auth-param = token BWS "=" BWS ( token / quoted-string )
func ChallengeError(values []string) string {
	n := 0
	for _, v := range values {
		n += len(v)
	}
	if n > maxChallengeSize {
		return ""
	}
	for _, v := range values {
		if e, ok := scanChallenges(v); ok {
			return e
		}
	}
	return ""
}

// scanChallenges reads one field value holding any number of challenges and
// returns the error parameter of the first Bearer one; ok reports whether
// there was a Bearer challenge.
func scanChallenges(s string) (errCode string, ok bool) {
	p := challengeScanner{s: s}
	inBearer := false
	for {
		p.skipListSeparators()
		if p.done() {
			return "", inBearer
		}
		tok := p.token()
		if tok == "" {
			return "", false // not a token where one must be: give up
		}
		p.skipWS()
		if p.peek() == '=' {
			// An auth-param of the current challenge (or, when the value
			// after the '=' is missing, the tail of a token68).
			p.i++
			p.skipWS()
			if p.done() || p.peek() == ',' || p.peek() == '=' {
				for !p.done() && p.peek() == '=' {
					p.i++
				}
				continue
			}
			val, good := p.value()
			if !good {
				return "", false
			}
			if inBearer && strings.EqualFold(tok, "error") {
				return val, true
			}
			continue
		}
		// A new challenge: tok is its scheme.
		if inBearer {
			return "", true // the Bearer challenge ended without an error
		}
		inBearer = strings.EqualFold(tok, "Bearer")
		p.skipWS()
		// A token68 (Negotiate's, Basic's) may follow; it is read as a token
		// and, when padded, its '=' are skipped above.
		if t68 := p.peekToken68(); t68 > 0 {
			j := p.i + t68
			for j < len(p.s) && p.s[j] == '=' {
				j++
			}
			k := j
			for k < len(p.s) && (p.s[k] == ' ' || p.s[k] == '\t') {
				k++
			}
			if k == len(p.s) || p.s[k] == ',' {
				p.i = k
			}
		}
	}
}

// challengeScanner walks a WWW-Authenticate value.
type challengeScanner struct {
	s string
	i int
}

func (p *challengeScanner) done() bool { return p.i >= len(p.s) }

func (p *challengeScanner) peek() byte {
	if p.done() {
		return 0
	}
	return p.s[p.i]
}

func (p *challengeScanner) skipWS() {
	for !p.done() && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *challengeScanner) skipListSeparators() {
	for !p.done() && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == ',') {
		p.i++
	}
}

// token reads an RFC 7230 token.
func (p *challengeScanner) token() string {
	start := p.i
	for !p.done() && isTChar(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

// peekToken68 returns the length of the token68 characters at the cursor
// (without padding), without moving it.
func (p *challengeScanner) peekToken68() int {
	j := p.i
	for j < len(p.s) && b64tokenChar[p.s[j]] {
		j++
	}
	return j - p.i
}

// value reads a token or a quoted-string; ok is false for an unterminated
// quoted-string.
func (p *challengeScanner) value() (string, bool) {
	if p.peek() != '"' {
		v := p.token()
		return v, v != ""
	}
	p.i++
	var b strings.Builder
	for !p.done() {
		c := p.s[p.i]
		switch c {
		case '"':
			p.i++
			return b.String(), true
		case '\\':
			p.i++
			if p.done() {
				return "", false
			}
			c = p.s[p.i]
		}
		b.WriteByte(c)
		p.i++
	}
	return "", false
}

// isTChar reports whether c is an RFC 7230 tchar.
func isTChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
