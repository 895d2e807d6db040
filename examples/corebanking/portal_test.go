package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idbridge/idbridge/examples/internal/localidp"
	"github.com/idbridge/idbridge/federation/saml/samltest"
	"github.com/idbridge/idbridge/integration/ldaptest"
	"github.com/idbridge/idbridge/integration/samlpeer"
	"github.com/idbridge/idbridge/integration/testenv"
)

// TestPortalSAMLSignIn: Amit signs in to the CBS portal through the bank's
// SAML IdP (crewjam/saml's IdentityProvider shaped as Entra) and is
// decided as his directory account, CBS_ViewOnly → LoanViewer.
func TestPortalSAMLSignIn(t *testing.T) {
	const tenant = "9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c"
	idp := samlpeer.Start(t, tenant)
	idp.AddUser("amit", samltest.User{ObjectID: "7d3e2a10-5b8c-4f1e-9c6d-2a4b8e0f1c3d", UPN: "amit.r@bank.example", DisplayName: "Amit R"})
	idp.AddUser("stranger", samltest.User{ObjectID: "0c4f2a10-5b8c-4f1e-9c6d-2a4b8e0f1c3d", UPN: "stranger@bank.example"})

	certFile, keyFile, pool := selfSigned(t)
	port := freePort(t)
	base := "https://127.0.0.1:" + port
	idp.AddSP(base+"/saml", base+"/saml/acs")
	_, err := localidp.RunTest(t, run, "-addr", "127.0.0.1:"+port, "-issuer=", "-ldap-url=", "-policy", "policy.yaml",
		"-tls-cert", certFile, "-tls-key", keyFile,
		"-saml-metadata-url", idp.MetadataURL(), "-saml-acs-url", base+"/saml/acs")
	if errors.Is(err, ldaptest.ErrNotInstalled) {
		testenv.Missing(t, "OpenLDAP slapd", "apt-get install slapd ldap-utils")
	}
	if err != nil {
		t.Fatal(err)
	}

	signIn := func(user string) (*http.Client, *http.Response) {
		jar, _ := cookiejar.New(nil)
		b := &http.Client{Jar: jar, Timeout: 10 * time.Second,
			Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		mustDo(t, b, http.MethodGet, idp.URL+"/login?user="+user, nil)
		resp := mustDo(t, b, http.MethodGet, base+"/portal/accounts/A-1/loans", nil)
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("portal without a session: %d", resp.StatusCode)
		}
		resp = mustDo(t, b, http.MethodGet, resp.Header.Get("Location"), nil)
		page, _ := io.ReadAll(resp.Body)
		f, err := samlpeer.ParseForm(string(page))
		if err != nil {
			t.Fatalf("IdP: %d %v", resp.StatusCode, err)
		}
		resp = mustDo(t, b, http.MethodPost, f.Action, url.Values{"SAMLResponse": {f.SAMLResponse}, "RelayState": {f.RelayState}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("ACS: %d", resp.StatusCode)
		}
		return b, mustDo(t, b, http.MethodGet, base+"/portal/accounts/A-1/loans", nil)
	}

	_, resp := signIn("amit")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"roles":["LoanViewer","KYC_ReadOnly"]`) {
		t.Fatalf("Amit on the portal: %d %s", resp.StatusCode, body)
	}
	// Signed in at Entra, but no account in the directory: no CBS role.
	if _, resp := signIn("stranger"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("stranger on the portal: %d", resp.StatusCode)
	}
}

func mustDo(t *testing.T, c *http.Client, method, u string, form url.Values) *http.Response {
	t.Helper()
	var resp *http.Response
	var err error
	if form != nil {
		resp, err = c.PostForm(u, form)
	} else {
		resp, err = c.Get(u)
	}
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(strings.NewReader(string(b)))
	return resp
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// selfSigned writes a certificate for 127.0.0.1 and returns its files and
// a pool trusting it.
func selfSigned(t *testing.T) (string, string, *x509.CertPool) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cbs.local"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	dir := t.TempDir()
	cf, kf := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	os.WriteFile(cf, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(kf, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return cf, kf, pool
}
