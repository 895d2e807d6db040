package azure

import (
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/option"
	"github.com/idbridge/idbridge/token"
)

// Options are what every credential constructor of this package takes,
// embedded in its own options type: the embedded token.CacheOptions tune
// the cache (refresh window, margin, backoff, Audit, Logger, Now), the
// rest azidentity's client.
type Options struct {
	token.CacheOptions
	// HTTPClient, when set, carries azidentity's requests (as
	// ClientOptions.Transport, unless that is set).
	HTTPClient *http.Client
	// ClientOptions are azcore's (retries, telemetry, Cloud); their
	// Transport, when nil, is HTTPClient.
	ClientOptions azcore.ClientOptions
}

// ManagedIdentityOptions configure [ManagedIdentity].
type ManagedIdentityOptions struct {
	Options
	// ClientID selects a user-assigned managed identity by its client ID.
	ClientID string
	// ResourceID selects a user-assigned managed identity by its ARM
	// resource ID (/subscriptions/…/providers/Microsoft.ManagedIdentity/userAssignedIdentities/…).
	ResourceID string
}

// WorkloadIdentityOptions configure [WorkloadIdentity]; each field, when
// set, replaces its environment variable.
type WorkloadIdentityOptions struct {
	Options
	// ClientID is the app's client ID in place of AZURE_CLIENT_ID.
	ClientID string
	// Tenant is the tenant in place of AZURE_TENANT_ID.
	Tenant string
	// TokenFilePath is the federated token file in place of
	// AZURE_FEDERATED_TOKEN_FILE.
	TokenFilePath string
	// AuthorityHost is the Entra authority in place of
	// AZURE_AUTHORITY_HOST (default https://login.microsoftonline.com/),
	// for sovereign clouds.
	AuthorityHost string
	// DisableInstanceDiscovery skips Entra's instance metadata request,
	// for authorities Entra does not know (a private cloud, Azure Stack).
	DisableInstanceDiscovery bool
}

// DefaultCredentialOptions configure [DefaultCredential]; Tenant,
// AuthorityHost and DisableInstanceDiscovery as in
// [WorkloadIdentityOptions].
type DefaultCredentialOptions struct {
	Options
	Tenant                   string
	AuthorityHost            string
	DisableInstanceDiscovery bool
}

// client is azcore's client options, with HTTPClient as their transport
// unless they name one.
func (o *Options) client() azcore.ClientOptions {
	co := o.ClientOptions
	if co.Transport == nil && o.HTTPClient != nil {
		co.Transport = o.HTTPClient
	}
	return co
}

var (
	guidRe     = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	resourceRe = regexp.MustCompile(`(?i)^/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.managedidentity/userassignedidentities/[^/]+$`)
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("token: %w: "+format, append([]any{idbridge.ErrInvalidOptions}, args...)...)
}

// FromCredential returns a token.Cache over any azcore.TokenCredential for
// scopes. Close it when done.
func FromCredential(cred azcore.TokenCredential, scopes []string, optFns ...func(*token.CacheOptions)) (*token.Cache, error) {
	return cached(cred, fmt.Sprintf("%T", cred), scopes, option.New(optFns))
}

func cached(cred azcore.TokenCredential, name string, scopes []string, co token.CacheOptions) (*token.Cache, error) {
	src, err := newSource(cred, name, scopes)
	if err != nil {
		return nil, err
	}
	return token.NewCache(src, func(to *token.CacheOptions) { *to = co })
}

// ManagedIdentity returns a cached source of the managed identity's tokens
// for scope, the one resource managed identity tokens are for (for
// example "api://cbs/.default"). The system-assigned identity unless
// ManagedIdentityOptions.ClientID or ResourceID names a user-assigned one.
// Nothing is requested until the first Token call. Close it when done.
func ManagedIdentity(scopes []string, optFns ...func(*ManagedIdentityOptions)) (*token.Cache, error) {
	o := option.New(optFns)
	if len(scopes) != 1 {
		return nil, invalid("managed identity tokens are for one resource: want one scope such as api://cbs/.default, got %d", len(scopes))
	}
	mo := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: o.client()}
	switch {
	case o.ClientID != "" && o.ResourceID != "":
		return nil, invalid("set ClientID or ResourceID of the user-assigned identity, not both")
	case o.ClientID != "":
		if !guidRe.MatchString(o.ClientID) {
			return nil, invalid("managed identity ClientID %q is not a client ID (a GUID)", o.ClientID)
		}
		mo.ID = azidentity.ClientID(o.ClientID)
	case o.ResourceID != "":
		if !resourceRe.MatchString(o.ResourceID) {
			return nil, invalid("managed identity ResourceID %q is not /subscriptions/…/resourceGroups/…/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>", o.ResourceID)
		}
		mo.ID = azidentity.ResourceID(o.ResourceID)
	}
	cred, err := azidentity.NewManagedIdentityCredential(mo)
	if err != nil {
		return nil, invalid("managed identity: %s", err.Error())
	}
	return cached(cred, "ManagedIdentityCredential", scopes, o.CacheOptions)
}

