package idp

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// defaultPermission is the delegated permission Entra creates for every
// exposed API; a ".default" scope is reported with it, since this provider
// keeps no consent records to expand it from.
const defaultPermission = "user_impersonation"

// splitResourceScope splits "api://lending/Loans.Read" into the resource
// "api://lending" and the permission "Loans.Read". It also accepts Entra's
// "<app GUID>/Perm" form. ok is false for scopes that name no resource, such
// as "openid".
func splitResourceScope(scope string) (resource, permission string, ok bool) {
	if i := strings.Index(scope, "://"); i > 0 {
		rest := scope[i+3:]
		j := strings.LastIndex(rest, "/")
		if j <= 0 || j == len(rest)-1 || rest[0] == '/' || rest[j-1] == '/' {
			return "", "", false
		}
		return scope[:i+3+j], rest[j+1:], true
	}
	if i := strings.IndexByte(scope, '/'); i > 0 && i < len(scope)-1 {
		if _, err := uuid.Parse(scope[:i]); err == nil {
			return scope[:i], scope[i+1:], true
		}
	}
	return "", "", false
}

// resolveAudience picks the audience of an access token: the one resource
// named by the RFC 8707 resource / RFC 8693 audience parameters and the
// resource scopes, or clientID when none is named. A resource named by its
// App ID URI becomes its application (client) ID (apis), as in the aud of
// an Entra v2.0 access token. Naming two resources is refused, as Entra
// refuses it.
func resolveAudience(clientID string, scopes, resources []string, apis map[string]string) (string, error) {
	var found string
	add := func(r string) error {
		r = apiID(strings.TrimSuffix(strings.TrimSuffix(r, "/.default"), "/"), apis)
		if r == "" {
			return nil
		}
		if found != "" && found != r {
			return oidc.ErrInvalidTarget().WithDescription("the request names more than one resource")
		}
		found = r
		return nil
	}
	for _, r := range resources {
		if err := add(r); err != nil {
			return "", err
		}
	}
	for _, s := range scopes {
		if r, _, ok := splitResourceScope(s); ok {
			if err := add(r); err != nil {
				return "", err
			}
		}
	}
	if found == "" {
		return clientID, nil
	}
	return found, nil
}

// apiID returns the application (client) ID of the API whose App ID URI is
// resource, or resource itself when it is not a known App ID URI.
func apiID(resource string, apis map[string]string) string {
	if id, ok := apis[resource]; ok {
		return id
	}
	return resource
}

// delegatedScp is the scp claim of a delegated token for aud: the
// permissions requested on that resource, or the OpenID scopes when the token
// is for the client itself.
func delegatedScp(scopes []string, aud, clientID string, apis map[string]string) string {
	var perms []string
	if aud != clientID {
		for _, s := range scopes {
			r, p, ok := splitResourceScope(s)
			if !ok || apiID(r, apis) != aud {
				continue
			}
			if p == ".default" {
				p = defaultPermission
			}
			if !slices.Contains(perms, p) {
				perms = append(perms, p)
			}
		}
	} else {
		for _, s := range scopes {
			if s != oidc.ScopeOfflineAccess {
				if _, _, ok := splitResourceScope(s); !ok {
					perms = append(perms, s)
				}
			}
		}
	}
	if len(perms) == 0 {
		perms = []string{defaultPermission}
	}
	return strings.Join(perms, " ")
}

// authRequest is an authorization request (code flow) or a completed device
// authorization; it implements op.AuthRequest.
type authRequest struct {
	id           string
	created      time.Time
	clientID     string
	redirectURI  string
	state        string
	nonce        string
	scopes       []string
	responseType oidc.ResponseType
	responseMode oidc.ResponseMode
	challenge    *oidc.CodeChallenge
	aud          string

	done     bool
	subject  string
	authTime time.Time
	amr      []string
	acr      string
}

func (a *authRequest) GetID() string                         { return a.id }
func (a *authRequest) GetACR() string                        { return a.acr }
func (a *authRequest) GetAMR() []string                      { return a.amr }
func (a *authRequest) GetAudience() []string                 { return []string{a.aud} }
func (a *authRequest) GetAuthTime() time.Time                { return a.authTime }
func (a *authRequest) GetClientID() string                   { return a.clientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge { return a.challenge }
func (a *authRequest) GetNonce() string                      { return a.nonce }
func (a *authRequest) GetRedirectURI() string                { return a.redirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType    { return a.responseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode    { return a.responseMode }
func (a *authRequest) GetScopes() []string                   { return a.scopes }
func (a *authRequest) GetState() string                      { return a.state }
func (a *authRequest) GetSubject() string                    { return a.subject }
func (a *authRequest) Done() bool                            { return a.done }

func (a *authRequest) clone() *authRequest {
	c := *a
	c.scopes = slices.Clone(a.scopes)
	c.amr = slices.Clone(a.amr)
	return &c
}

// refreshRecord is what a refresh token stands for.
type refreshRecord struct {
	clientID string
	subject  string
	scopes   []string
	aud      string
	amr      []string
	acr      string
	authTime time.Time
	expires  time.Time
}

// refreshTokenRequest implements op.RefreshTokenRequest over a copy of a
// record.
type refreshTokenRequest struct{ rec refreshRecord }

func (r *refreshTokenRequest) GetAMR() []string            { return r.rec.amr }
func (r *refreshTokenRequest) GetAudience() []string       { return []string{r.rec.aud} }
func (r *refreshTokenRequest) GetAuthTime() time.Time      { return r.rec.authTime }
func (r *refreshTokenRequest) GetClientID() string         { return r.rec.clientID }
func (r *refreshTokenRequest) GetScopes() []string         { return r.rec.scopes }
func (r *refreshTokenRequest) GetSubject() string          { return r.rec.subject }
func (r *refreshTokenRequest) SetCurrentScopes(s []string) { r.rec.scopes = s }

// appTokenRequest is a client_credentials request: the token's subject is
// the client's service principal.
type appTokenRequest struct {
	clientID string
	subject  string
	aud      string
	scopes   []string
}

func (r *appTokenRequest) GetSubject() string    { return r.subject }
func (r *appTokenRequest) GetAudience() []string { return []string{r.aud} }
func (r *appTokenRequest) GetScopes() []string   { return r.scopes }

// exchangeRequest gives zitadel's token exchange request the audience this
// provider resolved; zitadel would use only the audience parameter.
type exchangeRequest struct {
	op.TokenExchangeRequest
	aud string
}

func (r *exchangeRequest) GetAudience() []string { return []string{r.aud} }

// idTokenAuthRequest and idTokenRequest narrow an ID token's audience to the
// client, as Entra does, while the access token minted from the same request
// goes to the resource. The first keeps op.AuthRequest so zitadel still
// copies nonce and acr.
type idTokenAuthRequest struct{ op.AuthRequest }

func (r idTokenAuthRequest) GetAudience() []string { return []string{r.GetClientID()} }

type idTokenRequest struct{ op.IDTokenRequest }

func (r idTokenRequest) GetAudience() []string { return []string{r.GetClientID()} }

// resourcesKey carries RFC 8707 resource parameters from the HTTP request to
// storage methods whose signatures zitadel fixed without them.
type resourcesKey struct{}

func withResources(ctx context.Context, resources []string) context.Context {
	if len(resources) == 0 {
		return ctx
	}
	return context.WithValue(ctx, resourcesKey{}, slices.Clone(resources))
}

func resourcesFrom(ctx context.Context) []string {
	r, _ := ctx.Value(resourcesKey{}).([]string)
	return r
}
