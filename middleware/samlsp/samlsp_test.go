package samlsp_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/federation/saml"
	"github.com/idbridge/idbridge/federation/saml/samltest"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/middleware/samlsp"
	"github.com/idbridge/idbridge/rbac"
)

const tenant = "9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c"

var (
	once sync.Once
	idp  *samltest.IdP
)

const policy = `version: 1
issuers:
  - name: entra
    issuer: https://login.microsoftonline.com/9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c/v2.0
groups:
  - {id: 4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13, name: Lending_RM}
roles:
  - {name: CBS_Viewer, permissions: [cbs:account:read]}
mappings:
  - {id: rm, when: {group: Lending_RM}, grant: {roles: [CBS_Viewer]}}
`

var amit = samltest.User{ObjectID: "7d3e2a10-5b8c-4f1e-9c6d-2a4b8e0f1c3d", UPN: "amit.r@bank.example",
	DisplayName: "Amit R", Groups: []string{"4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13"}}

// portal is the core banking portal: /accounts needs a SAML session.
func portal(t *testing.T, opts ...func(*saml.Options)) (*httptest.Server, *http.Client, string) {
	once.Do(func() { idp = samltest.New(tenant) })
	mux := http.NewServeMux()
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	md, err := saml.ParseMetadata(idp.Metadata())
	if err != nil {
		t.Fatal(err)
	}
	v, err := saml.NewValidator(md, srv.URL+"/saml", srv.URL+"/saml/acs", append([]func(*saml.Options){func(o *saml.Options) {
		o.ClaimsIssuer = "https://login.microsoftonline.com/{tenantid}/v2.0"
	}}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := rbac.ParsePolicy([]byte(policy))
	if err != nil {
		t.Fatal(err)
	}
	sp, err := samlsp.New(v, func(o *samlsp.Options) { o.Policy = pol })
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/saml/", sp)
	mux.Handle("/accounts/", sp.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := middleware.FromContext(r.Context())
		if !ok || !p.Decision.Allowed("cbs:account:read") {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		fmt.Fprintf(w, "accounts of %s (%s)", p.Claims.Name, p.Claims.ObjectID)
	})))
	c := srv.Client()
	c.Jar, _ = cookiejar.New(nil)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return srv, c, srv.URL
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func post(t *testing.T, c *http.Client, u, samlResponse string) *http.Response {
	t.Helper()
	resp, err := c.PostForm(u, url.Values{"SAMLResponse": {samlResponse}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// requestID reads the AuthnRequest ID the SP bound to the browser.
func requestID(t *testing.T, c *http.Client, base string) string {
	u, _ := url.Parse(base)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "__Host-idbridge-saml-req" {
			return ck.Value
		}
	}
	t.Fatal("no request cookie")
	return ""
}

func TestSignInFlow(t *testing.T) {
	_, c, base := portal(t)
	// 1. The portal sends the browser to Entra with an AuthnRequest.
	resp, _ := get(t, c, base+"/accounts/42?tab=loans")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), idp.SSOURL()+"?SAMLRequest=") {
		t.Fatalf("no redirect to the IdP: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	id := requestID(t, c, base)
	// 2. Entra posts the response to the ACS.
	form := samltest.Encode(idp.Response(amit, samltest.Request{Audience: base + "/saml", Recipient: base + "/saml/acs", InResponseTo: id}))
	resp = post(t, c, base+"/saml/acs", form)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/accounts/42?tab=loans" {
		t.Fatalf("ACS: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	var sess *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "__Host-idbridge-saml" {
			sess = ck
		}
	}
	if sess == nil || !sess.Secure || !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode || len(sess.Value) < 40 {
		t.Fatalf("session cookie %+v", sess)
	}
	// 3. The handler sees the same Principal as behind the bearer guard.
	resp, body := get(t, c, base+"/accounts/42")
	if resp.StatusCode != 200 || body != "accounts of Amit R (7d3e2a10-5b8c-4f1e-9c6d-2a4b8e0f1c3d)" {
		t.Fatalf("protected page: %d %q", resp.StatusCode, body)
	}
	// 4. The same response again is a replay.
	if resp := post(t, c, base+"/saml/acs", form); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("replay: %d", resp.StatusCode)
	}
	// 5. Logout (a form on the portal's pages) ends the session.
	resp = logout(t, c, http.MethodPost, base+"/saml/logout", "Origin", base)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if resp, _ := get(t, c, base+"/accounts/42"); resp.StatusCode != http.StatusFound {
		t.Fatalf("after logout: %d, want a new sign-in", resp.StatusCode)
	}
}

func logout(t *testing.T, c *http.Client, method, u string, header ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestLogoutCSRF: another site cannot log a user out with a link, an
// <img>, or a form posted to /saml/logout; the session survives every
// such attempt, and only a same-origin POST ends it.
func TestLogoutCSRF(t *testing.T) {
	_, c, base := portal(t)
	get(t, c, base+"/saml/login")
	id := requestID(t, c, base)
	if resp := post(t, c, base+"/saml/acs", samltest.Encode(idp.Response(amit,
		samltest.Request{Audience: base + "/saml", Recipient: base + "/saml/acs", InResponseTo: id}))); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("ACS: %d", resp.StatusCode)
	}
	for _, tt := range []struct {
		attack, method string
		header         []string
		want           int
	}{
		{"cross-site link or <img> (GET)", http.MethodGet, []string{"Sec-Fetch-Site", "cross-site"}, http.StatusMethodNotAllowed},
		{"GET without fetch metadata", http.MethodGet, nil, http.StatusMethodNotAllowed},
		{"same-origin GET", http.MethodGet, []string{"Sec-Fetch-Site", "same-origin"}, http.StatusMethodNotAllowed},
		{"HEAD", http.MethodHead, nil, http.StatusMethodNotAllowed},
		{"cross-site form POST", http.MethodPost, []string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"cross-site form POST, Origin only", http.MethodPost, []string{"Origin", "https://evil.example"}, http.StatusForbidden},
		{"POST from a sibling subdomain", http.MethodPost, []string{"Sec-Fetch-Site", "same-site"}, http.StatusForbidden},
		{"POST from a sandboxed frame (Origin: null)", http.MethodPost, []string{"Origin", "null"}, http.StatusForbidden},
		{"POST with the SP's origin over http", http.MethodPost, []string{"Origin", strings.Replace(base, "https:", "http:", 1)}, http.StatusForbidden},
		{"POST with the SP's origin as a prefix", http.MethodPost, []string{"Origin", base + ".evil.example"}, http.StatusForbidden},
		{"POST with two Origin headers", http.MethodPost, []string{"Origin", base, "Origin", "https://evil.example"}, http.StatusForbidden},
		{"cross-site POST, Sec-Fetch-Site only", http.MethodPost, []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
	} {
		t.Run(tt.attack, func(t *testing.T) {
			resp := logout(t, c, tt.method, base+"/saml/logout", tt.header...)
			if resp.StatusCode != tt.want {
				t.Fatalf("%s %d, want %d", tt.method, resp.StatusCode, tt.want)
			}
			if tt.want == http.StatusMethodNotAllowed && resp.Header.Get("Allow") != http.MethodPost {
				t.Fatalf("Allow %q, want POST", resp.Header.Get("Allow"))
			}
			for _, ck := range resp.Cookies() {
				if ck.Name == "__Host-idbridge-saml" {
					t.Fatalf("refused logout touched the session cookie: %+v", ck)
				}
			}
			if resp, _ := get(t, c, base+"/accounts/42"); resp.StatusCode != http.StatusOK {
				t.Fatalf("session ended by a refused logout: %d", resp.StatusCode)
			}
		})
	}
	// The portal's own logout form ends the session.
	if resp := logout(t, c, http.MethodPost, base+"/saml/logout", "Origin", base, "Sec-Fetch-Site", "same-origin"); resp.StatusCode != http.StatusFound {
		t.Fatalf("same-origin logout: %d", resp.StatusCode)
	}
	if resp, _ := get(t, c, base+"/accounts/42"); resp.StatusCode != http.StatusFound {
		t.Fatalf("after logout: %d, want a new sign-in", resp.StatusCode)
	}
}

func TestACSRefuses(t *testing.T) {
	_, c, base := portal(t)
	get(t, c, base+"/saml/login?return=//evil.example/")
	id := requestID(t, c, base)
	mk := func(r samltest.Request) string { return samltest.Encode(idp.Response(amit, r)) }
	good := samltest.Request{Audience: base + "/saml", Recipient: base + "/saml/acs", InResponseTo: id}

	// A response to this browser's request, posted by another browser
	// (login CSRF): refused, it started no request.
	other := *c
	other.Jar, _ = cookiejar.New(nil)
	if resp := post(t, &other, base+"/saml/acs", mk(good)); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("other browser: %d", resp.StatusCode)
	}
	// Unsolicited (IdP-initiated) while not allowed.
	unsolicited := good
	unsolicited.InResponseTo = ""
	if resp := post(t, c, base+"/saml/acs", mk(unsolicited)); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("unsolicited: %d", resp.StatusCode)
	}
	// A GET to the ACS.
	if resp, _ := get(t, c, base+"/saml/acs"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET ACS: %d", resp.StatusCode)
	}
	// The good one, with an off-site return path asked for: lands on "/".
	resp := post(t, c, base+"/saml/acs", mk(good))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("ACS: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// A POST to a protected page without a session is 401, not a redirect.
	fresh := *c
	fresh.Jar, _ = cookiejar.New(nil)
	r2, err := fresh.Post(base+"/accounts/1", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != http.StatusUnauthorized {
		t.Fatalf("POST without session: %d", r2.StatusCode)
	}
}

func TestMetadataEndpoint(t *testing.T) {
	_, c, base := portal(t)
	resp, body := get(t, c, base+"/saml/metadata")
	if resp.StatusCode != 200 || !strings.Contains(body, `entityID="`+base+`/saml"`) || !strings.Contains(body, base+"/saml/acs") {
		t.Fatalf("metadata: %d %s", resp.StatusCode, body)
	}
}

// TestEncryptedSignIn: with a decryption key the portal publishes its
// encryption certificate and signs in from an encrypted assertion (Entra's
// token encryption); without one the ACS refuses it.
func TestEncryptedSignIn(t *testing.T) {
	key := samltest.New("portal") // the portal's key pair
	_, c, base := portal(t, func(o *saml.Options) {
		o.DecryptionKeys = []saml.DecryptionKey{{Key: key.Key, Certificate: key.Cert}}
	})
	_, md := get(t, c, base+"/saml/metadata")
	if !strings.Contains(md, `use="encryption"`) || !strings.Contains(md, key.CertBase64()) {
		t.Fatalf("metadata does not publish the encryption certificate:\n%s", md)
	}
	get(t, c, base+"/accounts/7")
	r := samltest.Request{Audience: base + "/saml", Recipient: base + "/saml/acs", InResponseTo: requestID(t, c, base), EncryptTo: key.Cert}
	if resp := post(t, c, base+"/saml/acs", samltest.Encode(idp.Response(amit, r))); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("ACS: %d", resp.StatusCode)
	}
	if resp, body := get(t, c, base+"/accounts/7"); resp.StatusCode != 200 || !strings.Contains(body, "Amit R") {
		t.Fatalf("protected page: %d %q", resp.StatusCode, body)
	}

	_, c, base = portal(t)
	get(t, c, base+"/accounts/7")
	r = samltest.Request{Audience: base + "/saml", Recipient: base + "/saml/acs", InResponseTo: requestID(t, c, base), EncryptTo: key.Cert}
	if resp := post(t, c, base+"/saml/acs", samltest.Encode(idp.Response(amit, r))); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("encrypted, no key: %d", resp.StatusCode)
	}
	_, md = get(t, c, base+"/saml/metadata")
	if strings.Contains(md, "KeyDescriptor") {
		t.Fatalf("metadata without a key publishes one:\n%s", md)
	}
}

