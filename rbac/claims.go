package rbac

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/idbridge/idbridge"
)

// Claims with a typed field in idbridge.Claims are read through the one
// claim table (idbridge.LookupClaim), so a condition on scp or scope, azp or
// client_id reads what the validator decoded and the hot path never
// parses JSON for them. An accessor is an index into claimRefs; accCustom
// (0) is a claim without a typed field.
const accCustom = 0

var claimRefs = func() []idbridge.ClaimRef {
	refs := []idbridge.ClaimRef{{}} // accCustom
	for _, name := range idbridge.TypedClaimNames() {
		ref, _ := idbridge.LookupClaim(name)
		refs = append(refs, ref)
	}
	return refs
}()

var accessorNames = func() map[string]int {
	m := map[string]int{}
	for i, name := range idbridge.TypedClaimNames() {
		m[name] = i + 1
	}
	return m
}()

func accessorFor(name string) int { return accessorNames[name] }

// multiClaim reports whether a typed claim is a list: a condition on it
// matches any element.
func multiClaim(acc int) bool { return claimRefs[acc].Multi() }

// fills reports whether the claim table decodes the claim name into the
// Claims field.
func fills(name, field string) bool {
	r, ok := idbridge.LookupClaim(name)
	return ok && r.Field() == field
}

func stringClaim(c *idbridge.Claims, acc int) string { return claimRefs[acc].String(c) }

func listClaim(c *idbridge.Claims, acc int) []string { return claimRefs[acc].Strings(c) }

// extras carries what a claims set built from plain JSON (policy tests,
// DecideJSON) has beyond the typed fields: the untyped claims, and the
// first standard claim that had the wrong JSON type.
type extras struct {
	raw map[string]json.RawMessage
	bad string
}

// rawClaim returns a claim that has no typed field.
func rawClaim(c *idbridge.Claims, x *extras, name string) (json.RawMessage, bool) {
	if x != nil {
		if v, ok := x.raw[name]; ok {
			return v, ok
		}
	}
	return c.Get(name)
}

// rawString returns a JSON string value. Strings without escapes are
// returned without copying or allocating (the caller only uses them as map
// keys). ok is false for any other JSON type.
func rawString(v json.RawMessage) (s []byte, alloc string, ok bool) {
	v = bytes.TrimSpace(v)
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return nil, "", false
	}
	inner := v[1 : len(v)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return inner, "", true
	}
	var out string
	if err := json.Unmarshal(v, &out); err != nil {
		return nil, "", false
	}
	return nil, out, true
}

// rawList decodes a claim that must be an array of strings; spaced also
// accepts a space-separated string (scopes). null and every other type
// are errors: the policy never guesses what a wrong-typed claim means.
func rawList(v json.RawMessage, spaced bool) ([]string, bool) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return nil, false
	}
	switch v[0] {
	case '[':
		var out []string
		if err := json.Unmarshal(v, &out); err != nil {
			return nil, false
		}
		return out, true
	case '"':
		if !spaced {
			return nil, false
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, false
		}
		return strings.Fields(s), true
	}
	return nil, false
}

// claimsFromJSON builds claims from an unverified JSON payload, the way a
// reviewer writes them in a policy test or passes them to policycheck, with
// the validator's decoder (idbridge.ParseClaims) and so its claim table. A
// typed claim of the wrong type is remembered and left out (the decision
// will deny with ErrClaimType, as a validator would reject such a token);
// every other claim stays raw.
func claimsFromJSON(payload []byte) (*idbridge.Claims, *extras, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(payload, &m); err != nil {
		return nil, nil, &idbridge.ParseError{Err: idbridge.ErrMalformed, Detail: "claims are not a JSON object: " + err.Error()}
	}
	if m == nil {
		return nil, nil, &idbridge.ParseError{Err: idbridge.ErrMalformed, Detail: "claims are not a JSON object"}
	}
	x := &extras{raw: map[string]json.RawMessage{}}
	dropped := false
	for _, name := range idbridge.TypedClaimNames() {
		v, ok := m[name]
		if !ok {
			continue
		}
		one, _ := json.Marshal(map[string]json.RawMessage{name: v})
		if _, err := idbridge.ParseClaims(one); err != nil {
			if x.bad == "" {
				x.bad = name
			}
			delete(m, name)
			dropped = true
		}
	}
	for k, v := range m {
		if _, typed := idbridge.LookupClaim(k); !typed {
			x.raw[k] = v
		}
	}
	if dropped {
		payload, _ = json.Marshal(m)
	}
	c, err := idbridge.ParseClaims(payload)
	if err != nil {
		return nil, nil, fmt.Errorf("claims: %w", err)
	}
	return c, x, nil
}
