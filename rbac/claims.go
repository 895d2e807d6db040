package rbac

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/idbridge/idbridge/jwks"
)

// Accessors for claims with a typed field in jwks.Claims, so the hot path
// never parses JSON for them.
const (
	accCustom = iota
	accIss
	accSub
	accJTI
	accUTI
	accOID
	accTID
	accAzp
	accAppID
	accAzpACR
	accAppIDACR
	accIDType
	accACR
	accPreferredUsername
	accName
	accEmail
	accVer
	accSID
	accNonce
	// Multi-valued: "equals" matches any element.
	accAud
	accScp
	accRoles
	accGroups
	accWIDs
	accACRS
	accAMR
	accXmsCC
)

var accessorNames = map[string]int{
	"iss": accIss, "sub": accSub, "jti": accJTI, "uti": accUTI, "oid": accOID, "tid": accTID,
	"azp": accAzp, "appid": accAppID, "azpacr": accAzpACR, "appidacr": accAppIDACR, "idtyp": accIDType,
	"acr": accACR, "preferred_username": accPreferredUsername, "name": accName, "email": accEmail,
	"ver": accVer, "sid": accSID, "nonce": accNonce,
	"aud": accAud, "scp": accScp, "roles": accRoles, "groups": accGroups, "wids": accWIDs,
	"acrs": accACRS, "amr": accAMR, "xms_cc": accXmsCC,
}

func accessorFor(name string) int { return accessorNames[name] }

func stringClaim(c *jwks.Claims, acc int) string {
	switch acc {
	case accIss:
		return c.Issuer
	case accSub:
		return c.Subject
	case accJTI:
		return c.ID
	case accUTI:
		return c.UTI
	case accOID:
		return c.ObjectID
	case accTID:
		return c.TenantID
	case accAzp:
		return c.AuthorizedParty
	case accAppID:
		return c.AppID
	case accAzpACR:
		return c.AuthorizedPartyACR
	case accAppIDACR:
		return c.AppIDACR
	case accIDType:
		return c.IDType
	case accACR:
		return c.ACR
	case accPreferredUsername:
		return c.PreferredUsername
	case accName:
		return c.Name
	case accEmail:
		return c.Email
	case accVer:
		return c.Version
	case accSID:
		return c.SessionID
	case accNonce:
		return c.Nonce
	}
	return ""
}

func listClaim(c *jwks.Claims, acc int) []string {
	switch acc {
	case accAud:
		return c.Audience
	case accScp:
		return c.Scopes
	case accRoles:
		return c.Roles
	case accGroups:
		return c.Groups
	case accWIDs:
		return c.WIDs
	case accACRS:
		return c.ACRS
	case accAMR:
		return c.AMR
	case accXmsCC:
		return c.ClientCapabilities
	}
	return nil
}

// extras carries what a claims set built from plain JSON (policy tests,
// DecideJSON) has beyond the typed fields: the untyped claims, and the
// first standard claim that had the wrong JSON type.
type extras struct {
	raw map[string]json.RawMessage
	bad string
}

// rawClaim returns a claim that has no typed field.
func rawClaim(c *jwks.Claims, x *extras, name string) (json.RawMessage, bool) {
	if x != nil {
		v, ok := x.raw[name]
		return v, ok
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
// reviewer writes them in a policy test or passes them to policycheck.
// Typed fields are filled from their standard names; a standard claim of the
// wrong type is remembered (the decision will deny with ErrClaimType, as a
// validator would reject such a token); everything else stays raw.
func claimsFromJSON(payload []byte) (*jwks.Claims, *extras, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(payload, &m); err != nil {
		return nil, nil, fmt.Errorf("claims are not a JSON object: %w", err)
	}
	if m == nil {
		return nil, nil, fmt.Errorf("claims are not a JSON object")
	}
	c := &jwks.Claims{}
	x := &extras{raw: map[string]json.RawMessage{}}
	bad := func(name string) {
		if x.bad == "" {
			x.bad = name
		}
	}
	str := func(name string, dst *string) {
		v, ok := m[name]
		if !ok {
			return
		}
		b, s, ok := rawString(v)
		if !ok {
			bad(name)
			return
		}
		if b != nil {
			s = string(b)
		}
		*dst = s
	}
	list := func(name string, dst *[]string, single bool) {
		v, ok := m[name]
		if !ok {
			return
		}
		if single {
			if b, s, ok := rawString(v); ok {
				if b != nil {
					s = string(b)
				}
				*dst = []string{s}
				return
			}
		}
		l, ok := rawList(v, false)
		if !ok {
			bad(name)
			return
		}
		*dst = l
	}
	date := func(name string, dst *time.Time) {
		v, ok := m[name]
		if !ok {
			return
		}
		var f float64
		if err := json.Unmarshal(v, &f); err != nil {
			bad(name)
			return
		}
		*dst = time.Unix(int64(f), 0).UTC()
	}
	str("iss", &c.Issuer)
	str("sub", &c.Subject)
	list("aud", &c.Audience, true)
	date("exp", &c.ExpiresAt)
	date("nbf", &c.NotBefore)
	date("iat", &c.IssuedAt)
	str("jti", &c.ID)
	str("uti", &c.UTI)
	str("oid", &c.ObjectID)
	str("tid", &c.TenantID)
	str("azp", &c.AuthorizedParty)
	str("appid", &c.AppID)
	str("azpacr", &c.AuthorizedPartyACR)
	str("appidacr", &c.AppIDACR)
	if v, ok := m["scp"]; ok {
		b, s, ok := rawString(v)
		if !ok {
			bad("scp")
		} else {
			if b != nil {
				s = string(b)
			}
			c.Scopes = strings.Fields(s)
		}
	}
	list("roles", &c.Roles, false)
	list("groups", &c.Groups, false)
	list("wids", &c.WIDs, false)
	str("idtyp", &c.IDType)
	str("acr", &c.ACR)
	list("acrs", &c.ACRS, false)
	list("amr", &c.AMR, false)
	list("xms_cc", &c.ClientCapabilities, false)
	str("preferred_username", &c.PreferredUsername)
	str("name", &c.Name)
	str("email", &c.Email)
	str("ver", &c.Version)
	str("sid", &c.SessionID)
	str("nonce", &c.Nonce)
	if v, ok := m["_claim_names"]; ok {
		if err := json.Unmarshal(v, &c.ClaimNames); err != nil {
			bad("_claim_names")
		}
	}
	if v, ok := m["_claim_sources"]; ok {
		if err := json.Unmarshal(v, &c.ClaimSources); err != nil {
			bad("_claim_sources")
		}
	}
	for k, v := range m {
		if _, typed := accessorNames[k]; typed {
			continue
		}
		x.raw[k] = v
	}
	return c, x, nil
}
