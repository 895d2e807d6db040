package idbridge

import (
	"slices"
	"strings"

	"github.com/idbridge/idbridge/internal/strictjson"
)

// This file is the one reader of JSON claims: decodeClaims fills Claims
// through the claim table, for ParseClaims and so for the jwks validator,
// the unverified JWT reader and token introspection alike, so no two paths
// read one payload differently.

// foldedTypedClaim returns the index of the typed claim that name equals
// under Unicode case folding without being equal to it ("EXP", "ſub"), or
// -1. encoding/json matches struct fields that way, so a service decoding
// the payload into its own struct would read "EXP" where we read "exp".
func foldedTypedClaim(name string) int {
	if strictjson.LowerASCII(name) {
		return -1 // lowercase ASCII: equal to a typed name or unrelated to all
	}
	for i := range claimTable {
		if strings.EqualFold(name, claimTable[i].name) {
			return i
		}
	}
	return -1
}

// decodeClaims parses the payload into c through claimTable. It returns a
// detail string on failure; every failure is of class malformed.
func decodeClaims(s string, c *Claims) string {
	d := strictjson.New(s)
	var seen, folded uint64
	var unknown strictjson.NameSet
	detail := ""
	ok := d.Members(func(name string) bool {
		idx, typed := claimIndex[name]
		if !typed {
			detail = otherClaim(&d, name, c, &unknown, &folded)
			return detail == ""
		}
		if seen&(1<<idx) != 0 {
			detail = "duplicate claim " + name
			return false
		}
		seen |= 1 << idx
		if d.Null() {
			return true // null is treated as absent
		}
		if idx == cNonce {
			c.marks |= markNonce // even "": only ID tokens carry a nonce
		}
		detail = typedClaim(&d, &claimTable[idx], c)
		return detail == ""
	})
	if !ok {
		if detail == "" {
			detail = "payload is not a JSON object"
		}
		return detail
	}
	if both := seen & folded; both != 0 {
		for i := range claimTable {
			if both&(1<<i) != 0 {
				return "claim " + claimTable[i].name + " appears again in another letter case"
			}
		}
	}
	// azp (v2), appid (v1) and client_id (RFC 9068) all name the client;
	// Client reads the first one set, so they must agree.
	if a, b := firstTwo(c.AuthorizedParty, c.AppID, c.ClientID); a != b && b != "" {
		return "claims azp, appid and client_id name different clients"
	}
	return ""
}

// otherClaim skips the value of a claim without a typed field, noting
// whether its name folds to a typed one and whether it marks an ID token.
func otherClaim(d *strictjson.Reader, name string, c *Claims, unknown *strictjson.NameSet, folded *uint64) string {
	if !unknown.Add(name) {
		return "duplicate claim " + strictjson.QuoteShort(name)
	}
	if i := foldedTypedClaim(name); i >= 0 {
		*folded |= 1 << i
	}
	if (name == "at_hash" || name == "c_hash") && d.Peek() != 'n' { // null is absent
		c.marks |= markCodeHash
	}
	if !d.Skip() {
		return "claim " + strictjson.QuoteShort(name) + " is not valid JSON"
	}
	return ""
}

// typedClaim reads the value of the typed claim def into c.
func typedClaim(d *strictjson.Reader, def *claimDef, c *Claims) string {
	ok := true
	switch def.kind {
	case kindString:
		*def.str(c), ok = d.Str()
	case kindList:
		*def.list(c), ok = d.Strings()
	case kindDate:
		*def.date(c), ok = d.NumericDate()
	case kindAud:
		*def.list(c), ok = stringOrList(d)
	case kindSpaced:
		return spacedClaim(d, def, c)
	case kindNames:
		c.ClaimNames, ok = d.StringMap()
	case kindSources:
		c.ClaimSources, ok = readClaimSources(d)
	}
	if !ok {
		return "claim " + def.name + " has the wrong type"
	}
	return ""
}

// stringOrList reads a string as a one-element list, or an array of
// strings.
func stringOrList(d *strictjson.Reader) ([]string, bool) {
	if d.Peek() == '"' {
		v, ok := d.Str()
		if !ok {
			return nil, false
		}
		return []string{v}, true
	}
	return d.Strings()
}

// spacedClaim reads Entra's scp or RFC 9068's scope: a space-separated
// string; some IdPs send an array. When both are present they must list
// the same scopes: one meaning or none.
func spacedClaim(d *strictjson.Reader, def *claimDef, c *Claims) string {
	var v []string
	if d.Peek() == '[' {
		l, ok := d.Strings()
		if !ok {
			return "claim " + def.name + " has the wrong type"
		}
		v = l
	} else {
		sv, ok := d.Str()
		if !ok {
			return "claim " + def.name + " has the wrong type"
		}
		v = strings.Fields(sv)
	}
	dst := def.list(c)
	if *dst == nil {
		*dst = v
	} else if !sameSet(*dst, v) {
		return "claims scp and scope list different scopes"
	}
	return ""
}

// firstTwo returns the first two non-empty values.
func firstTwo(vs ...string) (a, b string) {
	for _, v := range vs {
		switch {
		case v == "":
		case a == "":
			a = v
		case v != a:
			return a, v
		}
	}
	return a, ""
}

// sameSet reports whether a and b hold the same values, in any order.
func sameSet(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			return false
		}
	}
	return true
}

// claimSources reads _claim_sources: an object of objects, keeping only
// each source's endpoint.
func readClaimSources(d *strictjson.Reader) (map[string]ClaimSource, bool) {
	if !d.Consume('{') {
		return nil, false
	}
	m := map[string]ClaimSource{}
	if d.Consume('}') {
		return m, true
	}
	for {
		k, ok := d.Str()
		if !ok || !d.Consume(':') || !d.Consume('{') {
			return nil, false
		}
		if _, dup := m[k]; dup {
			return nil, false
		}
		var src ClaimSource
		if !d.Consume('}') {
			var names strictjson.NameSet
			for {
				f, ok := d.Str()
				if !ok || !names.Add(f) || !d.Consume(':') {
					return nil, false
				}
				if f == "endpoint" {
					if src.Endpoint, ok = d.Str(); !ok {
						return nil, false
					}
				} else if !d.Skip() {
					return nil, false
				}
				if d.Consume(',') {
					continue
				}
				if !d.Consume('}') {
					return nil, false
				}
				break
			}
		}
		m[k] = src
		if d.Consume(',') {
			continue
		}
		return m, d.Consume('}')
	}
}
