package revocation

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/idbridge/idbridge"
)

// Kind is what an [Entry] revokes. Its text form ("subject", "token",
// "session") is written in audit events and errors.
type Kind uint8

// The kinds. None is what [List.Lookup] returns for a token that is not
// revoked.
const (
	None    Kind = iota
	Subject      // a user or workload: every token issued before the revocation
	Token        // one token, by jti or uti
	Session      // every token of one sign-in session, by sid
)

var kindNames = [...]string{None: "none", Subject: "subject", Token: "token", Session: "session"}

// String returns "subject", "token", "session" or "none".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// MarshalText returns [Kind.String], so a Kind is a JSON string.
func (k Kind) MarshalText() ([]byte, error) {
	if int(k) >= len(kindNames) || k == None {
		return nil, fmt.Errorf("%w: kind %d", ErrInvalidEntry, k)
	}
	return []byte(kindNames[k]), nil
}

// UnmarshalText reads "subject", "token" or "session".
func (k *Kind) UnmarshalText(b []byte) error {
	for i, n := range kindNames {
		if i != int(None) && string(b) == n {
			*k = Kind(i)
			return nil
		}
	}
	return fmt.Errorf("%w: unknown kind", ErrInvalidEntry)
}

// MaxFieldLen bounds every identifier of an [Entry], in bytes. Real ones
// (GUIDs, issuer URLs, jti values) are far shorter; the bound keeps a
// hostile event from filling memory through one entry.
const MaxFieldLen = 1024

// Entry is one revocation. Build it with [EntraUser], [IssuerSubject],
// [TokenID] or [SessionID]; its fields are exported so that stores can
// carry it (it marshals to JSON).
//
// A Subject entry names a user either by Microsoft Entra ID's tenant and
// object ID (tid, oid: stable across applications) or by issuer and
// subject (iss, sub, as other OpenID providers and SSF iss_sub identifiers
// name them); it refuses every token of that user issued before At, so a
// user who signs in again afterwards (a re-hire, a password reset) is not
// locked out. A Token entry refuses the token whose jti or uti is ID; a
// Session entry refuses every token whose sid is ID. A Token or Session
// entry with an Issuer ([IssuerToken], [IssuerSession]) refuses only tokens
// of that issuer: jti and sid values are unique per issuer only, so one
// issuer (or a security event transmitter speaking for it) cannot name
// another issuer's tokens.
type Entry struct {
	Kind     Kind      `json:"kind"`
	Issuer   string    `json:"iss,omitempty"` // Subject by iss+sub; scope of a Token or Session
	Subject  string    `json:"sub,omitempty"`
	TenantID string    `json:"tid,omitempty"` // Subject by Entra tid+oid
	ObjectID string    `json:"oid,omitempty"`
	ID       string    `json:"id,omitempty"` // Token: jti or uti; Session: sid
	At       time.Time `json:"at"`           // when revoked; zero means now at List.Revoke
}

// EntraUser revokes a Microsoft Entra ID user (or service principal) by
// tenant ID and object ID, the identity Entra guarantees stable.
func EntraUser(tenantID, objectID string) Entry {
	return Entry{Kind: Subject, TenantID: tenantID, ObjectID: objectID}
}

// IssuerSubject revokes the subject sub of issuer iss.
func IssuerSubject(iss, sub string) Entry { return Entry{Kind: Subject, Issuer: iss, Subject: sub} }

// TokenID revokes one token by its jti (or Entra uti), whatever its
// issuer. Prefer [IssuerToken] when the issuer is known.
func TokenID(id string) Entry { return Entry{Kind: Token, ID: id} }

// SessionID revokes every token of the session sid, whatever its issuer.
// Prefer [IssuerSession] when the issuer is known.
func SessionID(sid string) Entry { return Entry{Kind: Session, ID: sid} }

// IssuerToken revokes the token of issuer iss whose jti (or uti) is id.
func IssuerToken(iss, id string) Entry { return Entry{Kind: Token, Issuer: iss, ID: id} }

// IssuerSession revokes every token of issuer iss whose sid is sid.
func IssuerSession(iss, sid string) Entry { return Entry{Kind: Session, Issuer: iss, ID: sid} }

