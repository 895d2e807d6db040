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
// too short for STS, gets the suffix as well.
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
	if lossy || len(out) > 64 || len(out) < 2 {
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