// WorkloadIdentity returns a cached source of tokens for scopes obtained
// with Microsoft Entra Workload ID: the federated token in
// AZURE_FEDERATED_TOKEN_FILE (re-read by azidentity as Kubernetes renews
// it) is the client assertion of the app AZURE_CLIENT_ID in
// AZURE_TENANT_ID, at AZURE_AUTHORITY_HOST. Options override each. A
// missing variable or file fails here, naming it. Close the result when
// done.
func WorkloadIdentity(scopes []string, optFns ...func(*WorkloadIdentityOptions)) (*token.Cache, error) {
	o := option.New(optFns)
	clientID := pick(o.ClientID, token.EnvClientID)
	tenant := pick(o.Tenant, token.EnvTenantID)
	file := pick(o.TokenFilePath, token.EnvFederatedTokenFile)
	var missing []string
	for _, v := range []struct{ val, name string }{
		{clientID, token.EnvClientID + " (the application (client) ID)"},
		{tenant, token.EnvTenantID + " (the directory (tenant) ID)"},
		{file, token.EnvFederatedTokenFile + " (the projected service account token)"},
	} {
		if v.val == "" {
			missing = append(missing, v.name)
		}
	}
	if len(missing) > 0 {
		return nil, invalid("workload identity: %s not set (is the pod labelled azure.workload.identity/use: \"true\"?)", strings.Join(missing, " and "))
	}
	if fi, err := os.Stat(file); err != nil || fi.IsDir() {
		return nil, invalid("workload identity: federated token file %s (%s) does not exist or is not a file", file, token.EnvFederatedTokenFile)
	}
	wo := &azidentity.WorkloadIdentityCredentialOptions{
		ClientOptions: o.client(), ClientID: clientID, TenantID: tenant, TokenFilePath: file,
		DisableInstanceDiscovery: o.DisableInstanceDiscovery,
	}
	if err := authority(&wo.ClientOptions, o.AuthorityHost, tenant); err != nil {
		return nil, err
	}
	cred, err := azidentity.NewWorkloadIdentityCredential(wo)
	if err != nil {
		return nil, invalid("workload identity: %s", err.Error())
	}
	return cached(cred, "WorkloadIdentityCredential", scopes, o.CacheOptions)
}

// DefaultCredential returns a cached source of tokens for scopes from
// azidentity's DefaultAzureCredential chain (environment, workload
// identity, managed identity, developer tools). DefaultCredentialOptions.Tenant, when set,
// is the tenant. Close the result when done.
func DefaultCredential(scopes []string, optFns ...func(*DefaultCredentialOptions)) (*token.Cache, error) {
	o := option.New(optFns)
	do := &azidentity.DefaultAzureCredentialOptions{
		ClientOptions: o.client(), TenantID: o.Tenant, DisableInstanceDiscovery: o.DisableInstanceDiscovery,
	}
	if err := authority(&do.ClientOptions, o.AuthorityHost, ""); err != nil {
		return nil, err
	}
	cred, err := azidentity.NewDefaultAzureCredential(do)
	if err != nil {
		return nil, invalid("DefaultAzureCredential: %s", err.Error())
	}
	return cached(cred, "DefaultAzureCredential", scopes, o.CacheOptions)
}

// pick returns v, or else the environment variable env.
func pick(v, env string) string {
	if v != "" {
		return v
	}
	return os.Getenv(env)
}

// authority checks the authority host (option, else AZURE_AUTHORITY_HOST)
// as the token package does and hands it to azidentity, naming the
// variable when it is wrong.
func authority(co *azcore.ClientOptions, host, tenant string) error {
	from := "AuthorityHost"
	if host == "" {
		host, from = os.Getenv(token.EnvAuthorityHost), token.EnvAuthorityHost
	}
	if host == "" {
		return nil
	}
	if tenant == "" {
		tenant = "organizations"
	}
	if _, err := token.EntraTokenURL(host, tenant); err != nil {
		return fmt.Errorf("%s: %w", from, err)
	}
	if co.Cloud.ActiveDirectoryAuthorityHost == "" {
		co.Cloud = cloud.Configuration{ActiveDirectoryAuthorityHost: host, Services: co.Cloud.Services}
	}
	return nil
}
