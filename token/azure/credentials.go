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

// Environment variables of workload identity (set by the Azure Workload
// Identity webhook in AKS) and of the authority, as azidentity reads them.
const (
	EnvClientID           = token.EnvClientID
	EnvTenantID           = token.EnvTenantID
	EnvFederatedTokenFile = token.EnvFederatedTokenFile
	EnvAuthorityHost      = token.EnvAuthorityHost
)

// Options configure the constructors of this package. The embedded
// token.CacheOptions tune the cache (refresh window, margin, backoff,
// Audit, Logger, Now).
type Options struct {
	token.CacheOptions

	// HTTPClient, when set, carries azidentity's requests (as
	// ClientOptions.Transport, unless that is set).
	HTTPClient *http.Client
	// Tenant is the tenant of WorkloadIdentity (in place of
	// AZURE_TENANT_ID) and of DefaultCredential.
	Tenant string

	// ClientID selects a user-assigned managed identity by its client ID;
	// for WorkloadIdentity it is the app's client ID in place of
	// AZURE_CLIENT_ID.
	ClientID string
	// ResourceID selects a user-assigned managed identity by its ARM
	// resource ID (/subscriptions/…/providers/Microsoft.ManagedIdentity/userAssignedIdentities/…).
	ResourceID string
	// TokenFilePath is the federated token file of WorkloadIdentity in
	// place of AZURE_FEDERATED_TOKEN_FILE.
	TokenFilePath string
	// AuthorityHost is the Entra authority in place of
	// AZURE_AUTHORITY_HOST (default https://login.microsoftonline.com/),
	// for sovereign clouds.
	AuthorityHost string
	// DisableInstanceDiscovery skips Entra's instance metadata request,
	// for authorities Entra does not know (a private cloud, Azure Stack).
	DisableInstanceDiscovery bool
	// ClientOptions are azcore's (retries, telemetry, Cloud); their
	// Transport, when nil, is Options.HTTPClient.
	ClientOptions azcore.ClientOptions
}

func newOptions(optFns []func(*Options)) *Options {
	o := &Options{}
	option.Apply(o, optFns)
	if o.ClientOptions.Transport == nil && o.HTTPClient != nil {
		o.ClientOptions.Transport = o.HTTPClient
	}
	return o
}

// cacheOptions are the token.CacheOptions the cache is built with.
func (o *Options) cacheOptions(to *token.CacheOptions) { *to = o.CacheOptions }

var (
	guidRe     = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	resourceRe = regexp.MustCompile(`(?i)^/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.managedidentity/userassignedidentities/[^/]+$`)
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("token: %w: "+format, append([]any{idbridge.ErrInvalidOptions}, args...)...)
}

// FromCredential returns a token.Cache over any azcore.TokenCredential for
// scopes. Close it when done.
func FromCredential(cred azcore.TokenCredential, scopes []string, optFns ...func(*Options)) (*token.Cache, error) {
	return cached(cred, fmt.Sprintf("%T", cred), scopes, newOptions(optFns))
}

func cached(cred azcore.TokenCredential, name string, scopes []string, o *Options) (*token.Cache, error) {
	src, err := newSource(cred, name, scopes)
	if err != nil {
		return nil, err
	}
	return token.NewCache(src, o.cacheOptions)
}

// ManagedIdentity returns a cached source of the managed identity's tokens
// for scope, the one resource managed identity tokens are for (for
// example "api://cbs/.default"). The system-assigned identity unless
// Options.ClientID or Options.ResourceID names a user-assigned one.
// Nothing is requested until the first Token call. Close it when done.
func ManagedIdentity(scopes []string, optFns ...func(*Options)) (*token.Cache, error) {
	o := newOptions(optFns)
	if len(scopes) != 1 {
		return nil, invalid("managed identity tokens are for one resource: want one scope such as api://cbs/.default, got %d", len(scopes))
	}
	mo := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: o.ClientOptions}
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
	return cached(cred, "ManagedIdentityCredential", scopes, o)
}

// WorkloadIdentity returns a cached source of tokens for scopes obtained
// with Microsoft Entra Workload ID: the federated token in
// AZURE_FEDERATED_TOKEN_FILE (re-read by azidentity as Kubernetes renews
// it) is the client assertion of the app AZURE_CLIENT_ID in
// AZURE_TENANT_ID, at AZURE_AUTHORITY_HOST. Options override each. A
// missing variable or file fails here, naming it. Close the result when
// done.
func WorkloadIdentity(scopes []string, optFns ...func(*Options)) (*token.Cache, error) {
	o := newOptions(optFns)
	clientID := pick(o.ClientID, EnvClientID)
	tenant := pick(o.Tenant, EnvTenantID)
	file := pick(o.TokenFilePath, EnvFederatedTokenFile)
	var missing []string
	for _, v := range []struct{ val, name string }{
		{clientID, EnvClientID + " (the application (client) ID)"},
		{tenant, EnvTenantID + " (the directory (tenant) ID)"},
		{file, EnvFederatedTokenFile + " (the projected service account token)"},
	} {
		if v.val == "" {
			missing = append(missing, v.name)
		}
	}
	if len(missing) > 0 {
		return nil, invalid("workload identity: %s not set (is the pod labelled azure.workload.identity/use: \"true\"?)", strings.Join(missing, " and "))
	}
	if fi, err := os.Stat(file); err != nil || fi.IsDir() {
		return nil, invalid("workload identity: federated token file %s (%s) does not exist or is not a file", file, EnvFederatedTokenFile)
	}
	wo := &azidentity.WorkloadIdentityCredentialOptions{
		ClientOptions: o.ClientOptions, ClientID: clientID, TenantID: tenant, TokenFilePath: file,
		DisableInstanceDiscovery: o.DisableInstanceDiscovery,
	}
	if err := authority(&wo.ClientOptions, o.AuthorityHost, tenant); err != nil {
		return nil, err
	}
	cred, err := azidentity.NewWorkloadIdentityCredential(wo)
	if err != nil {
		return nil, invalid("workload identity: %s", err.Error())
	}
	return cached(cred, "WorkloadIdentityCredential", scopes, o)
}

// DefaultCredential returns a cached source of tokens for scopes from
// azidentity's DefaultAzureCredential chain (environment, workload
// identity, managed identity, developer tools). Options.Tenant, when set,
// is the tenant. Close the result when done.
func DefaultCredential(scopes []string, optFns ...func(*Options)) (*token.Cache, error) {
	o := newOptions(optFns)
	do := &azidentity.DefaultAzureCredentialOptions{
		ClientOptions: o.ClientOptions, TenantID: o.Tenant, DisableInstanceDiscovery: o.DisableInstanceDiscovery,
	}
	if err := authority(&do.ClientOptions, o.AuthorityHost, ""); err != nil {
		return nil, err
	}
	cred, err := azidentity.NewDefaultAzureCredential(do)
	if err != nil {
		return nil, invalid("DefaultAzureCredential: %s", err.Error())
	}
	return cached(cred, "DefaultAzureCredential", scopes, o)
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
		host, from = os.Getenv(EnvAuthorityHost), EnvAuthorityHost
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
