package idp

import (
	"context"
	"slices"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// IntrospectionURL is the RFC 7662 token introspection endpoint.
func (p *Provider) IntrospectionURL() string {
	return p.op.Endpoints().Introspection.Absolute(p.issuer)
}

// RevocationURL is the RFC 7009 token revocation endpoint.
func (p *Provider) RevocationURL() string {
	return p.op.Endpoints().Revocation.Absolute(p.issuer)
}

// introspectedClaims are the access-token claims an introspection answer
// repeats, beside the registered members: what Entra would put in a token
// and a resource server decides on.
var introspectedClaims = []string{"tid", "oid", "azp", "groups", "roles", "scp", "acr", "idtyp", "ver", "name", "preferred_username"}

// Introspect answers RFC 7662 requests from confidential clients (any of
// them, as Keycloak does). zitadel's own answer carries only sub, username
// and the caller's client_id and never describes a refresh token; this one
// describes the token itself: iss, aud, exp, iat, nbf, jti, the client it
// was issued to, scope and the Entra claims of an access token, and
// token_type "refresh_token" for a refresh token. A token is inactive once
// expired (by [Options.Now] too), when its signature or issuer is wrong,
// when it is an ID token,
// when it is a refresh token that was revoked or rotated, and when its
// user is disabled, so that introspection sees a leaver at once.
func (s *server) Introspect(ctx context.Context, r *op.Request[op.IntrospectionRequest]) (*op.Response, error) {
	client, err := s.VerifyClient(ctx, &op.Request[op.ClientCredentials]{
		Method: r.Method, URL: r.URL, Header: r.Header, Form: r.Form, Data: r.Data.ClientCredentials,
	})
	if err != nil {
		return nil, err
	}
	if client.AuthMethod() == oidc.AuthMethodNone {
		return nil, invalidClient("a public client may not introspect", nil)
	}
	if resp, ok := s.introspectRefresh(r.Data.Token); ok {
		return op.NewResponse(resp), nil
	}
	return op.NewResponse(s.introspectAccess(ctx, r.Data.Token)), nil
}

// introspectRefresh describes a refresh token this provider issued; ok is
// false when token is not one it holds (any more).
func (s *server) introspectRefresh(token string) (*oidc.IntrospectionResponse, bool) {
	s.store.mu.Lock()
	rec, ok := s.store.refresh[token]
	var c refreshRecord
	if ok {
		c = *rec
		c.scopes = slices.Clone(rec.scopes)
	}
	s.store.mu.Unlock()
	if !ok {
		return nil, false
	}
	if !s.store.now().Before(c.expires) {
		return &oidc.IntrospectionResponse{}, true
	}
	u, err := s.store.activeUser(c.subject)
	if err != nil {
		return &oidc.IntrospectionResponse{}, true
	}
	return &oidc.IntrospectionResponse{
		Active: true, TokenType: "refresh_token", Issuer: s.issuer, ClientID: c.clientID,
		Subject: c.subject, Username: preferredUsername(u), Scope: c.scopes,
		Audience: oidc.Audience{c.aud}, Expiration: oidc.FromTime(c.expires),
	}, true
}

// introspectAccess describes a JWT access token this provider signed.
func (s *server) introspectAccess(ctx context.Context, token string) *oidc.IntrospectionResponse {
	inactive := &oidc.IntrospectionResponse{}
	claims, err := op.VerifyAccessToken[*oidc.AccessTokenClaims](ctx, token, s.provider.AccessTokenVerifier(ctx))
	if err != nil || !s.store.now().Before(claims.GetExpiration()) || isIDToken(claims) {
		return inactive
	}
	resp := &oidc.IntrospectionResponse{
		Active: true, TokenType: oidc.BearerToken, Issuer: claims.Issuer, ClientID: claims.ClientID,
		Subject: claims.Subject, Audience: claims.Audience, JWTID: claims.JWTID,
		Expiration: claims.Expiration, IssuedAt: claims.IssuedAt, NotBefore: claims.NotBefore,
		AuthenticationMethodsReferences: claims.AuthenticationMethodsReferences,
		Claims:                          map[string]any{},
	}
	if claims.Claims["idtyp"] != "app" {
		u, err := s.store.activeUser(claims.Subject)
		if err != nil {
			return inactive
		}
		resp.Username = preferredUsername(u)
	}
	if scp, ok := claims.Claims["scp"].(string); ok {
		resp.Scope = strings.Fields(scp)
	}
	for _, k := range introspectedClaims {
		if v, ok := claims.Claims[k]; ok {
			resp.Claims[k] = v
		}
	}
	return resp
}

// isIDToken tells an ID token, signed by the same key, from an access
// token: only access tokens carry a jti (the storage's token ID), only ID
// tokens a nonce or at_hash.
func isIDToken(c *oidc.AccessTokenClaims) bool {
	_, nonce := c.Claims["nonce"]
	_, atHash := c.Claims["at_hash"]
	return c.JWTID == "" || nonce || atHash
}