// TestReturnPathStaysOnSite: whatever return path a sign-in link asks
// for, the browser lands on this site. Browsers drop tabs and newlines
// from a Location and read "\" as "/", so "/\t/evil.example" is
// "//evil.example", another origin.
func TestReturnPathStaysOnSite(t *testing.T) {
	_, c, base := portal(t)
	for _, tt := range []struct{ ask, want string }{
		{"//evil.example/", "/"},
		{"/\\evil.example/", "/"},
		{"/\t/evil.example/", "/"},
		{"/\n/evil.example/", "/"},
		{"/\r\n/evil.example/", "/"},
		{"/\t\\evil.example/", "/"},
		{"\t//evil.example/", "/"},
		{" //evil.example/", "/"},
		{"https://evil.example/", "/"},
		{"javascript:alert(1)", "/"},
		{"/\x00/evil.example/", "/"},
		{"/\x7f/evil.example/", "/"},
		{"/accounts/42?tab=loans", "/accounts/42?tab=loans"},
	} {
		t.Run(fmt.Sprintf("%q", tt.ask), func(t *testing.T) {
			get(t, c, base+"/saml/login?return="+url.QueryEscape(tt.ask))
			id := requestID(t, c, base)
			resp := post(t, c, base+"/saml/acs", samltest.Encode(idp.Response(amit,
				samltest.Request{Audience: base + "/saml", Recipient: base + "/saml/acs", InResponseTo: id})))
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != tt.want {
				t.Fatalf("ACS: %d Location %q, want %q", resp.StatusCode, resp.Header.Get("Location"), tt.want)
			}
		})
	}
}

// New refuses what cannot work with an error of class invalid_options.
func TestNewRefuses(t *testing.T) {
	if _, err := samlsp.New(nil); !errors.Is(err, idbridge.ErrInvalidOptions) {
		t.Errorf("nil validator: %v, want ErrInvalidOptions", err)
	}
	once.Do(func() { idp = samltest.New(tenant) })
	md, err := saml.ParseMetadata(idp.Metadata())
	if err != nil {
		t.Fatal(err)
	}
	for name, acs := range map[string]string{"no path": "https://portal.bank.example", "http": "http://portal.bank.example/saml/acs"} {
		v, err := saml.NewValidator(md, "https://portal.bank.example/saml", acs)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := samlsp.New(v); !errors.Is(err, idbridge.ErrInvalidOptions) {
			t.Errorf("%s: %v, want ErrInvalidOptions", name, err)
		}
	}
}
