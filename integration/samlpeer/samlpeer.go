// Package samlpeer runs a SAML IdP we did not write — crewjam/saml's
// IdentityProvider — on 127.0.0.1, configured to behave as a Microsoft
// Entra ID tenant: entityID https://sts.windows.net/{tenant}/, Entra's
// federation metadata document (EntityDescriptor with a WS-Federation
// RoleDescriptor and an IDPSSODescriptor), and assertions carrying Entra's
// attribute URIs. Service providers are registered with AddSP; users sign
// in with Login (a cookie, as a browser session at Entra would be).
package samlpeer

import (
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"sync"
	"testing"

	crewjam "github.com/crewjam/saml"
	"github.com/crewjam/saml/xmlenc"

	"github.com/idbridge/idbridge/federation/saml/samltest"
)

// IdP is a running crewjam/saml IdentityProvider shaped like Entra.
type IdP struct {
	*httptest.Server
	Tenant string
	idp    *crewjam.IdentityProvider
	shape  *samltest.IdP // the same key, for Entra-shaped metadata

	mu    sync.Mutex
	sps   map[string]*crewjam.EntityDescriptor // entity ID → SP metadata
	users map[string]samltest.User             // login name → user
}

// Start runs the IdP until t ends.
func Start(t testing.TB, tenant string) *IdP {
	t.Helper()
	shape := samltest.New(tenant)
	p := &IdP{Tenant: tenant, shape: shape, sps: map[string]*crewjam.EntityDescriptor{}, users: map[string]samltest.User{}}
	mux := http.NewServeMux()
	p.Server = httptest.NewServer(mux)
	t.Cleanup(p.Close)
	entity, _ := url.Parse(shape.EntityID())
	sso, _ := url.Parse(p.URL + "/" + tenant + "/saml2")
	p.idp = &crewjam.IdentityProvider{
		Key: shape.Key, Certificate: shape.Cert,
		MetadataURL:             *entity, // the entity ID is the metadata URL's string
		SSOURL:                  *sso,
		SignatureMethod:         "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
		ServiceProviderProvider: p, SessionProvider: p,
	}
	mux.HandleFunc("/"+tenant+"/federationmetadata/2007-06/federationmetadata.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/samlmetadata+xml")
		w.Write(p.Metadata())
	})
	mux.HandleFunc("/"+tenant+"/saml2", p.idp.ServeSSO)
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "ESTSAUTH", Value: r.URL.Query().Get("user"), Path: "/", HttpOnly: true})
	})
	// IdP-initiated sign-in, as from https://myapps.microsoft.com: ?sp=<entity ID>.
	mux.HandleFunc("/"+tenant+"/idp-initiated", func(w http.ResponseWriter, r *http.Request) {
		p.idp.ServeIDPInitiated(w, r, r.URL.Query().Get("sp"), "")
	})
	return p
}

// MetadataURL is where the tenant's federation metadata is served.
func (p *IdP) MetadataURL() string {
	return p.URL + "/" + p.Tenant + "/federationmetadata/2007-06/federationmetadata.xml"
}

// Metadata is Entra's federation metadata document for the IdP's key,
// with the SSO endpoints pointing at this server.
func (p *IdP) Metadata() []byte {
	md := string(p.shape.Metadata())
	return []byte(regexp.MustCompile(`https://login\.microsoftonline\.com/[^/]+/saml2`).ReplaceAllString(md, p.idp.SSOURL.String()))
}

// AddSP registers a service provider by entity ID and ACS URL.
func (p *IdP) AddSP(entityID, acsURL string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sps[entityID] = &crewjam.EntityDescriptor{EntityID: entityID, SPSSODescriptors: []crewjam.SPSSODescriptor{{
		SSODescriptor:             crewjam.SSODescriptor{RoleDescriptor: crewjam.RoleDescriptor{ProtocolSupportEnumeration: "urn:oasis:names:tc:SAML:2.0:protocol"}},
		AssertionConsumerServices: []crewjam.IndexedEndpoint{{Binding: crewjam.HTTPPostBinding, Location: acsURL, Index: 1}},
	}}}
}

