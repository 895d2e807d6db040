package jwks

import (
	"net/url"
	"strings"
)

// Microsoft Entra ID endpoints and well-known tenants.
const (
	EntraAuthority   = "https://login.microsoftonline.com" // v2.0 issuer and JWKS host
	EntraV1Authority = "https://sts.windows.net"           // v1.0 issuer host
	// EntraConsumersTenant is the tenant ID of personal Microsoft accounts.
	EntraConsumersTenant = "9188040d-6c67-4c5b-b112-36a304b66dad"
)

// EntraOptions configure [Entra].
type EntraOptions struct {
	// Tenants is the tenant (tid) allow-list. It is required for the
	// multi-tenant "organizations" and "common" endpoints, where any
	// tenant's tokens carry a valid Microsoft signature.
	Tenants []string
	// V1 also trusts v1.0 access tokens (iss https://sts.windows.net/{tid}/),
	// which Entra issues to APIs whose manifest keeps
	// accessTokenAcceptedVersion at null or 1.
	V1 bool
	// AppID selects the app-specific signing keys of an application that
	// uses a custom signing key or claims mapping (JWKS URL ?appid=).
	AppID string
	// Authority replaces EntraAuthority (sovereign clouds, tests).
	Authority string
	// V1Authority replaces EntraV1Authority (sovereign clouds, tests).
	V1Authority string
}

// Entra returns the trusted issuers for a Microsoft Entra ID tenant, to
// append to Options.Issuers. tenant is a tenant ID (GUID), "organizations"
// or "common" (multi-tenant: issuers become {tenantid} templates filled from
// the token's tid and EntraOptions.Tenants becomes their allow-list), or
// "consumers". The issuers share one key set from the tenant's v2.0 JWKS
// endpoint (it also signs v1.0 tokens), which the validator creates.
func Entra(tenant string, optFns ...func(*EntraOptions)) []Issuer {
	var o EntraOptions
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Authority == "" {
		o.Authority = EntraAuthority
	}
	if o.V1Authority == "" {
		o.V1Authority = EntraV1Authority
	}
	o.Authority = strings.TrimSuffix(o.Authority, "/")
	o.V1Authority = strings.TrimSuffix(o.V1Authority, "/")

	jwksURL := o.Authority + "/" + url.PathEscape(tenant) + "/discovery/v2.0/keys"
	if o.AppID != "" {
		jwksURL += "?appid=" + url.QueryEscape(o.AppID)
	}
	tid := tenant
	switch strings.ToLower(tenant) {
	case "organizations", "common":
		tid = tenantPlaceholder
	case "consumers":
		tid = EntraConsumersTenant
	}
	tenants := append([]string(nil), o.Tenants...)
	issuers := []Issuer{{
		Issuer:  o.Authority + "/" + tid + "/v2.0",
		JWKSURL: jwksURL,
		Tenants: tenants,
	}}
	if o.V1 {
		issuers = append(issuers, Issuer{
			Issuer:  o.V1Authority + "/" + tid + "/",
			JWKSURL: jwksURL,
			Tenants: tenants,
		})
	}
	return issuers
}
