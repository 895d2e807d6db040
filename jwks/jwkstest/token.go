package jwkstest

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/idbridge/idbridge/internal/guid"
)

// Client is an application registered with the server's token endpoint.
type Client struct {
	// ID is the client_id (Entra: the application (client) ID).
	ID string
	// Secret authenticates the client (client_secret_basic or
	// client_secret_post). Empty makes a public client, which may only
	// redeem refresh tokens.
	Secret string
	// Roles are the app roles of its client-credentials tokens. Entra
	// issues app-only tokens without roles when none are assigned, and
	// access-token validation refuses those (neither scp nor roles).
	Roles []string
}

// AddClient registers c with the token endpoint, replacing a client of the
// same ID.
func (s *Server) AddClient(c Client) {
	c.Roles = slices.Clone(c.Roles)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.clients == nil {
		s.clients = map[string]Client{}
	}
	s.clients[c.ID] = c
}

// TokenURL returns the token endpoint: URL/token, or with Entra
// URL/{TenantID}/oauth2/v2.0/token (any tenant's path works).
func (s *Server) TokenURL() string {
	if s.o.Entra {
		return s.URL + "/" + TenantID + "/oauth2/v2.0/token"
	}
	return s.URL + "/token"
}

// RefreshToken returns a refresh token that t.Client (registered with
// AddClient) can redeem at the token endpoint for t's delegated access
// token. Each redemption rotates it: the answer carries a new refresh
// token, and the old one answers invalid_grant.
func (s *Server) RefreshToken(t EntraToken) string {
	rt := randomID(43)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refresh == nil {
		s.refresh = map[string]EntraToken{}
	}
	s.refresh[rt] = t
	return rt
}

// tokenEndpoint answers RFC 6749 token requests: client_credentials (app-only
// tokens as Entra issues them, or RFC 9068 tokens without Options.Entra)
// and refresh_token; errors in the section 5.2 format.
func (s *Server) tokenEndpoint(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		tokenError(w, http.StatusMethodNotAllowed, "invalid_request", "the token endpoint takes POST")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		tokenError(w, http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded")
		return
	}
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", "the body is not a valid form")
		return
	}
	f := r.PostForm
	for k, v := range f {
		if len(v) > 1 {
			tokenError(w, http.StatusBadRequest, "invalid_request", "parameter "+k+" is repeated")
			return
		}
	}
	c, basic, ok := s.authenticate(r)
	if !ok {
		if basic {
			w.Header().Set("WWW-Authenticate", `Basic realm="jwkstest"`)
		}
		tokenError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	switch f.Get("grant_type") {
	case "client_credentials":
		s.clientCredentials(w, r, c)
	case "refresh_token":
		s.refreshGrant(w, r, c)
	case "":
		tokenError(w, http.StatusBadRequest, "invalid_request", "grant_type is required")
	default:
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "this server supports client_credentials and refresh_token")
	}
}

