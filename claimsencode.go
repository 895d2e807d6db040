package idbridge

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// builtClaim is Get for claims built in code (LDAP logins, a policy's test
// cases), which have no payload: the typed field that name fills, written
// as the same claims read from a token would hold it. Only the first name of
// a field answers (scp, not scope), as in encodeClaims.
func builtClaim(c *Claims, name string) (string, bool) {
	i, ok := claimIndex[name]
	if !ok || firstNameOf(i) != i {
		return "", false
	}
	return encodeClaim(c, &claimTable[i])
}

// firstNameOf is the index of the first claim name that fills the same
// field as the name at index i.
func firstNameOf(i int) int {
	for j := range i {
		if claimTable[j].field == claimTable[i].field {
			return j
		}
	}
	return i
}

// encodeClaims writes the typed fields of c that are set, each under the
// first claim name of the table that fills it (scp for the scopes), in
// table order. ParseClaims reads the result back into the same fields.
func encodeClaims(c *Claims) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := range claimTable {
		if firstNameOf(i) != i {
			continue // a field written under an earlier name
		}
		d := &claimTable[i]
		v, ok := encodeClaim(c, d)
		if !ok {
			continue
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		b.WriteString(jsonString(d.name))
		b.WriteByte(':')
		b.WriteString(v)
	}
	b.WriteByte('}')
	return b.String()
}

// encodeClaim is the JSON value of one typed claim of c, false when unset.
func encodeClaim(c *Claims, d *claimDef) (string, bool) {
	switch d.kind {
	case kindString:
		if s := *d.str(c); s != "" {
			return jsonString(s), true
		}
	case kindSpaced:
		if l := *d.list(c); len(l) > 0 {
			return jsonString(strings.Join(l, " ")), true
		}
	case kindList, kindAud:
		if l := *d.list(c); l != nil {
			return jsonValue(l)
		}
	case kindDate:
		if t := *d.date(c); !t.IsZero() {
			return numericDate(t), true
		}
	case kindNames:
		if c.ClaimNames != nil {
			return jsonValue(c.ClaimNames)
		}
	case kindSources:
		if c.ClaimSources != nil {
			return jsonValue(c.ClaimSources)
		}
	}
	return "", false
}

func jsonString(s string) string {
	v, _ := jsonValue(s)
	return v
}

// jsonValue marshals v, which is always a string, a string slice or a map
// of them, so it cannot fail.
func jsonValue(v any) (string, bool) {
	b, err := json.Marshal(v)
	return string(b), err == nil
}

// numericDate writes t as seconds since the epoch (RFC 7519 §2), with a
// fraction only when t has one.
func numericDate(t time.Time) string {
	if t.Nanosecond() == 0 {
		return strconv.FormatInt(t.Unix(), 10)
	}
	return strconv.FormatFloat(float64(t.UnixNano())/1e9, 'f', -1, 64)
}
