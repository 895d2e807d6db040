package token

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/reason"
)

func writeTestPEM(t *testing.T) string {
	t.Helper()
	key, cert := testKeyAndCert(t)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	data := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})...)
	path := filepath.Join(t.TempDir(), "client.pem")
	os.WriteFile(path, data, 0o600)
	return path
}

func TestClientFromEnvironment(t *testing.T) {
	certPath := writeTestPEM(t)
	tokenFile := filepath.Join(t.TempDir(), "fed")
	os.WriteFile(tokenFile, []byte(fakeJWT(map[string]any{"exp": time.Now().Add(time.Hour).Unix()})), 0o600)
	pfx := func(enc *pkcs12.Encoder, password string) string {
		key, cert := testKeyAndCert(t)
		data, err := enc.Encode(key, cert, nil, password)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "client.pfx")
		os.WriteFile(path, data, 0o600)
		return path
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    error
		wantURL string
		auth    string
	}{
		{"secret", map[string]string{EnvTenantID: "t1", EnvClientID: "c1", EnvClientSecret: "s"}, nil,
			"https://login.microsoftonline.com/t1/oauth2/v2.0/token", "token.secretAuth"},
		{"certificate", map[string]string{EnvTenantID: "t1", EnvClientID: "c1", EnvClientCertificatePath: certPath}, nil,
			"https://login.microsoftonline.com/t1/oauth2/v2.0/token", "*token.jwtAuth"},
		{"federated, sovereign cloud", map[string]string{EnvTenantID: "t1", EnvClientID: "c1", EnvFederatedTokenFile: tokenFile, EnvAuthorityHost: "https://login.microsoftonline.us"}, nil,
			"https://login.microsoftonline.us/t1/oauth2/v2.0/token", "token.assertionAuth"},
		{"no credential", map[string]string{EnvTenantID: "t1", EnvClientID: "c1"}, idbridge.ErrInvalidOptions, "", ""},
		{"no tenant", map[string]string{EnvClientID: "c1", EnvClientSecret: "s"}, idbridge.ErrInvalidOptions, "", ""},
		{"tenant path injection", map[string]string{EnvTenantID: "../evil", EnvClientID: "c1", EnvClientSecret: "s"}, idbridge.ErrInvalidOptions, "", ""},
		{"plain http authority", map[string]string{EnvTenantID: "t1", EnvClientID: "c1", EnvClientSecret: "s", EnvAuthorityHost: "http://login.example"}, idbridge.ErrInvalidOptions, "", ""},
		{"pfx modern", map[string]string{EnvTenantID: "t1", EnvClientID: "c1", EnvClientCertificatePath: pfx(pkcs12.Modern2023, "pw"), EnvClientCertificatePassword: "pw"}, nil,
			"https://login.microsoftonline.com/t1/oauth2/v2.0/token", "*token.jwtAuth"},
		{"pfx legacy 3DES", map[string]string{EnvTenantID: "t1", EnvClientID: "c1", EnvClientCertificatePath: pfx(pkcs12.LegacyDES, "pw"), EnvClientCertificatePassword: "pw"}, nil,
			"https://login.microsoftonline.com/t1/oauth2/v2.0/token", "*token.jwtAuth"},
		{"pfx without password", map[string]string{EnvTenantID: "t1", EnvClientID: "c1", EnvClientCertificatePath: pfx(pkcs12.Passwordless, "")}, nil,
			"https://login.microsoftonline.com/t1/oauth2/v2.0/token", "*token.jwtAuth"},
		{"pfx wrong password", map[string]string{EnvTenantID: "t1", EnvClientID: "c1", EnvClientCertificatePath: pfx(pkcs12.Modern2023, "pw"), EnvClientCertificatePassword: "WRONG-PASSWORD"}, idbridge.ErrInvalidOptions, "", ""},
		{"neither pem nor pfx", map[string]string{EnvTenantID: "t1", EnvClientID: "c1", EnvClientCertificatePath: tokenFile}, idbridge.ErrInvalidOptions, "", ""},
		{"missing pem", map[string]string{EnvTenantID: "t1", EnvClientID: "c1", EnvClientCertificatePath: "/nonexistent/cert.pem"}, idbridge.ErrInvalidOptions, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{EnvTenantID, EnvClientID, EnvClientSecret, EnvClientCertificatePath, EnvClientCertificatePassword, EnvFederatedTokenFile, EnvAuthorityHost} {
				t.Setenv(k, tt.env[k])
			}
			c, err := ClientFromEnvironment()
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("err = %v", err)
				}
				if strings.Contains(err.Error(), "WRONG-PASSWORD") {
					t.Fatalf("error leaks the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.TokenURL != tt.wantURL || c.ID != "c1" || fmt.Sprintf("%T", c.Auth) != tt.auth {
				t.Fatalf("client %+v (%T)", c, c.Auth)
			}
			if strings.Contains(fmt.Sprintf("%v %+v %#v", c, c, c), "PRIVATE") {
				t.Fatal("client prints key material")
			}
		})
	}
}

