package jwks

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/idbridge/idbridge/internal/guid"
	"github.com/idbridge/idbridge/internal/option"
)

// Microsoft Entra ID endpoints and well-known tenants.
const (
	EntraAuthority   = "https://login.microsoftonline.com" // v2.0 issuer and JWKS host
	EntraV1Authority = "https://sts.windows.net"           // v1.0 issuer host
	// EntraConsumersTenant is the tenant ID of personal Microsoft accounts.
	EntraConsumersTenant = "9188040d-6c67-4c5b-b112-36a304b66dad"
)

// Entra access token versions, for EntraOptions.Versions (the ver claim).
const (
	EntraV1 = "1.0" // iss https://sts.windows.net/{tid}/, aud the App ID URI or client ID
	EntraV2 = "2.0" // iss https://login.microsoftonline.com/{tid}/v2.0, aud the client ID
)

// EntraOptions configure [Entra] and [EntraAPI].
type EntraOptions struct {
	// Tenants is the tenant (tid) allow-list, tenant ID GUIDs. It is
	// required for the multi-tenant "organizations" and "common" endpoints,
	// where any tenant's tokens carry a valid Microsoft signature.
	Tenants []string
	// Versions are the access token versions trusted: EntraV2 (the
	// default), EntraV1 for an API whose manifest keeps
	// accessTokenAcceptedVersion at null or 1, or both while it migrates.
	Versions []string
	// V1 adds EntraV1 to Versions.
	//
	// Deprecated: use Versions.
	V1 bool
	// AppIDURIs are the API's App ID URIs, accepted as aud by [EntraAPI]
	// beside the client ID (a v1.0 token carries the one the client asked
	// for). Empty means {"api://" + client ID}, Entra's default URI.
	AppIDURIs []string
	// AppID selects the app-specific signing keys of an application that
	// uses a custom signing key or claims mapping (JWKS URL ?appid=).
	AppID string
	// Authority replaces EntraAuthority (sovereign clouds, tests).
	Authority string
	// V1Authority replaces EntraV1Authority (sovereign clouds, tests).
	V1Authority string
}

// Entra returns the trusted issuers for a Microsoft Entra ID tenant, to
// append to Options.Issuers. tenant is the directory (tenant) ID, a GUID;
// "organizations" or "common" (multi-tenant: issuers become {tenantid}
// templates filled from the token's tid, and EntraOptions.Tenants or
// Options.Tenants must list the tenants served); or "consumers". The
// issuers share one key set from the tenant's v2.0 JWKS endpoint (it also
// signs v1.0 tokens), which the validator creates.
//
// A domain name ("contoso.onmicrosoft.com"), an empty tenant or a
// placeholder ("<tenant-id>") is refused: tokens carry the tenant ID in iss
// and tid, never the domain, so such an issuer could never match. Entra
// does not return an error itself; [NewValidator] returns it, wrapping
// [idbridge.ErrInvalidOptions], with what was expected.
func Entra(tenant string, optFns ...func(*EntraOptions)) []Issuer {
	o := entraOptions(optFns)
	return entraIssuers(tenant, &o)
}

// EntraAPI configures a validator for an API registered in Microsoft Entra
// ID, from the same two values Microsoft.Identity.Web reads (TenantId and
// ClientId): it appends the tenant's issuers ([Entra]) to Options.Issuers,
// and the application (client) ID and its App ID URIs
// (EntraOptions.AppIDURIs, default "api://{clientID}") to
// Options.Audiences — a v2.0 access token's aud is always the client ID, a
// v1.0 token's the App ID URI or the client ID, whichever the client asked
// for — and sets Options.Algorithms to RS256 (what Entra signs with) unless
// already set:
//
//	v, err := jwks.NewValidator(jwks.EntraAPI(tenantID, clientID), func(o *jwks.Options) {
//		o.Cache = &jwks.CacheOptions{}
//	})
//
// clientID must be the application (client) ID GUID; a bad tenant or
// client ID makes NewValidator fail with [idbridge.ErrInvalidOptions].
func EntraAPI(tenant, clientID string, optFns ...func(*EntraOptions)) func(*Options) {
	eo := entraOptions(optFns)
	issuers := entraIssuers(tenant, &eo)
	auds, err := entraAudiences(clientID, eo.AppIDURIs)
	if err != nil {
		issuers = []Issuer{{err: err}}
	}
	return func(o *Options) {
		o.Issuers = append(o.Issuers, issuers...)
		for _, a := range auds {
			if !slices.Contains(o.Audiences, a) {
				o.Audiences = append(o.Audiences, a)
			}
		}
		if len(o.Algorithms) == 0 {
			o.Algorithms = []string{"RS256"}
		}
	}
}

func entraOptions(optFns []func(*EntraOptions)) EntraOptions {
	o := option.New(optFns)
	o.Tenants = slices.Clone(o.Tenants)
	o.Versions = slices.Clone(o.Versions)
	o.AppIDURIs = slices.Clone(o.AppIDURIs)
	if len(o.Versions) == 0 {
		o.Versions = []string{EntraV2}
	}
	if o.V1 && !slices.Contains(o.Versions, EntraV1) {
		o.Versions = append(o.Versions, EntraV1)
	}
	if o.Authority == "" {
		o.Authority = EntraAuthority
	}
	if o.V1Authority == "" {
		o.V1Authority = EntraV1Authority
	}
	o.Authority = strings.TrimSuffix(o.Authority, "/")
	o.V1Authority = strings.TrimSuffix(o.V1Authority, "/")
	return o
}

