package azure_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/token"
	"github.com/idbridge/idbridge/token/azure"
)

const (
	userClientID   = "7d1b5a2e-3c4f-4e6a-9b8c-1d2e3f4a5b6c"
	userResourceID = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/lending/providers/Microsoft.ManagedIdentity/userAssignedIdentities/lending-api"
)

// noRetry keeps azcore from retrying failures, which the cache does
// itself with backoff.
func noRetry(o *azure.ManagedIdentityOptions) {
	o.ClientOptions.Retry = policy.RetryOptions{MaxRetries: -1}
}

// TestManagedIdentityAppService drives azidentity's managed identity
// client against the App Service endpoint: the identity is chosen in the
// query as the platform expects, the token and its expires_on come back
// through the cache, and a second call is served from it.
func TestManagedIdentityAppService(t *testing.T) {
	tests := []struct {
		name   string
		opt    func(*azure.ManagedIdentityOptions)
		param  string // the query parameter naming the identity
		value  string
		absent []string
	}{
		{"system-assigned", nil, "", "", []string{"client_id", "mi_res_id", "principal_id", "object_id"}},
		{"user-assigned by client ID", func(o *azure.ManagedIdentityOptions) { o.ClientID = userClientID }, "client_id", userClientID, []string{"mi_res_id"}},
		{"user-assigned by resource ID", func(o *azure.ManagedIdentityOptions) { o.ResourceID = userResourceID }, "mi_res_id", userResourceID, []string{"client_id"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as := startAppService(t)
			// azidentity keeps managed identity tokens in one process-wide
			// cache: a resource per case (and per run, for -count) keeps
			// the cases apart.
			resource := freshResource("cbs-" + string(rune('a'+i)))
			src, err := azure.ManagedIdentity([]string{resource + "/.default"}, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			tok, err := src.Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if tok.AccessToken != "mi-token-for-"+resource || tok.Type() != "Bearer" {
				t.Errorf("token %q (%s)", tok.AccessToken, tok.Type())
			}
			if left := time.Until(tok.Expiry); left < 23*time.Hour || left > 24*time.Hour {
				t.Errorf("expiry in %v, want the endpoint's expires_on (24h)", left)
			}
			if _, err := src.Token(context.Background()); err != nil {
				t.Fatal(err)
			}
			reqs := as.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1 (the second call is cached)", len(reqs))
			}
			q := reqs[0]
			if q.Get("api-version") != "2019-08-01" || q.Get("resource") != resource {
				t.Errorf("query %v", q)
			}
			if tt.param != "" && q.Get(tt.param) != tt.value {
				t.Errorf("%s = %q, want %q", tt.param, q.Get(tt.param), tt.value)
			}
			for _, k := range tt.absent {
				if q.Has(k) {
					t.Errorf("query has %s: %v", k, q)
				}
			}
		})
	}
}

// TestManagedIdentityFailures: the endpoint's refusals and outages are
// classed, and the error names the credential and status, not the body.
func TestManagedIdentityFailures(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		sentinel error
		reason   idbridge.Reason
		want     string
	}{
		{"identity not assigned", http.StatusBadRequest, token.ErrRejected, "forbidden",
			"token/azure: ManagedIdentityCredential: token: request rejected by identity provider (HTTP 400): the identity endpoint refused the request (is the identity assigned to this resource, or trusted by the app?)"},
		{"endpoint failing", http.StatusInternalServerError, token.ErrIdPUnavailable, "idp_unavailable",
			"token/azure: ManagedIdentityCredential: token: identity provider unavailable (HTTP 500): the identity endpoint did not answer usefully"},
		{"throttled", http.StatusTooManyRequests, token.ErrIdPUnavailable, "idp_unavailable",
			"token/azure: ManagedIdentityCredential: token: identity provider unavailable (HTTP 429): the identity endpoint did not answer usefully"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as := startAppService(t)
			as.failWith(tt.status)
			src, err := azure.ManagedIdentity([]string{"api://fail-" + string(rune('a'+i)) + "/.default"}, noRetry,
				func(o *azure.ManagedIdentityOptions) { o.ClientID = userClientID })
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			_, err = src.Token(context.Background())
			if !errors.Is(err, tt.sentinel) || idbridge.ReasonOf(err) != tt.reason {
				t.Fatalf("error %v (reason %q), want %v / %s", err, idbridge.ReasonOf(err), tt.sentinel, tt.reason)
			}
			var ae *azure.Error
			var afe *azidentity.AuthenticationFailedError
			if !errors.As(err, &ae) || ae.Status != tt.status || !errors.As(err, &afe) {
				t.Fatalf("error %v is not an *azure.Error with the status and azidentity's cause", err)
			}
			if msg := ae.Error(); msg != tt.want {
				t.Errorf("error text\n%s\nwant\n%s", msg, tt.want)
			}
			if strings.Contains(err.Error(), "No Managed Identity found") || strings.Contains(err.Error(), "unexpected error") {
				t.Error("the error quotes the response body")
			}
		})
	}
}