func TestFromEnvironmentFetches(t *testing.T) {
	var form string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		form = r.PostForm.Encode()
		if r.URL.Path != "/tenant-1/oauth2/v2.0/token" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, okToken("at", 3600))
	}))
	t.Cleanup(srv.Close)
	t.Setenv(EnvTenantID, "tenant-1")
	t.Setenv(EnvClientID, "analytics-svc")
	t.Setenv(EnvClientSecret, "s3cret")
	t.Setenv(EnvAuthorityHost, srv.URL)
	c, err := FromEnvironment([]string{"api://lending/.default"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if tok, err := c.Token(context.Background()); err != nil || tok.AccessToken != "at" {
		t.Fatalf("Token = %v, %v", tok, err)
	}
	if !strings.Contains(form, "client_secret=s3cret") || !strings.Contains(form, "client_id=analytics-svc") {
		t.Fatalf("form %s", form)
	}
}

func TestParsePEM(t *testing.T) {
	path := writeTestPEM(t)
	data, _ := os.ReadFile(path)
	key, certs, err := ParsePEM(data)
	if err != nil || key == nil || len(certs) != 1 {
		t.Fatalf("ParsePEM = %v, %v, %v", key, certs, err)
	}
	for name, in := range map[string][]byte{
		"empty":     nil,
		"cert only": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certs[0].Raw}),
		"garbage":   []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
		"encrypted": []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"),
	} {
		if _, _, err := ParsePEM(in); !errors.Is(err, idbridge.ErrInvalidOptions) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestDiscover(t *testing.T) {
	var issuer string
	doc := func() string {
		return fmt.Sprintf(`{"issuer":%q,"authorization_endpoint":"%[1]s/authorize","token_endpoint":"%[1]s/oauth/token","device_authorization_endpoint":"%[1]s/device","jwks_uri":"%[1]s/keys","grant_types_supported":["client_credentials"]}`, issuer)
	}
	var body func() string = doc
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, body())
	}))
	t.Cleanup(srv.Close)
	issuer = srv.URL
	ep, err := Discover(context.Background(), issuer)
	if err != nil {
		t.Fatal(err)
	}
	if ep.TokenURL != issuer+"/oauth/token" || ep.DeviceAuthURL != issuer+"/device" || ep.GrantTypes[0] != "client_credentials" {
		t.Fatalf("endpoints %+v", ep)
	}
	body = func() string {
		return `{"issuer":"https://evil.example","token_endpoint":"https://evil.example/token"}`
	}
	if _, err := Discover(context.Background(), issuer); !errors.Is(err, idbridge.ErrInvalidOptions) {
		t.Fatalf("issuer mix-up: %v", err)
	}
	body = func() string {
		return fmt.Sprintf(`{"issuer":%q,"token_endpoint":"http://evil.example/token"}`, issuer)
	}
	if _, err := Discover(context.Background(), issuer); !errors.Is(err, idbridge.ErrInvalidOptions) {
		t.Fatalf("http token endpoint: %v", err)
	}
	body = func() string { return "<html>" }
	if _, err := Discover(context.Background(), issuer); !errors.Is(err, ErrIdPUnavailable) {
		t.Fatalf("bad document: %v", err)
	}
}