func entraIssuers(tenant string, o *EntraOptions) []Issuer {
	if err := checkEntraTenant(tenant, o); err != nil {
		return []Issuer{{err: err}}
	}
	jwksURL := o.Authority + "/" + url.PathEscape(strings.ToLower(tenant)) + "/discovery/v2.0/keys"
	if o.AppID != "" {
		jwksURL += "?appid=" + url.QueryEscape(o.AppID)
	}
	tid := strings.ToLower(tenant) // Entra writes tenant IDs in lower case
	switch tid {
	case "organizations", "common":
		tid = tenantPlaceholder
	case "consumers":
		tid = EntraConsumersTenant
	}
	var issuers []Issuer
	for _, ver := range o.Versions {
		is := Issuer{JWKSURL: jwksURL, Tenants: slices.Clone(o.Tenants)}
		switch ver {
		case EntraV2:
			is.Issuer = o.Authority + "/" + tid + "/v2.0"
			is.entraPeer = o.V1Authority + "/" + tid + "/"
		case EntraV1:
			is.Issuer = o.V1Authority + "/" + tid + "/"
			is.entraPeer = o.Authority + "/" + tid + "/v2.0"
		default:
			return []Issuer{{err: fmt.Errorf("Entra version %q: want %q or %q", ver, EntraV2, EntraV1)}}
		}
		if !slices.ContainsFunc(issuers, func(x Issuer) bool { return x.Issuer == is.Issuer }) {
			issuers = append(issuers, is)
		}
	}
	return issuers
}

const wantTenant = `want the directory (tenant) ID GUID from the app registration's Overview page, ` +
	`or "organizations"/"common" with a tenant allow-list`

// checkEntraTenant refuses tenants that cannot match any token's iss.
// Domains are refused rather than resolved: resolving needs the network at
// start, and the GUID is one look at the portal away.
func checkEntraTenant(tenant string, o *EntraOptions) error {
	switch t := strings.ToLower(tenant); {
	case t == "":
		return fmt.Errorf("Entra tenant is empty; %s", wantTenant)
	case isPlaceholder(t):
		return fmt.Errorf("Entra tenant %q is a placeholder; %s", tenant, wantTenant)
	case t == "organizations" || t == "common" || t == "consumers":
		// NewValidator refuses the {tenantid} templates without an
		// allow-list (EntraOptions.Tenants or Options.Tenants).
	case strings.Contains(t, "."):
		return fmt.Errorf("Entra tenant %q is a domain name, but tokens carry the tenant ID GUID in iss and tid; "+
			"%s (https://login.microsoftonline.com/%s/v2.0/.well-known/openid-configuration shows it in issuer)",
			tenant, wantTenant, url.PathEscape(tenant))
	case !guid.Valid(t):
		return fmt.Errorf("Entra tenant %q is not a tenant ID; %s", tenant, wantTenant)
	}
	for _, t := range o.Tenants {
		if !guid.Valid(t) {
			return fmt.Errorf("Entra EntraOptions.Tenants entry %q is not a tenant ID; want a GUID (the tid claim)", t)
		}
	}
	return nil
}

// entraAudiences returns the audiences of an Entra-protected API: its
// client ID and App ID URIs.
func entraAudiences(clientID string, uris []string) ([]string, error) {
	switch {
	case clientID == "":
		return nil, fmt.Errorf("Entra client ID is empty; want the API's application (client) ID GUID (the aud of v2.0 tokens)")
	case strings.Contains(clientID, "://"):
		return nil, fmt.Errorf("Entra client ID %q is an App ID URI; want the application (client) ID GUID (the aud of v2.0 tokens) and the URI in EntraOptions.AppIDURIs", clientID)
	case isPlaceholder(clientID) || !guid.Valid(clientID):
		return nil, fmt.Errorf("Entra client ID %q is not a GUID; want the API's application (client) ID from its app registration", clientID)
	}
	clientID = strings.ToLower(clientID)
	if len(uris) == 0 {
		uris = []string{"api://" + clientID}
	}
	auds := []string{clientID}
	for _, u := range uris {
		p, err := url.Parse(u)
		if err != nil || p.Scheme == "" || (p.Host == "" && p.Opaque == "") || isPlaceholder(u) {
			return nil, fmt.Errorf("Entra App ID URI %q: want an absolute URI such as api://%s", u, clientID)
		}
		if !slices.Contains(auds, u) {
			auds = append(auds, u)
		}
	}
	return auds, nil
}

// isPlaceholder reports template text left in a configuration value.
func isPlaceholder(s string) bool {
	return strings.ContainsAny(s, "<>{}[] $%") || strings.Contains(strings.ToLower(s), "tenant-id") ||
		strings.Contains(strings.ToLower(s), "your-")
}
