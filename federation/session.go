package federation

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// SessionName returns s as a valid STS RoleSessionName (and SourceIdentity):
// 2 to 64 characters of [A-Za-z0-9_+=,.@-]. Every other character becomes
// '_'; a one-character name gets a '_' appended; a name longer than 64 is
// cut to 55 characters plus '-' and 8 hex digits of its SHA-256, so that
// two long IDs that share a prefix still name different sessions. It
// returns "" for "".
//
// Session names appear in the assumed role's ARN and in CloudTrail; use a
// stable, opaque ID (Entra's oid) rather than a mutable e-mail address.
func SessionName(s string) string {
	if s == "" {
		return ""
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r < 0x80 && validSessionByte(byte(r)) {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	out := b.String()
	if len(out) > 64 {
		sum := sha256.Sum256([]byte(s))
		out = out[:55] + "-" + hex.EncodeToString(sum[:4])
	}
	if len(out) < 2 {
		out += "_"
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
