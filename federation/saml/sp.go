package saml

import (
	"encoding/xml"
	"slices"

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
// ACS with the HTTP-POST binding), to register the SP at the IdP. With
// Options.DecryptionKeys, it also publishes the first key's certificate as
// a KeyDescriptor use="encryption", listing the accepted algorithms, AES-GCM
// first.
func (v *Validator) ServiceProviderMetadata() ([]byte, error) {
	md := v.serviceProvider().Metadata()
	for i := range md.SPSSODescriptors {
		for j := range md.SPSSODescriptors[i].KeyDescriptors {
			kd := &md.SPSSODescriptors[i].KeyDescriptors[j]
			kd.EncryptionMethods = slices.DeleteFunc(kd.EncryptionMethods, func(m crewjam.EncryptionMethod) bool {
				return !contentAlgorithms[m.Algorithm] && !keyTransports[m.Algorithm]
			})
		}
	}
	b, err := xml.MarshalIndent(md, "", "  ")
	if err != nil {
		return nil, fail(ErrMalformed, "encoding SP metadata")
	}
	return append([]byte(xml.Header), b...), nil
}
