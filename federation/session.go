package federation

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode/utf8"
)

// SessionName returns s as a valid STS RoleSessionName (and SourceIdentity):
// 2 to 64 characters of [A-Za-z0-9_+=,.@-]. It returns "" for "".
//
// A valid s of up to 64 characters is returned as it is. Otherwise every
// other character becomes '_' and, because that mapping loses information
// ("josé" and "josè" would both be "jos_"), the name gets '-' and 16 hex
// digits of the SHA-256 of s, cutting the readable part to fit 64. Two
// different inputs therefore never share a session name unless SHA-256
// collides in 64 bits, which matters because resource policies can key
// access by session (${aws:userid} is the role ID and the session name):
// two users must not land in each other's S3 prefix. A one-character name,
// too short for STS, gets the suffix as well, and so does a valid name that
// already ends in '-' and 16 hex digits, so that no input can be chosen to
// equal what another was turned into.
//
// Session names appear in the assumed role's ARN and in CloudTrail; use a
// stable, opaque ID (Entra's oid) rather than a mutable e-mail address.
func SessionName(s string) string {
	if s == "" {
		return ""
	}
	var b strings.Builder
	b.Grow(len(s))
	lossy := false
	for i := 0; i < len(s); i++ {
		if c := s[i]; validSessionByte(c) {
			b.WriteByte(c)
			continue
		}
		// One '_' per character, not per byte, so a name in another
		// script keeps its shape.
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size - 1
		b.WriteByte('_')
		lossy = true
	}
	out := b.String()
	// A valid name that already ends like a suffix is suffixed again, so
	// that nobody can pick as their ID the name another ID was turned into.
	if lossy || len(out) > 64 || len(out) < 2 || hasHashSuffix(out) {
		sum := sha256.Sum256([]byte(s))
		suffix := "-" + hex.EncodeToString(sum[:8])
		out = out[:min(len(out), 64-len(suffix))] + suffix
	}
	return out
}

func validSessionByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("_+=,.@-", c) >= 0
}

// hasHashSuffix reports whether s ends in '-' and 16 lower-case hex digits.
func hasHashSuffix(s string) bool {
	const n = 17
	if len(s) < n || s[len(s)-n] != '-' {
		return false
	}
	for i := len(s) - n + 1; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
