package idp

import (
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// loginPath serves the headless (and, for the standalone command, HTML)
// login; zitadel redirects authorization requests to it.
const loginPath = "/login"

// opClient presents a Client to zitadel.
type opClient struct {
	c               *Client
	idTokenLifetime time.Duration
}

var _ op.Client = (*opClient)(nil)

func (c *opClient) GetID() string                    { return c.c.ID }
func (c *opClient) RedirectURIs() []string           { return c.c.RedirectURIs }
func (c *opClient) PostLogoutRedirectURIs() []string { return nil }

func (c *opClient) ApplicationType() op.ApplicationType {
	if c.c.Public {
		return op.ApplicationTypeNative
	}
	return op.ApplicationTypeWeb
}

func (c *opClient) AuthMethod() oidc.AuthMethod {
	switch {
	case c.c.Public:
		return oidc.AuthMethodNone
	case c.c.Secret == "":
		return oidc.AuthMethodPrivateKeyJWT
	default:
		return oidc.AuthMethodBasic
	}
}

func (c *opClient) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}

func (c *opClient) GrantTypes() []oidc.GrantType {
	out := make([]oidc.GrantType, len(c.c.GrantTypes))
	for i, g := range c.c.GrantTypes {
		out[i] = oidc.GrantType(g)
	}
	return out
}

func (c *opClient) LoginURL(id string) string           { return loginPath + "?id=" + id }
func (c *opClient) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeJWT }
func (c *opClient) IDTokenLifetime() time.Duration      { return c.idTokenLifetime }
func (c *opClient) DevMode() bool                       { return false }
func (c *opClient) ClockSkew() time.Duration            { return 0 }

func (c *opClient) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func (c *opClient) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// IsScopeAllowed keeps resource scopes ("api://lending/Loans.Read"), which
// zitadel would otherwise drop from authorization requests.
func (c *opClient) IsScopeAllowed(scope string) bool {
	_, _, ok := splitResourceScope(scope)
	return ok
}

// IDTokenUserinfoClaimsAssertion puts name and preferred_username into the ID
// token even when an access token is issued, as Entra does.
func (c *opClient) IDTokenUserinfoClaimsAssertion() bool { return true }