func TestDiscoverEntraMetadata(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "shared", "testdata", "idp-metadata", "entra-common-openid-configuration.json"))
	if err != nil {
		t.Skip("shared Entra metadata not present")
	}
	var srvURL string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The real document names login.microsoftonline.com; served from
		// here it names this server, as it would on Entra's own host.
		w.Write(bytes.ReplaceAll(data, []byte("https://login.microsoftonline.com"), []byte(srvURL)))
	}))
	t.Cleanup(srv.Close)
	srvURL = srv.URL
	ep, err := Discover(context.Background(), srvURL+"/common/v2.0")
	if err != nil {
		t.Fatalf("Entra common metadata: %v", err)
	}
	if ep.Issuer != srvURL+"/{tenantid}/v2.0" {
		t.Fatalf("issuer %q", ep.Issuer)
	}
	// The template is accepted for a multi-tenant authority only.
	if _, err := Discover(context.Background(), srvURL+"/contoso.com/v2.0"); !errors.Is(err, idbridge.ErrInvalidOptions) {
		t.Fatalf("template for a single tenant: %v", err)
	}
}

func FuzzParsePEM(f *testing.F) {
	key, cert := testKeyAndCert(f)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	f.Add(append(append([]byte{}, certPEM...), keyPEM...))
	f.Add(keyPEM)
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, certs, err := ParsePEM(data)
		if err != nil {
			if !errors.Is(err, idbridge.ErrInvalidOptions) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if k == nil {
			t.Fatal("no key and no error")
		}
		if len(certs) > 0 {
			if pk, ok := certs[0].PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !pk.Equal(k.Public()) {
				t.Fatal("first certificate does not match the key")
			}
		}
	})
}