// Matches reports whether e revokes the token whose claims are c, by the
// rules of [List.Lookup]: a Token entry its jti or uti, a Session entry
// its sid, a Subject entry its tid+oid or iss+sub when c was issued before
// e.At or in the same second (a zero At, or a c without iat, counts as
// before); a Token or Session entry with an Issuer only c of that issuer.
// Its signature fits the Forget methods of caches that hold
// something per user and cannot import this package — token.Exchange
// (on-behalf-of tokens), rbac/ldap Directory.ForgetMatching — so that
// Options.OnRevoke can pass it: obo.Forget(e.Matches).
func (e Entry) Matches(c *idbridge.Claims) bool {
	if c == nil {
		return false
	}
	switch e.Kind {
	case Token:
		return e.ID != "" && (e.Issuer == "" || c.Issuer == e.Issuer) && (c.ID == e.ID || c.UTI == e.ID)
	case Session:
		return e.ID != "" && (e.Issuer == "" || c.Issuer == e.Issuer) && c.SessionID == e.ID
	case Subject:
		issuedBefore := e.At.IsZero() || c.IssuedAt.IsZero() || c.IssuedAt.Unix() <= e.At.Unix()
		if e.TenantID != "" {
			return issuedBefore && e.ObjectID != "" && c.TenantID == e.TenantID && c.ObjectID == e.ObjectID
		}
		return issuedBefore && e.Issuer != "" && e.Subject != "" && c.Issuer == e.Issuer && c.Subject == e.Subject
	}
	return false
}

// String describes the entry for logs without any token: identifiers of
// subjects and sessions, and for a token only its kind.
func (e Entry) String() string {
	switch e.Kind {
	case Subject:
		if e.TenantID != "" {
			return "subject tid=" + e.TenantID + " oid=" + e.ObjectID
		}
		return "subject iss=" + e.Issuer + " sub=" + e.Subject
	case Token, Session:
		if e.Issuer != "" {
			return e.Kind.String() + " iss=" + e.Issuer
		}
		return e.Kind.String()
	}
	return "invalid entry"
}

// normalize checks e and returns it in canonical form (Entra GUIDs lower
// case), or an error wrapping ErrInvalidEntry that names the field, never
// its value.
func (e Entry) normalize() (Entry, error) {
	bad := func(what string) (Entry, error) {
		return Entry{}, fmt.Errorf("%w: %s", ErrInvalidEntry, what)
	}
	for _, f := range [...]struct{ name, v string }{
		{"iss", e.Issuer}, {"sub", e.Subject}, {"tid", e.TenantID}, {"oid", e.ObjectID}, {"id", e.ID},
	} {
		if detail := checkField(f.v); detail != "" {
			return bad(f.name + " " + detail)
		}
	}
	switch e.Kind {
	case Subject:
		entra := e.TenantID != "" || e.ObjectID != ""
		byIss := e.Issuer != "" || e.Subject != ""
		switch {
		case e.ID != "":
			return bad("a subject entry has no id")
		case entra && byIss:
			return bad("a subject is named by tid+oid or by iss+sub, not both")
		case entra && (e.TenantID == "" || e.ObjectID == ""):
			return bad("an Entra subject needs both tid and oid")
		case byIss && (e.Issuer == "" || e.Subject == ""):
			return bad("a subject needs both iss and sub")
		case !entra && !byIss:
			return bad("a subject entry needs tid+oid or iss+sub")
		}
		// Entra writes GUIDs in lower case; governance tools often do not.
		e.TenantID, e.ObjectID = lowerGUID(e.TenantID), lowerGUID(e.ObjectID)
	case Token, Session:
		if e.ID == "" {
			return bad("a " + e.Kind.String() + " entry needs an id")
		}
		if e.Subject != "" || e.TenantID != "" || e.ObjectID != "" {
			return bad("a " + e.Kind.String() + " entry has only an id and an optional iss")
		}
	default:
		return bad("unknown kind")
	}
	return e, nil
}

func checkField(s string) string {
	if len(s) > MaxFieldLen {
		return "too long"
	}
	if !utf8.ValidString(s) {
		return "not UTF-8"
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return "has a control character"
		}
	}
	return ""
}

// lowerGUID lower-cases s when it is a GUID, and leaves anything else (a
// domain-style tenant name) as it is.
func lowerGUID(s string) string {
	if len(s) != 36 {
		return s
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return s
			}
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
		default:
			return s
		}
	}
	return strings.ToLower(s)
}
