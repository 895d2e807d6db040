package token

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/discovery"
	"github.com/idbridge/idbridge/internal/safeurl"
)

// Environment variables read by [ClientFromEnvironment], the same ones the
// Azure SDKs use.
const (
	EnvTenantID              = "AZURE_TENANT_ID"
	EnvClientID              = "AZURE_CLIENT_ID"
	EnvClientSecret          = "AZURE_CLIENT_SECRET"
	EnvClientCertificatePath = "AZURE_CLIENT_CERTIFICATE_PATH"
	// EnvClientCertificatePassword unlocks a PKCS #12 file at
	// AZURE_CLIENT_CERTIFICATE_PATH.
	EnvClientCertificatePassword = "AZURE_CLIENT_CERTIFICATE_PASSWORD"
	EnvFederatedTokenFile        = "AZURE_FEDERATED_TOKEN_FILE"
	EnvAuthorityHost             = "AZURE_AUTHORITY_HOST"
)

// defaultAuthorityHost is Entra's public cloud authority.
const defaultAuthorityHost = "https://login.microsoftonline.com/"

// tenantPattern keeps the tenant a single path segment.
var tenantPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.\-]{0,99}$`)

// EntraTokenURL returns the v2 token endpoint of tenant at authorityHost
// ("" means https://login.microsoftonline.com/).
func EntraTokenURL(authorityHost, tenant string) (string, error) {
	if !tenantPattern.MatchString(tenant) {
		return "", fmt.Errorf("%w: invalid tenant %q", errInvalidOptions, tenant)
	}
	if authorityHost == "" {
		authorityHost = defaultAuthorityHost
	}
	if err := checkAuthorityHost(authorityHost); err != nil {
		return "", err
	}
	return strings.TrimRight(authorityHost, "/") + "/" + tenant + "/oauth2/v2.0/token", nil
}

// checkAuthorityHost refuses an authority host that is not a scheme and
// host alone. A bare host name is the usual slip
// (AZURE_AUTHORITY_HOST=login.microsoftonline.us), so the error says what
// is expected; a value with user info or a query is not quoted, as it may
// hold a secret.
func checkAuthorityHost(h string) error {
	const want = "want a URL such as https://login.microsoftonline.com/"
	if strings.ContainsAny(h, "?#@") {
		return fmt.Errorf("%w: authority host must not carry user info, a query or a fragment (%s)", errInvalidOptions, want)
	}
	u, err := url.Parse(h)
	if err != nil || u.Scheme == "" || u.Host == "" || strings.Trim(u.Path, "/") != "" {
		return fmt.Errorf("%w: authority host %q is not a scheme and host (%s)", errInvalidOptions, h, want)
	}
	return nil
}

// ClientFromEnvironment builds the Entra client that AZURE_TENANT_ID,
// AZURE_CLIENT_ID and one credential describe. The credential is, in this
// order: AZURE_CLIENT_SECRET (client_secret_post, as Entra expects), a
// certificate and key at AZURE_CLIENT_CERTIFICATE_PATH, PEM or PKCS #12
// (.pfx) unlocked by AZURE_CLIENT_CERTIFICATE_PASSWORD (private_key_jwt
// with PS256 and x5t#S256; encrypted PEM keys are not read), or a
// federated token file at AZURE_FEDERATED_TOKEN_FILE
// (workload identity, re-read as it is renewed). AZURE_AUTHORITY_HOST
// selects a sovereign cloud. EnvironmentOptions.Tenant and ClientID, when
// set, replace AZURE_TENANT_ID and AZURE_CLIENT_ID; Now is used for
// assertions. Every error names
// the variable that is missing or wrong.
func ClientFromEnvironment(optFns ...func(*EnvironmentOptions)) (Client, error) {
	o, err := resolve(optFns)
	if err != nil {
		return Client{}, err
	}
	return clientFromEnvironment(o)
}

func clientFromEnvironment(o *config) (Client, error) {
	tenant, id := os.Getenv(EnvTenantID), os.Getenv(EnvClientID)
	tenantFrom := EnvTenantID
	if o.Tenant != "" {
		tenant, tenantFrom = o.Tenant, "tenant"
	}
	if o.ClientID != "" {
		id = o.ClientID
	}
	var missing []string
	if tenant == "" {
		missing = append(missing, EnvTenantID+" (the directory (tenant) ID)")
	}
	if id == "" {
		missing = append(missing, EnvClientID+" (the application (client) ID)")
	}
	if len(missing) > 0 {
		return Client{}, fmt.Errorf("%w: %s not set", errInvalidOptions, strings.Join(missing, " and "))
	}
	if !tenantPattern.MatchString(tenant) {
		return Client{}, fmt.Errorf("%w: %s %q is not a tenant ID or domain", errInvalidOptions, tenantFrom, tenant)
	}
	host := os.Getenv(EnvAuthorityHost)
	if host != "" {
		if err := checkAuthorityHost(host); err != nil {
			return Client{}, fmt.Errorf("%s: %w", EnvAuthorityHost, err)
		}
		if err := checkEndpoint("authority host", host, o); err != nil {
			return Client{}, fmt.Errorf("%s: %w", EnvAuthorityHost, err)
		}
	}
	tokenURL, err := EntraTokenURL(host, tenant)
	if err != nil {
		return Client{}, err
	}
	c := Client{ID: id, TokenURL: tokenURL}
	if c.Auth, err = authFromEnvironment(o); err != nil {
		return Client{}, err
	}
	return c, c.validate(o)
}

// authFromEnvironment is the client credential the environment names:
// a secret, a certificate file or a federated token file, in that order.
func authFromEnvironment(o *config) (ClientAuth, error) {
	var auth ClientAuth
	switch {
	case os.Getenv(EnvClientSecret) != "":
		auth = ClientSecretPost(Secret(os.Getenv(EnvClientSecret)))
	case os.Getenv(EnvClientCertificatePath) != "":
		data, err := os.ReadFile(os.Getenv(EnvClientCertificatePath))
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", errInvalidOptions, EnvClientCertificatePath, err)
		}
		key, certs, err := parseCertificateFile(data, Secret(os.Getenv(EnvClientCertificatePassword)))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvClientCertificatePath, err)
		}
		if len(certs) == 0 {
			return nil, fmt.Errorf("%w: %s holds no certificate", errInvalidOptions, EnvClientCertificatePath)
		}
		auth, err = PrivateKeyJWT(key, func(j *JWTOptions) {
			j.Certificate, j.Algorithm, j.Now = certs[0], PS256, o.Now
		})
		if err != nil {
			return nil, err
		}
	case os.Getenv(EnvFederatedTokenFile) != "":
		fa, err := NewFileAssertion(os.Getenv(EnvFederatedTokenFile), func(f *FileAssertionOptions) { f.Now = o.Now })
		if err != nil {
			return nil, err
		}
		auth = ClientAssertion(func(ctx context.Context) (string, error) {
			s, err := fa.Assertion(ctx)
			if err != nil && errors.Is(err, idbridge.ErrInvalidOptions) {
				return "", fmt.Errorf("%s: %w", EnvFederatedTokenFile, err)
			}
			return s, err
		})
	default:
		return nil, fmt.Errorf("%w: set %s, %s or %s", errInvalidOptions, EnvClientSecret, EnvClientCertificatePath, EnvFederatedTokenFile)
	}
	return auth, nil
}

// FromEnvironment returns a cached client credentials source for the Entra
// client configured in the environment (see [ClientFromEnvironment]); for
// Entra, scopes is usually one "api://…/.default". Close the result.
func FromEnvironment(scopes []string, optFns ...func(*FromEnvironmentOptions)) (*Cache, error) {
	o, err := resolve(optFns)
	if err != nil {
		return nil, err
	}
	c, err := clientFromEnvironment(o)
	if err != nil {
		return nil, err
	}
	return newCachedClientCredentials(c, scopes, o)
}

// Endpoints are an OpenID provider's endpoints, from its discovery
// document.
type Endpoints struct {
	Issuer        string
	AuthURL       string
	TokenURL      string
	DeviceAuthURL string
	JWKSURL       string
	UserInfoURL   string
	// IntrospectionURL is the RFC 7662 endpoint for [NewIntrospector], or
	// "" when the provider has none (Entra ID has none).
	IntrospectionURL string
	// GrantTypes and AuthMethods are what the provider says it supports
	// (grant_types_supported, token_endpoint_auth_methods_supported).
	GrantTypes  []string
	AuthMethods []string
}

// Discover reads the OpenID provider configuration of issuer
// ({issuer}/.well-known/openid-configuration). The document's issuer must
// equal issuer exactly (a mix-up defence), except that Entra's multi-tenant
// authorities (common, organizations, consumers) may name their
// "{tenantid}" template: issuer with that path segment replaced by
// {tenantid} (jwks.Discover follows the same rule). Every endpoint must be
// HTTPS (or loopback).
func Discover(ctx context.Context, issuer string, optFns ...func(*DiscoverOptions)) (*Endpoints, error) {
	o, err := resolve(optFns)
	if err != nil {
		return nil, err
	}
	if err := checkEndpoint("issuer", issuer, o); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	d, err := discovery.Read(ctx, issuer, func(ctx context.Context, u string) ([]byte, error) {
		return getDiscovery(ctx, o.HTTPClient, u)
	})
	switch {
	case errors.Is(err, discovery.ErrIssuerMismatch):
		return nil, fmt.Errorf("%w: %w", errInvalidOptions, err)
	case errors.Is(err, discovery.ErrMalformed):
		return nil, fmt.Errorf("%w: %w", ErrIdPUnavailable, err)
	case err != nil:
		return nil, err
	}
	if err := checkEndpoint("token endpoint", d.TokenURL, o); err != nil {
		return nil, err
	}
	for what, v := range map[string]string{"authorization endpoint": d.AuthURL, "device authorization endpoint": d.DeviceAuthURL, "jwks_uri": d.JWKSURL, "userinfo endpoint": d.UserInfoURL, "introspection endpoint": d.IntrospectionURL} {
		if v != "" {
			if err := checkEndpoint(what, v, o); err != nil {
				return nil, err
			}
		}
	}
	return &Endpoints{
		Issuer: d.Issuer, AuthURL: d.AuthURL, TokenURL: d.TokenURL, DeviceAuthURL: d.DeviceAuthURL,
		JWKSURL: d.JWKSURL, UserInfoURL: d.UserInfoURL, IntrospectionURL: d.IntrospectionURL, GrantTypes: d.GrantTypes, AuthMethods: d.AuthMethods,
	}, nil
}

// getDiscovery fetches a discovery document with hc.
func getDiscovery(ctx context.Context, hc *http.Client, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errInvalidOptions, safeurl.Error(err))
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, unavailable("discovery", safeurl.Error(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, unavailable("discovery", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: discovery answered HTTP %d", ErrIdPUnavailable, resp.StatusCode)
	}
	return body, nil
}
