package jwkstest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"

	"github.com/idbridge/idbridge/jwks"
)

// Identifiers of the made-up Entra tenant and applications the Entra
// helpers default to. They are GUIDs, as Entra's are.
const (
	// TenantID is the default tid (directory ID).
	TenantID = "4c1d2e3f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
	// APIClientID is the application (client) ID of the protected API: the
	// aud of its v2.0 access tokens. Its App ID URI is "api://" + APIClientID.
	APIClientID = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"
	// ClientAppID is the application (client) ID of the app that calls the
	// API: azp (v2.0) or appid (v1.0) of access tokens, aud of ID tokens.
	ClientAppID = "0b2e4d6f-8a1c-4e3b-9d5f-7a9c1e3b5d70"
	// UserObjectID is the default oid of delegated tokens.
	UserObjectID = "a1b2c3d4-0001-4a5b-8c6d-7e8f9a0b1c2d"
	// AppObjectID is the default oid of app-only tokens: the caller's
	// service principal.
	AppObjectID = "5a7e0c31-9d42-4b6f-8e15-0c3d2b1a9f70"
)

// EntraToken describes a token as Microsoft Entra ID issues it, for
// [Server.EntraAccessToken], [Server.EntraAppToken] and
// [Server.EntraIDToken]. Zero fields take the defaults named on each.
type EntraToken struct {
	// Version is jwks.EntraV2 ("2.0", default) or jwks.EntraV1 ("1.0"). It
	// decides iss, aud, the client claim (azp or appid) and the user name
	// claims (preferred_username or upn and unique_name), as Entra does.
	Version string
	// Tenant is tid; default TenantID.
	Tenant string
	// API is the protected API's application (client) ID, the aud of a
	// v2.0 access token; default APIClientID.
	API string
	// AppIDURI is the aud of a v1.0 access token; default "api://" + API.
	AppIDURI string
	// Client is the calling application's client ID: azp (v2.0) or appid
	// (v1.0), and the aud of an ID token; default ClientAppID.
	Client string
	// ObjectID is oid (the user, or the caller's service principal for an
	// app-only token); default UserObjectID or AppObjectID.
	ObjectID string
	// Username is preferred_username (v2.0) or upn and unique_name (v1.0);
	// default "amit.r@bank.example" for a user, none for an app.
	Username string
	// Name is the display name of a user; default "Amit R".
	Name string
	// Scopes are the delegated permissions (scp); default {"user_impersonation"}
	// for a delegated access token.
	Scopes []string
	// Roles are app roles (roles); app-only tokens carry only these.
	Roles []string
	// Groups are group object IDs (groups).
	Groups []string
	// Claims are merged last: extra claims, or overrides; a claim set to
	// nil is left out.
	Claims map[string]any
}

// EntraIssuer returns the v2.0 issuer of tenant tid on this server, as
// Entra would: URL/tid/v2.0.
func (s *Server) EntraIssuer(tid string) string { return s.URL + "/" + tid + "/v2.0" }

// EntraV1Issuer returns the v1.0 issuer of tenant tid on this server,
// which stands for https://sts.windows.net as well: URL/tid/.
func (s *Server) EntraV1Issuer(tid string) string { return s.URL + "/" + tid + "/" }

// EntraAPI is [jwks.EntraAPI] pointed at this server (Authority and
// V1Authority are its URL, HTTPClient its client): a validator built with
// it accepts what EntraAccessToken and EntraAppToken mint for tenant and
// clientID, and refuses what Entra would not issue for them.
func (s *Server) EntraAPI(tenant, clientID string, optFns ...func(*jwks.EntraOptions)) func(*jwks.Options) {
	entra := jwks.EntraAPI(tenant, clientID, append([]func(*jwks.EntraOptions){func(o *jwks.EntraOptions) {
		o.Authority, o.V1Authority = s.URL, s.URL
	}}, optFns...)...)
	return func(o *jwks.Options) {
		entra(o)
		if o.HTTPClient == nil {
			o.HTTPClient = s.Client()
		}
	}
}