// AddSPMetadata registers a service provider from the SAML metadata it
// publishes, as an IdP imports it. When the metadata has a KeyDescriptor
// use="encryption", the IdP encrypts its assertions to that certificate
// (crewjam/saml: RSA-OAEP-MGF1P, and the first of AES-256-GCM, AES-128-GCM,
// AES-256-CBC the metadata lists, unless EncryptWith chose).
func (p *IdP) AddSPMetadata(md []byte) error {
	var ed crewjam.EntityDescriptor
	if err := xml.Unmarshal(md, &ed); err != nil {
		return fmt.Errorf("samlpeer: SP metadata: %w", err)
	}
	if ed.EntityID == "" || len(ed.SPSSODescriptors) == 0 {
		return errors.New("samlpeer: SP metadata without entityID or SPSSODescriptor")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sps[ed.EntityID] = &ed
	return nil
}

// EncryptWith makes the IdP encrypt assertions with enc rather than with
// the algorithms the SP metadata lists: xmlenc.OAEP() with SHA-1 and
// AES-256-CBC is Entra's token encryption.
func (p *IdP) EncryptWith(enc xmlenc.Encrypter) { p.idp.AssertionEncrypter = enc }

// AddUser registers a user who can Login as name.
func (p *IdP) AddUser(name string, u samltest.User) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.users[name] = u
}

// GetServiceProvider implements crewjam.ServiceProviderProvider.
func (p *IdP) GetServiceProvider(_ *http.Request, id string) (*crewjam.EntityDescriptor, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if sp, ok := p.sps[id]; ok {
		return sp, nil
	}
	return nil, os.ErrNotExist
}

// GetSession implements crewjam.SessionProvider: the user named by the
// session cookie, with Entra's attributes.
func (p *IdP) GetSession(w http.ResponseWriter, r *http.Request, _ *crewjam.IdpAuthnRequest) *crewjam.Session {
	c, err := r.Cookie("ESTSAUTH")
	p.mu.Lock()
	u, ok := p.users[valueOf(c, err)]
	p.mu.Unlock()
	if !ok {
		http.Error(w, "AADSTS50058: user not signed in", http.StatusUnauthorized)
		return nil
	}
	s := &crewjam.Session{
		ID: "s-" + samltest.GUID(), NameID: u.UPN,
		NameIDFormat:         "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
		AuthnContextClassRef: "urn:oasis:names:tc:SAML:2.0:ac:classes:Password",
	}
	s.Index = s.ID
	add := func(name string, vs ...string) {
		if len(vs) == 0 || (len(vs) == 1 && vs[0] == "") {
			return
		}
		a := crewjam.Attribute{Name: name}
		for _, v := range vs {
			a.Values = append(a.Values, crewjam.AttributeValue{Type: "xs:string", Value: v})
		}
		s.CustomAttributes = append(s.CustomAttributes, a)
	}
	add(samltest.AttrTenantID, p.Tenant)
	add(samltest.AttrObjectID, u.ObjectID)
	add(samltest.AttrIdP, p.shape.EntityID())
	amr := []string{samltest.MethodPassword}
	if u.MFA {
		amr = append(amr, samltest.MethodMFA)
	}
	add(samltest.AttrAMR, amr...)
	add(samltest.AttrDisplayName, u.DisplayName)
	add(samltest.AttrGroups, u.Groups...)
	add(samltest.AttrRole, u.Roles...)
	add(samltest.AttrEmail, u.Email)
	add(samltest.AttrName, u.UPN)
	add(samltest.AttrAWSRole, u.AWSRoles...)
	if len(u.AWSRoles) > 0 {
		add(samltest.AttrAWSSessionName, u.UPN)
	}
	if u.SessionDuration > 0 {
		add(samltest.AttrAWSSessionDuration, strconv.Itoa(u.SessionDuration))
	}
	return s
}

func valueOf(c *http.Cookie, err error) string {
	if err != nil {
		return ""
	}
	return c.Value
}

var (
	formAction = regexp.MustCompile(`<form[^>]*action="([^"]*)"`)
	formValue  = regexp.MustCompile(`name="SAMLResponse"\s+value="([^"]*)"`)
	relayValue = regexp.MustCompile(`name="RelayState"\s+value="([^"]*)"`)
)

// Form is the auto-posting form the IdP answers a sign-in with.
type Form struct {
	Action, SAMLResponse, RelayState string
}

// ParseForm reads the HTTP-POST binding form from an IdP answer page.
func ParseForm(page string) (Form, error) {
	a, v := formAction.FindStringSubmatch(page), formValue.FindStringSubmatch(page)
	if a == nil || v == nil {
		return Form{}, fmt.Errorf("samlpeer: no SAMLResponse form in the page (%d bytes)", len(page))
	}
	f := Form{Action: html.UnescapeString(a[1]), SAMLResponse: html.UnescapeString(v[1])}
	if rs := relayValue.FindStringSubmatch(page); rs != nil {
		f.RelayState = html.UnescapeString(rs[1])
	}
	return f, nil
}
