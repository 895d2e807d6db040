package idbridge

import "time"

// This file is the one mapping from the claim names identity providers use
// to the typed fields of Claims. The JSON claims reader (so jwks validation,
// ParseClaims and internal/jwt) fills Claims through it, and
// [LookupClaim] gives it to everything else that reads a claim by name
// (rbac conditions, policy tests, the token introspector, audit), so one
// token means the same everywhere. It depends only on Claims, so it moves
// with Claims.

// claimKind is the JSON shape of a typed claim.
type claimKind uint8

const (
	kindString  claimKind = iota // a JSON string
	kindList                     // an array of strings
	kindSpaced                   // a space-separated string, or an array (scopes)
	kindAud                      // a string or an array of strings
	kindDate                     // a NumericDate
	kindNames                    // _claim_names: an object of strings
	kindSources                  // _claim_sources: an object of objects
)

// claimDef is one claim name and the typed field it fills. Several names
// may fill one field (scp and scope the scopes).
type claimDef struct {
	name  string
	field string // the Claims field it fills
	kind  claimKind
	str   func(*Claims) *string
	list  func(*Claims) *[]string
	date  func(*Claims) *time.Time
}

// Claim indexes, for duplicate detection in decodeClaims.
const (
	cIss = iota
	cSub
	cAud
	cExp
	cNbf
	cIat
	cJti
	cUti
	cOid
	cTid
	cAzp
	cAppid
	cClientID
	cAzpacr
	cAppidacr
	cScp
	cScope
	cRoles
	cGroups
	cWids
	cIdtyp
	cAcr
	cAcrs
	cAmr
	cXmsCC
	cPreferredUsername
	cName
	cEmail
	cVer
	cSid
	cNonce
	cClaimNames
	cClaimSources
	numTypedClaims
)

func strField(f func(*Claims) *string) claimDef     { return claimDef{kind: kindString, str: f} }
func listField(f func(*Claims) *[]string) claimDef  { return claimDef{kind: kindList, list: f} }
func dateField(f func(*Claims) *time.Time) claimDef { return claimDef{kind: kindDate, date: f} }
func spaced(f func(*Claims) *[]string) claimDef     { return claimDef{kind: kindSpaced, list: f} }
func other(k claimKind) claimDef                    { return claimDef{kind: k} }
func named(name, field string, d claimDef) claimDef { d.name, d.field = name, field; return d }
func scopesOf(c *Claims) *[]string                  { return &c.Scopes }
func audOf(c *Claims) *[]string                     { return &c.Audience }

// claimTable is the mapping, by claim index.
var claimTable = [numTypedClaims]claimDef{
	cIss:               named("iss", "Issuer", strField(func(c *Claims) *string { return &c.Issuer })),
	cSub:               named("sub", "Subject", strField(func(c *Claims) *string { return &c.Subject })),
	cAud:               named("aud", "Audience", claimDef{kind: kindAud, list: audOf}),
	cExp:               named("exp", "ExpiresAt", dateField(func(c *Claims) *time.Time { return &c.ExpiresAt })),
	cNbf:               named("nbf", "NotBefore", dateField(func(c *Claims) *time.Time { return &c.NotBefore })),
	cIat:               named("iat", "IssuedAt", dateField(func(c *Claims) *time.Time { return &c.IssuedAt })),
	cJti:               named("jti", "ID", strField(func(c *Claims) *string { return &c.ID })),
	cUti:               named("uti", "UTI", strField(func(c *Claims) *string { return &c.UTI })),
	cOid:               named("oid", "ObjectID", strField(func(c *Claims) *string { return &c.ObjectID })),
	cTid:               named("tid", "TenantID", strField(func(c *Claims) *string { return &c.TenantID })),
	cAzp:               named("azp", "AuthorizedParty", strField(func(c *Claims) *string { return &c.AuthorizedParty })),
	cAppid:             named("appid", "AppID", strField(func(c *Claims) *string { return &c.AppID })),
	cClientID:          named("client_id", "ClientID", strField(func(c *Claims) *string { return &c.ClientID })),
	cAzpacr:            named("azpacr", "AuthorizedPartyACR", strField(func(c *Claims) *string { return &c.AuthorizedPartyACR })),
	cAppidacr:          named("appidacr", "AppIDACR", strField(func(c *Claims) *string { return &c.AppIDACR })),
	cScp:               named("scp", "Scopes", spaced(scopesOf)),
	cScope:             named("scope", "Scopes", spaced(scopesOf)),
	cRoles:             named("roles", "Roles", listField(func(c *Claims) *[]string { return &c.Roles })),
	cGroups:            named("groups", "Groups", listField(func(c *Claims) *[]string { return &c.Groups })),
	cWids:              named("wids", "WIDs", listField(func(c *Claims) *[]string { return &c.WIDs })),
	cIdtyp:             named("idtyp", "IDType", strField(func(c *Claims) *string { return &c.IDType })),
	cAcr:               named("acr", "ACR", strField(func(c *Claims) *string { return &c.ACR })),
	cAcrs:              named("acrs", "ACRS", listField(func(c *Claims) *[]string { return &c.ACRS })),
	cAmr:               named("amr", "AMR", listField(func(c *Claims) *[]string { return &c.AMR })),
	cXmsCC:             named("xms_cc", "ClientCapabilities", listField(func(c *Claims) *[]string { return &c.ClientCapabilities })),
	cPreferredUsername: named("preferred_username", "PreferredUsername", strField(func(c *Claims) *string { return &c.PreferredUsername })),
	cName:              named("name", "Name", strField(func(c *Claims) *string { return &c.Name })),
	cEmail:             named("email", "Email", strField(func(c *Claims) *string { return &c.Email })),
	cVer:               named("ver", "Version", strField(func(c *Claims) *string { return &c.Version })),
	cSid:               named("sid", "SessionID", strField(func(c *Claims) *string { return &c.SessionID })),
	cNonce:             named("nonce", "Nonce", strField(func(c *Claims) *string { return &c.Nonce })),
	cClaimNames:        named("_claim_names", "ClaimNames", other(kindNames)),
	cClaimSources:      named("_claim_sources", "ClaimSources", other(kindSources)),
}

