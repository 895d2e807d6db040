package samlit

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/crewjam/saml/xmlenc"

	"github.com/idbridge/idbridge/federation/saml"
	"github.com/idbridge/idbridge/federation/saml/samltest"
	"github.com/idbridge/idbridge/integration/samlpeer"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/middleware/samlsp"
	"github.com/idbridge/idbridge/rbac"
)

const cbsPolicy = `version: 1
issuers:
  - name: entra
    issuer: https://login.microsoftonline.com/9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c/v2.0
groups:
  - {id: 4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13, name: Lending_RM}
roles:
  - {name: CBS_Viewer, permissions: [cbs:account:read]}
  - {name: CBS_Originator, permissions: [cbs:loan:create]}
mappings:
  - {id: rm-view, when: {group: Lending_RM}, grant: {roles: [CBS_Viewer]}}
  - {id: rm-originate, when: {group: Lending_RM, mfa: true}, grant: {roles: [CBS_Originator]}}
`

// TestPortalSignInThroughCrewjamIdP runs the whole browser flow: the core
// banking portal (middleware/samlsp) sends the browser to the IdP with an
// AuthnRequest, crewjam/saml's IdP answers with its auto-post form, the
// browser posts it to the ACS, and the portal's handler sees Amit.
//
// The encrypted cases turn on token encryption as a bank does at Entra:
// the portal's validator holds a decryption key, the portal's
// /saml/metadata publishes its certificate, the IdP imports that metadata
// and encrypts the signed assertion to it, and the portal decrypts.
func TestPortalSignInThroughCrewjamIdP(t *testing.T) {
	entraCBC := xmlenc.OAEP()
	entraCBC.DigestMethod, entraCBC.BlockCipher = xmlenc.SHA1, xmlenc.AES256CBC
	for _, tc := range []struct {
		name    string
		encrypt bool
		with    xmlenc.Encrypter // nil: what the SP metadata lists first
		content string           // the content algorithm the response must carry
	}{
		{name: "plain"},
		{name: "encrypted, AES-256-GCM as the SP metadata prefers", encrypt: true, content: "http://www.w3.org/2009/xmlenc11#aes256-gcm"},
		{name: "encrypted as Entra does, AES-256-CBC and RSA-OAEP-MGF1P", encrypt: true, with: entraCBC, content: "http://www.w3.org/2001/04/xmlenc#aes256-cbc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			portalSignIn(t, tc.encrypt, tc.with, tc.content)
		})
	}
}

func portalSignIn(t *testing.T, encrypt bool, with xmlenc.Encrypter, content string) {
	idp := samlpeer.Start(t, tenant)
	idp.AddUser("amit", amit)
	ctx := context.Background()
	md, err := saml.NewRemoteMetadata(ctx, idp.MetadataURL())
	if err != nil {
		t.Fatal(err)
	}
	defer md.Close()

	mux := http.NewServeMux()
	portal := httptest.NewTLSServer(mux)
	defer portal.Close()
	entity, acs := portal.URL+"/saml", portal.URL+"/saml/acs"
	v, err := saml.NewValidator(md, entity, acs, func(o *saml.Options) {
		o.ClaimsIssuer = "https://login.microsoftonline.com/{tenantid}/v2.0"
		if encrypt {
			k := samltest.New("portal") // a key pair: the portal's encryption certificate
			o.DecryptionKeys = []saml.DecryptionKey{{Key: k.Key, Certificate: k.Cert}}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	pol, err := rbac.ParsePolicy([]byte(cbsPolicy))
	if err != nil {
		t.Fatal(err)
	}
	sp, err := samlsp.New(v, func(o *samlsp.Options) { o.Policy = pol })
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/saml/", sp)
	mux.Handle("/loans/", sp.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := middleware.FromContext(r.Context())
		fmt.Fprintf(w, "%s roles=%v create=%v", p.Claims.PreferredUsername, p.Decision.Roles(), p.Decision.Allowed("cbs:loan:create"))
	})))

	if !encrypt {
		idp.AddSP(entity, acs)
	} else {
		// The IdP imports the metadata the portal publishes.
		r, err := portal.Client().Get(portal.URL + "/saml/metadata")
		if err != nil {
			t.Fatal(err)
		}
		spMD, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if !strings.Contains(string(spMD), `use="encryption"`) {
			t.Fatalf("SP metadata publishes no encryption key:\n%s", spMD)
		}
		if err := idp.AddSPMetadata(spMD); err != nil {
			t.Fatal(err)
		}
		if with != nil {
			idp.EncryptWith(with)
		}
	}

	// One browser: the portal's TLS client with a cookie jar, signed in at the IdP.
	b := portal.Client()
	b.Jar, _ = cookiejar.New(nil)
	b.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if r, err := b.Get(idp.URL + "/login?user=amit"); err != nil {
		t.Fatal(err)
	} else {
		r.Body.Close()
	}

	resp, err := b.Get(portal.URL + "/loans/77")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, idp.URL+"/"+tenant+"/saml2?SAMLRequest=") {
		t.Fatalf("portal: %d %s", resp.StatusCode, loc)
	}
	resp, err = b.Get(loc) // the IdP reads the AuthnRequest and answers with its form
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	f, err := samlpeer.ParseForm(string(page))
	if err != nil {
		t.Fatalf("IdP answered %d: %v", resp.StatusCode, err)
	}
	if f.Action != acs {
		t.Fatalf("form posts to %s", f.Action)
	}
	x, err := base64.StdEncoding.DecodeString(f.SAMLResponse)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Contains(string(x), "EncryptedAssertion"); got != encrypt ||
		encrypt && (strings.Contains(string(x), amit.UPN) || !strings.Contains(string(x), content)) {
		t.Fatalf("the IdP's response: encrypted %v, want %v with %s", got, encrypt, content)
	}
	resp, err = b.PostForm(f.Action, url.Values{"SAMLResponse": {f.SAMLResponse}, "RelayState": {f.RelayState}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/loans/77" {
		t.Fatalf("ACS: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = b.Get(portal.URL + "/loans/77")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := "amit.r@bank.example roles=[CBS_Viewer CBS_Originator] create=true"; string(body) != want {
		t.Fatalf("handler: %d %q, want %q", resp.StatusCode, body, want)
	}
	// The captured response cannot be posted again.
	resp, err = b.PostForm(f.Action, url.Values{"SAMLResponse": {f.SAMLResponse}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("replayed: %d", resp.StatusCode)
	}
}