// EntraAccessToken mints a delegated access token (a user signed in to
// t.Client, which calls t.API with scopes t.Scopes) in Entra's shape for
// t.Version, signed with the current key.
func (s *Server) EntraAccessToken(t EntraToken) string {
	t = t.defaults(false)
	c := s.entraCommon(t)
	c["aud"] = t.API
	if t.Version == jwks.EntraV1 {
		c["aud"] = t.AppIDURI
	}
	c["scp"] = strings.Join(t.Scopes, " ")
	c["sub"] = pairwise(t.ObjectID, t.Client)
	s.entraUser(c, t)
	return s.MintWithHeader(nil, merged(c, t.Claims))
}

// EntraAppToken mints an app-only access token (client credentials: t.Client
// calls t.API as itself) in Entra's shape for t.Version: roles and no scp,
// idtyp "app", oid and sub the caller's service principal.
func (s *Server) EntraAppToken(t EntraToken) string {
	t = t.defaults(true)
	c := s.entraCommon(t)
	c["aud"] = t.API
	if t.Version == jwks.EntraV1 {
		c["aud"] = t.AppIDURI
	}
	c["sub"] = t.ObjectID
	c["idtyp"] = "app"
	return s.MintWithHeader(nil, merged(c, t.Claims))
}

// EntraIDToken mints an OpenID Connect ID token for a user signing in to
// t.Client: aud is the client, nonce the one the client sent, and it
// carries no scp or roles for an API.
func (s *Server) EntraIDToken(t EntraToken, nonce string) string {
	t = t.defaults(false)
	c := s.entraCommon(t)
	delete(c, "azp")
	delete(c, "azpacr") // only access tokens say how the client authenticated
	delete(c, "appid")
	delete(c, "appidacr")
	delete(c, "scp")
	c["aud"] = t.Client
	c["sub"] = pairwise(t.ObjectID, t.Client)
	if nonce != "" {
		c["nonce"] = nonce
	}
	delete(c, "roles")
	s.entraUser(c, t)
	return s.MintWithHeader(nil, merged(c, t.Claims))
}

func (t EntraToken) defaults(app bool) EntraToken {
	if t.Version == "" {
		t.Version = jwks.EntraV2
	}
	if t.Tenant == "" {
		t.Tenant = TenantID
	}
	if t.API == "" {
		t.API = APIClientID
	}
	if t.AppIDURI == "" {
		t.AppIDURI = "api://" + t.API
	}
	if t.Client == "" {
		t.Client = ClientAppID
	}
	if app {
		t.Scopes = nil
		if t.ObjectID == "" {
			t.ObjectID = AppObjectID
		}
		return t
	}
	if t.ObjectID == "" {
		t.ObjectID = UserObjectID
	}
	if t.Username == "" {
		t.Username = "amit.r@bank.example"
	}
	if t.Name == "" {
		t.Name = "Amit R"
	}
	if len(t.Scopes) == 0 {
		t.Scopes = []string{"user_impersonation"}
	}
	return t
}

// entraCommon are the claims every Entra token of t.Version carries.
func (s *Server) entraCommon(t EntraToken) map[string]any {
	now := s.o.Now().Unix()
	c := map[string]any{
		"iss": s.EntraIssuer(t.Tenant), "tid": t.Tenant, "oid": t.ObjectID, "ver": t.Version,
		"nbf": now, "uti": randomID(16), "aio": randomID(42),
	}
	if t.Version == jwks.EntraV1 {
		c["iss"] = s.EntraV1Issuer(t.Tenant)
		c["appid"], c["appidacr"] = t.Client, "1"
	} else {
		c["azp"], c["azpacr"] = t.Client, "1"
	}
	if len(t.Roles) > 0 {
		c["roles"] = t.Roles
	}
	if len(t.Groups) > 0 {
		c["groups"] = t.Groups
	}
	return c
}

// entraUser adds the user's names in t.Version's claims.
func (s *Server) entraUser(c map[string]any, t EntraToken) {
	c["name"] = t.Name
	if t.Version == jwks.EntraV1 {
		c["upn"], c["unique_name"] = t.Username, t.Username
		c["amr"] = []string{"pwd"}
		return
	}
	c["preferred_username"] = t.Username
}

// pairwise derives Entra's sub: a per-application identifier of the user,
// the same for one user and client, never the oid.
func pairwise(oid, client string) string {
	sum := sha256.Sum256([]byte(oid + "|" + client))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

func merged(c, extra map[string]any) map[string]any {
	merge(c, extra)
	return c
}