// authenticate finds the client of r: client_secret_basic (RFC 6749
// section 2.3.1, form-encoded then base64), client_secret_post, or a
// public client naming itself with client_id.
func (s *Server) authenticate(r *http.Request) (c Client, basic, ok bool) {
	id, secret, basic := r.BasicAuth()
	if basic {
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil || r.PostForm.Has("client_secret") {
			return Client{}, true, false
		}
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	s.mu.Lock()
	c, known := s.clients[id]
	s.mu.Unlock()
	if !known || id == "" {
		return Client{}, basic, false
	}
	if c.Secret == "" {
		return c, basic, secret == ""
	}
	return c, basic, subtle.ConstantTimeCompare([]byte(secret), []byte(c.Secret)) == 1
}

// clientCredentials issues an app-only token for the one resource of the
// scope parameter (RESOURCE/.default, as Entra requires).
func (s *Server) clientCredentials(w http.ResponseWriter, r *http.Request, c Client) {
	if c.Secret == "" {
		tokenError(w, http.StatusBadRequest, "unauthorized_client", "a public client cannot use client_credentials")
		return
	}
	scope := strings.TrimSpace(r.PostForm.Get("scope"))
	resource, ok := strings.CutSuffix(scope, "/.default")
	if !ok || resource == "" || strings.ContainsAny(resource, " ") {
		tokenError(w, http.StatusBadRequest, "invalid_scope", "scope must be one RESOURCE/.default")
		return
	}
	aud := s.apiID(resource)
	var tok string
	if s.o.Entra {
		tok = s.EntraAppToken(EntraToken{Tenant: tenantOfPath(r.URL.Path), API: aud, Client: c.ID,
			ObjectID: stableID("sp:" + c.ID), Roles: c.Roles})
	} else {
		claims := map[string]any{"sub": c.ID, "client_id": c.ID, "aud": aud, "jti": randomID(22)}
		if len(c.Roles) > 0 {
			claims["roles"] = c.Roles
		}
		tok = s.MintWithHeader(map[string]any{"typ": "at+jwt"}, claims)
	}
	s.tokenResponse(w, tok, "", "")
}

// refreshGrant redeems and rotates a refresh token from RefreshToken. A
// scope parameter naming another resource's permissions
// ("api://{id}/Perm") switches the new token to that resource.
func (s *Server) refreshGrant(w http.ResponseWriter, r *http.Request, c Client) {
	rt := r.PostForm.Get("refresh_token")
	s.mu.Lock()
	t, ok := s.refresh[rt]
	if ok && t.defaults(false).Client == c.ID {
		delete(s.refresh, rt)
	} else {
		ok = false
	}
	s.mu.Unlock()
	if !ok {
		tokenError(w, http.StatusBadRequest, "invalid_grant", "the refresh token is unknown, used or not this client's")
		return
	}
	var perms []string
	resource := ""
	for _, sc := range strings.Fields(r.PostForm.Get("scope")) {
		i := strings.LastIndexByte(sc, '/')
		if i <= 0 {
			continue // openid, offline_access, profile
		}
		if resource != "" && resource != sc[:i] {
			tokenError(w, http.StatusBadRequest, "invalid_scope", "the scopes name more than one resource")
			return
		}
		resource = sc[:i]
		if p := sc[i+1:]; p != ".default" {
			perms = append(perms, p)
		}
	}
	if resource != "" {
		t.API = s.apiID(resource)
		t.AppIDURI = ""
		if len(perms) > 0 {
			t.Scopes = perms
		}
	}
	next := s.RefreshToken(t)
	s.tokenResponse(w, s.EntraAccessToken(t), next, strings.Join(t.defaults(false).Scopes, " "))
}

// apiID maps a resource named by App ID URI to the API's client ID, as the
// aud of Entra v2.0 tokens: api://{GUID} and entries of Options.APIs.
func (s *Server) apiID(resource string) string {
	if id, ok := s.o.APIs[resource]; ok {
		return id
	}
	if id, ok := strings.CutPrefix(resource, "api://"); ok && guid.Valid(id) {
		return id
	}
	return resource
}

func (s *Server) tokenResponse(w http.ResponseWriter, access, refresh, scope string) {
	body := map[string]any{
		"access_token": access, "token_type": "Bearer",
		"expires_in": int(s.o.TokenLifetime.Seconds()),
	}
	if s.o.Entra {
		body["ext_expires_in"] = body["expires_in"]
	}
	if refresh != "" {
		body["refresh_token"] = refresh
	}
	if scope != "" {
		body["scope"] = scope
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(mustJSON(body))
}

// tokenError writes an RFC 6749 section 5.2 error.
func tokenError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(mustJSON(map[string]string{"error": code, "error_description": description}))
}

// tenantOfPath reads the tenant of /{tenant}/oauth2/v2.0/token.
func tenantOfPath(p string) string {
	if t, _, ok := strings.Cut(strings.TrimPrefix(p, "/"), "/"); ok && guid.Valid(t) {
		return strings.ToLower(t)
	}
	return TenantID
}

// stableID derives a GUID-shaped ID from name, the same in every run.
func stableID(name string) string {
	sum := sha256.Sum256([]byte("jwkstest:" + name))
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-8" + h[17:20] + "-" + h[20:32]
}
