package token

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/idbridge/idbridge"
)

// introspected is a parsed introspection response.
type introspected struct {
	active                   bool
	claims                   idbridge.Claims
	tokenType, tokenUse, typ string
}

// listClaims are the list claims a server may send as a single string,
// which idbridge.ParseClaims refuses; see listsAsArrays.
var listClaims = []string{"groups", "roles", "amr", "wids", "acrs", "xms_cc"}

// parseIntrospection reads an RFC 7662 response with idbridge.ParseClaims, so
// the answer is decoded like a token payload (one JSON object, no
// duplicate member, the registered and Entra-style claims of their JSON
// types, null as absence) and Claims.Get returns every member, extensions
// included. On top of that: "active" must be a JSON boolean; a list claim
// (groups, roles, amr, ...) may be a single string; exp, iat and nbf must
// be non-negative and are read in whole seconds, 0 meaning absent; scope
// and client_id are read by idbridge's claim table, as in a JWT (Scopes,
// ClientID, so Client); username is the preferred username when
// preferred_username is not; token_type, token_use and typ must be
// strings. Every error wraps ErrIdPUnavailable and quotes at most a
// member's name, cut short.
func parseIntrospection(body []byte) (*introspected, error) {
	fail := func(detail string) (*introspected, error) {
		return nil, fmt.Errorf("%w: introspection response %s", ErrIdPUnavailable, detail)
	}
	c, err := idbridge.ParseClaims(body)
	if err != nil {
		if fixed, ok := listsAsArrays(body); ok {
			c, err = idbridge.ParseClaims(fixed)
		}
	}
	if err != nil {
		var ve *idbridge.ParseError
		if errors.As(err, &ve) {
			return fail("is malformed: " + ve.Detail)
		}
		return fail("is malformed")
	}
	// member returns a member's raw JSON, nil when absent or null. Get is
	// unambiguous: ParseClaims refused duplicate members.
	member := func(name string) json.RawMessage {
		if raw, ok := c.Get(name); ok && string(raw) != "null" {
			return raw
		}
		return nil
	}
	r := &introspected{}
	switch string(member("active")) {
	case "true":
		r.active = true
	case "false":
	case "":
		return fail("has no active member")
	default:
		return fail("has an invalid \"active\"")
	}
	// scope and client_id are in idbridge's claim table: ParseClaims read them
	// as the validator reads them in a JWT (Claims.Scopes, Claims.ClientID).
	var user string
	for _, m := range []struct {
		name string
		dst  *string
		saw  *bool
	}{
		{"username", &user, nil},
		{"token_type", &r.tokenType, nil}, {"token_use", &r.tokenUse, nil}, {"typ", &r.typ, nil},
	} {
		raw := member(m.name)
		if raw == nil {
			continue
		}
		v, ok := jsonString(raw)
		if !ok {
			return fail("has an invalid " + quoteCut(m.name))
		}
		*m.dst = v
		if m.saw != nil {
			*m.saw = true
		}
	}
	// jwks reads NumericDates of any sign, with fractions; RFC 7662 sends
	// whole seconds since the epoch, and some servers 0 for "never".
	for _, d := range []struct {
		name string
		dst  *time.Time
	}{{"exp", &c.ExpiresAt}, {"iat", &c.IssuedAt}, {"nbf", &c.NotBefore}} {
		raw := member(d.name)
		if raw == nil {
			continue
		}
		t, ok := jsonDate(raw)
		if !ok {
			return fail("has an invalid " + quoteCut(d.name))
		}
		*d.dst = t
	}
	if !r.active {
		// RFC 7662 section 2.2: nothing else of an inactive answer counts.
		return &introspected{}, nil
	}
	if c.PreferredUsername == "" {
		c.PreferredUsername = user
	}
	r.claims = *c
	return r, nil
}

// listsAsArrays rewrites the list claims of body that are a single JSON
// string into one-element arrays, so that ParseClaims accepts them (and
// Get returns them as the typed field reads them). It reports false when
// there is none, or body is not a JSON object; it checks nothing else,
// ParseClaims does.
func listsAsArrays(body []byte) ([]byte, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	var out []byte
	last := 0
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, false
		}
		name, _ := t.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, false
		}
		if len(raw) == 0 || raw[0] != '"' || !slices.Contains(listClaims, name) {
			continue
		}
		end := int(dec.InputOffset())
		start := end - len(raw)
		if start < last || string(body[start:end]) != string(raw) {
			return nil, false // not where expected: leave the body alone
		}
		out = append(out, body[last:start]...)
		out = append(out, '[')
		out = append(out, raw...)
		out = append(out, ']')
		last = end
	}
	if out == nil {
		return nil, false
	}
	return append(out, body[last:]...), true
}

func jsonString(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	return s, json.Unmarshal(raw, &s) == nil
}

// jsonDate reads a NumericDate. Zero (or less than a second) is read as
// absent, as some servers send it for tokens that do not expire.
func jsonDate(raw json.RawMessage) (time.Time, bool) {
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return time.Time{}, false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f < 0 || f > 1<<40 {
		return time.Time{}, false
	}
	if sec := int64(f); sec > 0 {
		return time.Unix(sec, 0).UTC(), true
	}
	return time.Time{}, true
}
