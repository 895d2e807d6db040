package azureit

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/integration/idp"
	"github.com/idbridge/idbridge/token"
	"github.com/idbridge/idbridge/token/azure"
)

// entraPaths serves Entra's tenant-scoped discovery path
// ({authority}/{tenant}/v2.0/.well-known/openid-configuration, which MSAL
// asks for) from the provider's own discovery document at its root, on the
// same host; every other request goes to the provider unchanged.
type entraPaths struct {
	tenant string
	next   http.RoundTripper
}

func (e entraPaths) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path == "/"+e.tenant+"/v2.0/.well-known/openid-configuration" {
		r = r.Clone(r.Context())
		r.URL.Path = "/.well-known/openid-configuration"
	}
	return e.next.RoundTrip(r)
}

// federatedToken writes what the AKS webhook projects into the pod, a
// signed JWT, here one the provider trusts as cbs-batch's client
// assertion (RFC 7523: iss = sub = the client, aud = the provider).
func federatedToken(t *testing.T, p *idp.Provider, exp time.Time) string {
	t.Helper()
	key := idp.CBSBatchKey()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": idp.ClientCBSBatch, "sub": idp.ClientCBSBatch, "aud": p.Issuer(),
		"iat": time.Now().Unix(), "exp": exp.Unix(),
	})
	tok.Header["kid"] = key.KID
	s, err := tok.SignedString(key.Key)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "azure-identity-token")
	if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

func workloadEnv(t *testing.T, p *idp.Provider, file string) {
	t.Setenv(token.EnvClientID, idp.ClientCBSBatch)
	t.Setenv(token.EnvTenantID, p.TenantID())
	t.Setenv(token.EnvFederatedTokenFile, file)
	t.Setenv(token.EnvAuthorityHost, p.Issuer())
}

func options(p *idp.Provider) func(*azure.WorkloadIdentityOptions) {
	return func(o *azure.WorkloadIdentityOptions) {
		o.HTTPClient = &http.Client{Transport: entraPaths{tenant: p.TenantID(), next: p.HTTPClient().Transport}}
		o.DisableInstanceDiscovery = true // a host Entra does not know
	}
}

func claims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestWorkloadIdentity: azidentity's workload identity credential, as the
// AKS webhook configures it, gets an app token from the provider with
// the projected token as client assertion.
func TestWorkloadIdentity(t *testing.T) {
	p := idp.StartTest(t)
	workloadEnv(t, p, federatedToken(t, p, time.Now().Add(time.Hour)))
	src, err := azure.WorkloadIdentity([]string{idp.ResourceLending + "/.default"}, options(p))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok, err := src.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := claims(t, tok.AccessToken)
	aud, _ := c["aud"].([]any)
	roles, _ := c["roles"].([]any)
	if !slices.Contains(aud, any(idp.LendingAppID)) || c["azp"] != idp.ClientCBSBatch || !slices.Contains(roles, any(idp.RoleCBSBatch)) {
		t.Errorf("claims %v", c)
	}
	if left := time.Until(tok.Expiry); left < time.Minute {
		t.Errorf("token expires in %v", left)
	}
	if _, err := src.Token(ctx); err != nil {
		t.Fatal(err)
	}
	if n := p.Requests("token"); n != 1 {
		t.Errorf("%d token requests, want 1 (cached)", n)
	}
}

// TestWorkloadIdentityRefused: a federated token the provider does not
// trust (signed by a key it does not know) is refused by the IdP: class
// forbidden, not retried as an outage, and the error quotes neither the
// token nor the response.
func TestWorkloadIdentityRefused(t *testing.T) {
	p := idp.StartTest(t)
	file := federatedToken(t, p, time.Now().Add(time.Hour))
	// Re-sign with a stranger's key.
	b, _ := os.ReadFile(file)
	parts := strings.Split(string(b), ".")
	junk := make([]byte, 256)
	rand.Read(junk)
	os.WriteFile(file, []byte(parts[0]+"."+parts[1]+"."+base64.RawURLEncoding.EncodeToString(junk)), 0o600)
	workloadEnv(t, p, file)
	src, err := azure.WorkloadIdentity([]string{idp.ResourceLending + "/.default"}, options(p),
		func(o *azure.WorkloadIdentityOptions) { o.ClientOptions.Retry.MaxRetries = -1 })
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = src.Token(ctx)
	var ae *azure.Error
	if !errors.Is(err, token.ErrRejected) || idbridge.ReasonOf(err) != "forbidden" || !errors.As(err, &ae) || ae.Status/100 != 4 {
		t.Fatalf("error %v (reason %q), want a 4xx ErrRejected", err, idbridge.ReasonOf(err))
	}
	if strings.Contains(err.Error(), parts[1]) || strings.Contains(err.Error(), "invalid_client") {
		t.Errorf("the error quotes the assertion or the response: %v", err)
	}
}