// TestConfigurationErrors: each mistake is refused at construction as
// idbridge.ErrInvalidOptions (invalid_options), naming the variable or option.
func TestConfigurationErrors(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "azure-identity-token")
	os.WriteFile(tokenFile, []byte("eyJhbGciOiJSUzI1NiJ9.e30.c2ln"), 0o600)
	mi := func(scopes []string, fn func(*azure.ManagedIdentityOptions)) error {
		_, err := azure.ManagedIdentity(scopes, fn)
		return err
	}
	wi := func(env map[string]string, fn func(*azure.WorkloadIdentityOptions)) func() error {
		return func() error {
			for _, k := range []string{token.EnvClientID, token.EnvTenantID, token.EnvFederatedTokenFile, token.EnvAuthorityHost} {
				t.Setenv(k, env[k])
			}
			_, err := azure.WorkloadIdentity([]string{"api://cbs/.default"}, fn)
			return err
		}
	}
	full := map[string]string{token.EnvClientID: userClientID, token.EnvTenantID: "9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c", token.EnvFederatedTokenFile: tokenFile}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range full {
			m[a] = b
		}
		m[k] = v
		return m
	}
	tests := []struct {
		name string
		do   func() error
		want string
	}{
		{"two scopes for managed identity", func() error { return mi([]string{"api://a/.default", "api://b/.default"}, nil) },
			"token: invalid options: managed identity tokens are for one resource: want one scope such as api://cbs/.default, got 2"},
		{"client ID not a GUID", func() error {
			return mi([]string{"api://cbs/.default"}, func(o *azure.ManagedIdentityOptions) { o.ClientID = "lending-api" })
		},
			`token: invalid options: managed identity ClientID "lending-api" is not a client ID (a GUID)`},
		{"client and resource ID", func() error {
			return mi([]string{"api://cbs/.default"}, func(o *azure.ManagedIdentityOptions) { o.ClientID, o.ResourceID = userClientID, userResourceID })
		}, "token: invalid options: set ClientID or ResourceID of the user-assigned identity, not both"},
		{"malformed resource ID", func() error {
			return mi([]string{"api://cbs/.default"}, func(o *azure.ManagedIdentityOptions) { o.ResourceID = "lending-api" })
		},
			`token: invalid options: managed identity ResourceID "lending-api" is not /subscriptions/…/resourceGroups/…/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>`},
		{"workload identity without client ID", wi(with(token.EnvClientID, ""), nil),
			`token: invalid options: workload identity: AZURE_CLIENT_ID (the application (client) ID) not set (is the pod labelled azure.workload.identity/use: "true"?)`},
		{"workload identity without tenant and file", wi(map[string]string{token.EnvClientID: userClientID}, nil),
			`token: invalid options: workload identity: AZURE_TENANT_ID (the directory (tenant) ID) and AZURE_FEDERATED_TOKEN_FILE (the projected service account token) not set (is the pod labelled azure.workload.identity/use: "true"?)`},
		{"federated token file missing", wi(with(token.EnvFederatedTokenFile, tokenFile+".missing"), nil),
			"token: invalid options: workload identity: federated token file " + tokenFile + ".missing (AZURE_FEDERATED_TOKEN_FILE) does not exist or is not a file"},
		{"authority host without scheme", wi(with(token.EnvAuthorityHost, "login.microsoftonline.us"), nil),
			`AZURE_AUTHORITY_HOST: token: invalid options: authority host "login.microsoftonline.us" is not a scheme and host (want a URL such as https://login.microsoftonline.com/)`},
		{"no scope", func() error { _, err := azure.NewSource(&azidentity.ManagedIdentityCredential{}, nil); return err },
			"token: invalid options: no scope (want one such as api://cbs/.default)"},
		{"nil credential", func() error { _, err := azure.NewSource(nil, []string{"api://cbs/.default"}); return err },
			"token: invalid options: nil credential"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if !errors.Is(err, idbridge.ErrInvalidOptions) || idbridge.ReasonOf(err) != idbridge.ReasonInvalidOptions {
				t.Fatalf("error %v, want ErrInvalidOptions", err)
			}
			if err.Error() != tt.want {
				t.Errorf("error text\n%s\nwant\n%s", err, tt.want)
			}
		})
	}
}

