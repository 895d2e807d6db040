package saml

import (
	"encoding/json"
	"strings"
	"time"

	crewjam "github.com/crewjam/saml"

	"github.com/idbridge/idbridge"
)

// Entra's SAML attribute names (the claim URIs of its SAML tokens).
const (
	AttrTenantID    = "http://schemas.microsoft.com/identity/claims/tenantid"
	AttrObjectID    = "http://schemas.microsoft.com/identity/claims/objectidentifier"
	AttrDisplayName = "http://schemas.microsoft.com/identity/claims/displayname"
	AttrIdP         = "http://schemas.microsoft.com/identity/claims/identityprovider"
	AttrAMR         = "http://schemas.microsoft.com/claims/authnmethodsreferences"
	AttrGroups      = "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"
	AttrGroupsLink  = "http://schemas.microsoft.com/claims/groups.link"
	AttrRole        = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
	AttrWIDs        = "http://schemas.microsoft.com/ws/2008/06/identity/claims/wids"
	AttrName        = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
	AttrEmail       = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"
	AttrGivenName   = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname"
	AttrSurname     = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname"
)

// amrValues maps Entra's authnmethodsreferences URIs to the amr values
// (RFC 8176) its JWTs carry, so "mfa" means the same on both paths.
var amrValues = map[string]string{
	"http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password": "pwd",
	"http://schemas.microsoft.com/claims/multipleauthn":                              "mfa",
	"http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/x509":     "rsa",
	"http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/windows":  "wia",
}

// claims maps the validated library assertion to an Assertion whose Claims
// read like an Entra token's. Everything here comes from the element the
// signature covers: the library unmarshals the assertion from it.
func (v *Validator) claims(a *crewjam.Assertion) (*Assertion, error) {
	out := &Assertion{ID: a.ID, NotOnOrAfter: a.Conditions.NotOnOrAfter}
	if a.Subject.NameID == nil || a.Subject.NameID.Value == "" {
		return nil, fail(ErrMissingClaim, "no NameID")
	}
	out.NameID, out.NameIDFormat = a.Subject.NameID.Value, a.Subject.NameID.Format
	attrs, err := attributes(a)
	if err != nil {
		return nil, err
	}
	out.Attributes = attrs
	first := func(name string) string {
		if vs := attrs[name]; len(vs) > 0 {
			return vs[0]
		}
		return ""
	}
	m := claimMap{}
	for name, vs := range attrs {
		m[name] = vs
	}
	tid := first(AttrTenantID)
	iss := a.Issuer.Value
	if v.o.ClaimsIssuer != "" {
		iss = strings.ReplaceAll(v.o.ClaimsIssuer, "{tenantid}", tid)
	}
	m.set("iss", iss)
	m.set("sub", out.NameID)
	m["aud"] = []string{v.entityID}
	m.set("jti", a.ID)
	m.set("tid", tid)
	m.set("oid", first(AttrObjectID))
	m.set("name", first(AttrDisplayName))
	m.set("email", first(AttrEmail))
	m.set("given_name", first(AttrGivenName))
	m.set("family_name", first(AttrSurname))
	m.set("idp", first(AttrIdP))
	upn := first(AttrName)
	if upn == "" && out.NameIDFormat == "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" {
		upn = out.NameID
	}
	m.set("preferred_username", upn)
	m.list("groups", attrs[AttrGroups])
	m.list("roles", attrs[AttrRole])
	m.list("wids", attrs[AttrWIDs])
	var amr []string
	for _, u := range attrs[AttrAMR] {
		if s, ok := amrValues[u]; ok {
			amr = append(amr, s)
		}
	}
	m.list("amr", amr)
	if link := first(AttrGroupsLink); link != "" {
		// Overage: Entra sends a Graph link instead of the groups.
		m["_claim_names"] = map[string]string{"groups": "src1"}
		m["_claim_sources"] = map[string]any{"src1": map[string]string{"endpoint": link}}
	}
	m.unix("iat", a.IssueInstant)
	m.unix("nbf", a.Conditions.NotBefore)
	m.unix("exp", a.Conditions.NotOnOrAfter)
	if len(a.AuthnStatements) > 0 {
		m.authn(out, a.AuthnStatements[0])
	}
	payload, err := json.Marshal(m)
	if err != nil {
		return nil, fail(ErrMalformed, "claims do not encode as JSON")
	}
	c, err := idbridge.ParseClaims(payload)
	if err != nil {
		return nil, fail(ErrMalformed, "claims: %s", cut(err.Error(), 100))
	}
	out.Claims = c
	return out, nil
}

// attributes reads the assertion's attribute statements; an attribute
// named twice is refused.
func attributes(a *crewjam.Assertion) (map[string][]string, error) {
	out := map[string][]string{}
	for _, st := range a.AttributeStatements {
		for _, at := range st.Attributes {
			if _, dup := out[at.Name]; dup {
				return nil, fail(ErrMalformed, "attribute %q appears twice", cut(at.Name, 80))
			}
			vs := make([]string, 0, len(at.Values))
			for _, av := range at.Values {
				vs = append(vs, av.Value)
			}
			out[at.Name] = vs
		}
	}
	return out, nil
}

// claimMap is the JSON claims set being built from an assertion.
type claimMap map[string]any

// set adds a string claim unless it is empty.
func (m claimMap) set(k, val string) {
	if val != "" {
		m[k] = val
	}
}

// list adds a list claim unless it is empty.
func (m claimMap) list(k string, vs []string) {
	if len(vs) > 0 {
		m[k] = vs
	}
}

// unix adds a NumericDate claim unless t is zero.
func (m claimMap) unix(k string, t time.Time) {
	if !t.IsZero() {
		m[k] = t.Unix()
	}
}

// authn adds what the authentication statement says: sid, auth_time, acr,
// and the session's index and end on out.
func (m claimMap) authn(out *Assertion, as crewjam.AuthnStatement) {
	out.SessionIndex = as.SessionIndex
	m.set("sid", as.SessionIndex)
	m.unix("auth_time", as.AuthnInstant)
	if as.SessionNotOnOrAfter != nil {
		out.SessionNotOnOrAfter = *as.SessionNotOnOrAfter
	}
	if as.AuthnContext.AuthnContextClassRef != nil {
		m.set("acr", as.AuthnContext.AuthnContextClassRef.Value)
	}
}
