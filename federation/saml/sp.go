package saml

import (
	"encoding/xml"

	crewjam "github.com/crewjam/saml"
)

// AuthnRequest starts an SP-initiated sign-in: it returns the URL that
// sends the browser to the IdP's sign-on endpoint with a new AuthnRequest
// (HTTP-Redirect binding, answer by HTTP-POST to the ACS URL) carrying
// relayState, and the request's ID, which the response's InResponseTo
// must name: pass it to Validate.
func (v *Validator) AuthnRequest(relayState string) (redirectURL, requestID string, err error) {
	sp := v.serviceProvider()
	loc := sp.GetSSOBindingLocation(crewjam.HTTPRedirectBinding)
	if loc == "" {
		return "", "", badOptions("the IdP metadata has no HTTP-Redirect SingleSignOnService")
	}
	req, err := sp.MakeAuthenticationRequest(loc, crewjam.HTTPRedirectBinding, crewjam.HTTPPostBinding)
	if err != nil {
		return "", "", fail(ErrMalformed, "building the AuthnRequest: %s", cut(err.Error(), 100))
	}
	u, err := req.Redirect(relayState, sp)
	if err != nil {
		return "", "", fail(ErrMalformed, "encoding the AuthnRequest: %s", cut(err.Error(), 100))
	}
	return u.String(), req.ID, nil
}

// LogoutRequest returns the URL that sends the browser to the IdP's
// single logout endpoint with a LogoutRequest for nameID (HTTP-Redirect
// binding), or "" when the metadata lists none.
func (v *Validator) LogoutRequest(nameID, relayState string) (string, error) {
	sp := v.serviceProvider()
	if sp.GetSLOBindingLocation(crewjam.HTTPRedirectBinding) == "" {
		return "", nil
	}
	u, err := sp.MakeRedirectLogoutRequest(nameID, relayState)
	if err != nil {
		return "", fail(ErrMalformed, "building the LogoutRequest: %s", cut(err.Error(), 100))
	}
	return u.String(), nil
}

// ServiceProviderMetadata returns the SP's SAML metadata (entity ID, the
// ACS with the HTTP-POST binding), to register the SP at the IdP.
func (v *Validator) ServiceProviderMetadata() ([]byte, error) {
	b, err := xml.MarshalIndent(v.serviceProvider().Metadata(), "", "  ")
	if err != nil {
		return nil, fail(ErrMalformed, "encoding SP metadata")
	}
	return append([]byte(xml.Header), b...), nil
}