// TestAssertionHandsOutTheAccessToken: a managed identity's token is the
// client assertion of an app that trusts it.
func TestAssertionHandsOutTheAccessToken(t *testing.T) {
	src := token.SourceFunc(func(context.Context) (*token.Token, error) {
		return &token.Token{AccessToken: "mi-token", Expiry: time.Now().Add(time.Hour)}, nil
	})
	a, err := azure.Assertion(src)(context.Background())
	if err != nil || a != "mi-token" {
		t.Fatalf("assertion %q, %v", a, err)
	}
	tests := []struct {
		name string
		src  token.Source
		want error
	}{
		{"failing source", token.SourceFunc(func(context.Context) (*token.Token, error) { return nil, token.ErrIdPUnavailable }), token.ErrIdPUnavailable},
		// A source that answers neither a token nor an error, or a token
		// without an access token: no empty assertion, no panic.
		{"nil token", token.SourceFunc(func(context.Context) (*token.Token, error) { return nil, nil }), token.ErrIdPUnavailable},
		{"no access token", token.SourceFunc(func(context.Context) (*token.Token, error) { return &token.Token{IDToken: "id"}, nil }), token.ErrIdPUnavailable},
		{"nil source", nil, idbridge.ErrInvalidOptions},
	}
	for _, tt := range tests {
		a, err := azure.Assertion(tt.src)(context.Background())
		if a != "" || !errors.Is(err, tt.want) || idbridge.ReasonOf(err) == "" {
			t.Errorf("%s: assertion %q, error %v; want %v", tt.name, a, err, tt.want)
		}
	}
}

// TestDefaultCredentialFindsManagedIdentity: in App Service, with no
// secret and no workload identity in the environment, azidentity's chain
// settles on the managed identity, as its users expect.
func TestDefaultCredentialFindsManagedIdentity(t *testing.T) {
	as := startAppService(t)
	// azidentity tells an unset variable from an empty one: unset them
	// (t.Setenv restores them after the test).
	for _, k := range []string{"AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_USERNAME", token.EnvFederatedTokenFile,
		token.EnvClientID, token.EnvTenantID, token.EnvAuthorityHost, "AZURE_TOKEN_CREDENTIALS"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	resource := freshResource("cbs-default")
	src, err := azure.DefaultCredential([]string{resource + "/.default"})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	tok, err := src.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken != "mi-token-for-"+resource || len(as.requests()) != 1 {
		t.Fatalf("token %q after %d requests", tok.AccessToken, len(as.requests()))
	}
}

// runs numbers the resources freshResource names.
var runs atomic.Int64

// freshResource names a resource no earlier test in this process asked
// for: azidentity's managed identity cache is process-wide, so a resource
// reused by -count or another test would be answered without a request.
func freshResource(name string) string {
	return fmt.Sprintf("api://%s-%d", name, runs.Add(1))
}