// TestEnvironmentErrorsNameTheVariable: a configuration mistake names the
// variable that is wrong and what it should hold, and is a configuration
// error (invalid_options), never idp_unavailable.
func TestEnvironmentErrorsNameTheVariable(t *testing.T) {
	missingFile := filepath.Join(t.TempDir(), "no-such-token")
	tests := []struct {
		name string
		env  map[string]string
		want string // the error text
	}{
		{"no tenant", map[string]string{EnvClientID: "c1", EnvClientSecret: "s"},
			"token: invalid options: AZURE_TENANT_ID (the directory (tenant) ID) not set"},
		{"no client", map[string]string{EnvTenantID: "t1", EnvClientSecret: "s"},
			"token: invalid options: AZURE_CLIENT_ID (the application (client) ID) not set"},
		{"neither", map[string]string{EnvClientSecret: "s"},
			"token: invalid options: AZURE_TENANT_ID (the directory (tenant) ID) and AZURE_CLIENT_ID (the application (client) ID) not set"},
		{"bad tenant", map[string]string{EnvTenantID: "../evil", EnvClientID: "c1", EnvClientSecret: "s"},
			`token: invalid options: AZURE_TENANT_ID "../evil" is not a tenant ID or domain`},
		{"authority without scheme", map[string]string{EnvTenantID: "t1", EnvClientID: "c1", EnvClientSecret: "s", EnvAuthorityHost: "login.microsoftonline.us"},
			`AZURE_AUTHORITY_HOST: token: invalid options: authority host "login.microsoftonline.us" is not a scheme and host (want a URL such as https://login.microsoftonline.com/)`},
		{"authority with path", map[string]string{EnvTenantID: "t1", EnvClientID: "c1", EnvClientSecret: "s", EnvAuthorityHost: "https://login.microsoftonline.us/t1/oauth2"},
			`AZURE_AUTHORITY_HOST: token: invalid options: authority host "https://login.microsoftonline.us/t1/oauth2" is not a scheme and host (want a URL such as https://login.microsoftonline.com/)`},
		{"authority with a secret in its query", map[string]string{EnvTenantID: "t1", EnvClientID: "c1", EnvClientSecret: "s", EnvAuthorityHost: "https://login.example/?sig=SECRET"},
			"AZURE_AUTHORITY_HOST: token: invalid options: authority host must not carry user info, a query or a fragment (want a URL such as https://login.microsoftonline.com/)"},
		{"plain http authority", map[string]string{EnvTenantID: "t1", EnvClientID: "c1", EnvClientSecret: "s", EnvAuthorityHost: "http://login.example"},
			"AZURE_AUTHORITY_HOST: token: invalid options: authority host must use https (host login.example)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{EnvTenantID, EnvClientID, EnvClientSecret, EnvClientCertificatePath, EnvClientCertificatePassword, EnvFederatedTokenFile, EnvAuthorityHost} {
				t.Setenv(k, tt.env[k])
			}
			_, err := ClientFromEnvironment()
			if !errors.Is(err, idbridge.ErrInvalidOptions) || reason.Of(err) != reason.InvalidOptions {
				t.Fatalf("error %v, want idbridge.ErrInvalidOptions", err)
			}
			if err.Error() != tt.want {
				t.Errorf("error text\n%s\nwant\n%s", err, tt.want)
			}
		})
	}

	t.Run("federated token file missing", func(t *testing.T) {
		for k, v := range map[string]string{EnvTenantID: "t1", EnvClientID: "c1", EnvClientSecret: "", EnvClientCertificatePath: "", EnvFederatedTokenFile: missingFile, EnvAuthorityHost: ""} {
			t.Setenv(k, v)
		}
		idp := newFakeIdP(t, func(int, url.Values, http.Header) (int, map[string]string, string) {
			return 200, nil, okToken("at", 3600)
		})
		c, err := ClientFromEnvironment()
		if err != nil {
			t.Fatal(err)
		}
		c.TokenURL = idp.URL()
		cc, err := NewClientCredentials(c, []string{"api://core/.default"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = cc.Token(context.Background())
		if !errors.Is(err, idbridge.ErrInvalidOptions) || errors.Is(err, ErrIdPUnavailable) || reason.Of(err) != reason.InvalidOptions {
			t.Fatalf("error %v (class %s), want idbridge.ErrInvalidOptions", err, reason.Of(err))
		}
		want := "token: client assertion: AZURE_FEDERATED_TOKEN_FILE: token: invalid options: federated token file " + missingFile + " does not exist (is the projected service account token mounted?)"
		if err.Error() != want {
			t.Errorf("error text\n%s\nwant\n%s", err, want)
		}
		if idp.count() != 0 {
			t.Error("the IdP was called without an assertion")
		}
	})
}

// TestClientFromEnvironmentTenantOption: EnvironmentOptions.Tenant and ClientID (a
// -tenant or -client-id flag) win over AZURE_TENANT_ID and AZURE_CLIENT_ID.
func TestClientFromEnvironmentTenantOption(t *testing.T) {
	for k, v := range map[string]string{EnvTenantID: "", EnvClientID: "c1", EnvClientSecret: "s", EnvClientCertificatePath: "", EnvFederatedTokenFile: "", EnvAuthorityHost: ""} {
		t.Setenv(k, v)
	}
	for _, env := range []string{"", "other-tenant"} {
		t.Setenv(EnvTenantID, env)
		t.Setenv(EnvClientID, env)
		c, err := ClientFromEnvironment(func(o *EnvironmentOptions) { o.Tenant, o.ClientID = "flag-tenant", "flag-client" })
		if err != nil {
			t.Fatal(err)
		}
		if c.ID != "flag-client" {
			t.Errorf("AZURE_CLIENT_ID=%q: client %s, want flag-client", env, c.ID)
		}
		if want := "https://login.microsoftonline.com/flag-tenant/oauth2/v2.0/token"; c.TokenURL != want {
			t.Errorf("AZURE_TENANT_ID=%q: TokenURL %s, want %s", env, c.TokenURL, want)
		}
	}
}
