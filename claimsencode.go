package idbridge

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// payload is the claims as a JSON object: the payload as it was parsed, or,
// for claims built in code (LDAP logins, a policy's test cases), their typed
// fields written through the claim table, so that Get and MarshalJSON answer
// for them as they would for the same claims read from a token.
func (c *Claims) payload() string {
	if c.raw != "" {
		return c.raw
	}
	return encodeClaims(c)
}

// encodeClaims writes the typed fields of c that are set, each under the
// first claim name of the table that fills it (scp for the scopes), in
// table order. ParseClaims reads the result back into the same fields.
func encodeClaims(c *Claims) string {
	var b strings.Builder
	b.WriteByte('{')
	seen := make(map[string]bool, len(claimTable)) // fields written under an earlier name
	for i := range claimTable {
		d := &claimTable[i]
		if seen[d.field] {
			continue
		}
		seen[d.field] = true
		v, ok := encodeClaim(c, d)
		if !ok {
			continue
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(d.name))
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