// claimIndex maps a claim name to its index in claimTable.
var claimIndex = func() map[string]int {
	m := make(map[string]int, numTypedClaims)
	for i, d := range claimTable {
		m[d.name] = i
	}
	return m
}()

// ClaimRef is a typed claim of [Claims] found by name with [LookupClaim].
// Its zero value is no claim.
type ClaimRef struct{ d *claimDef }

// LookupClaim returns the typed claim that the claim name fills, or false
// when Claims has no typed field for it (read it with [Claims.Get]). Names
// that fill one field give the same answer: "scp" and "scope" both read the
// scopes.
func LookupClaim(name string) (ClaimRef, bool) {
	i, ok := claimIndex[name]
	if !ok {
		return ClaimRef{}, false
	}
	return ClaimRef{&claimTable[i]}, true
}

// TypedClaimNames returns every claim name that [LookupClaim] knows, in a
// fixed order.
func TypedClaimNames() []string {
	out := make([]string, len(claimTable))
	for i, d := range claimTable {
		out[i] = d.name
	}
	return out
}

// Multi reports whether the claim holds a list (aud, scopes, roles,
// groups, ...), so a condition on it matches any element.
func (r ClaimRef) Multi() bool { return r.d != nil && r.d.list != nil }

// Date reports whether the claim is a NumericDate (exp, nbf, iat).
func (r ClaimRef) Date() bool { return r.d != nil && r.d.date != nil }

// String returns the value of a single-valued string claim of c, or "".
func (r ClaimRef) String(c *Claims) string {
	if r.d == nil || r.d.str == nil || c == nil {
		return ""
	}
	return *r.d.str(c)
}

// Strings returns the values of a list claim of c, or nil. The slice is
// c's own: do not modify it.
func (r ClaimRef) Strings(c *Claims) []string {
	if r.d == nil || r.d.list == nil || c == nil {
		return nil
	}
	return *r.d.list(c)
}

// Time returns the value of a date claim of c, zero when absent.
func (r ClaimRef) Time(c *Claims) time.Time {
	if r.d == nil || r.d.date == nil || c == nil {
		return time.Time{}
	}
	return *r.d.date(c)
}

// Name returns the claim's name, "" for the zero ClaimRef.
func (r ClaimRef) Name() string {
	if r.d == nil {
		return ""
	}
	return r.d.name
}

// Field returns the name of the Claims field the claim fills ("Scopes" for
// both scp and scope), "" for the zero ClaimRef.
func (r ClaimRef) Field() string {
	if r.d == nil {
		return ""
	}
	return r.d.field
}
