package idp

import (
	"context"
	"net/http"
	"net/url"
	"slices"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// server is zitadel's LegacyServer with the few steps this provider does
// differently: private_key_jwt with PS256 and ES256 for every grant, RFC 8707
// resource parameters, Entra's split between an access token for the
// resource and an ID token for the client, one-time device codes, PKCE
// enforced whenever a challenge was sent, and Entra's on-behalf-of request.
type server struct {
	*op.LegacyServer
	provider *op.Provider
	store    *storage
	issuer   string
}

func (s *server) tokenURL() string { return s.provider.TokenEndpoint().Absolute(s.issuer) }

// Discovery advertises what the overrides below add or remove.
func (s *server) Discovery(ctx context.Context, r *op.Request[struct{}]) (*op.Response, error) {
	resp, err := s.LegacyServer.Discovery(ctx, r)
	if err != nil {
		return nil, err
	}
	if cfg, ok := resp.Data.(*oidc.DiscoveryConfiguration); ok {
		cfg.ResponseTypesSupported = []string{string(oidc.ResponseTypeCode)}
		cfg.TokenEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodBasic, oidc.AuthMethodPost, oidc.AuthMethodPrivateKeyJWT, oidc.AuthMethodNone}
		cfg.TokenEndpointAuthSigningAlgValuesSupported = []string{"RS256", "PS256", "ES256"}
		// zitadel may hand every request the same backing arrays: work on
		// copies so that concurrent discovery requests do not race.
		cfg.GrantTypesSupported = slices.DeleteFunc(slices.Clone(cfg.GrantTypesSupported), func(g oidc.GrantType) bool {
			return g == oidc.GrantTypeImplicit
		})
		cfg.ClaimsSupported = slices.Concat(cfg.ClaimsSupported, []string{"tid", "oid", "groups", "roles", "scp", "ver", "idtyp"})
	}
	return resp, nil
}

func invalidClient(description string, parent error) error {
	return op.NewStatusError(oidc.ErrInvalidClient().WithDescription("%s", description).WithParent(parent), http.StatusUnauthorized)
}

// VerifyClient authenticates the client of a token-endpoint request. Unlike
// zitadel's, it accepts private_key_jwt for client_credentials too.
func (s *server) VerifyClient(_ context.Context, r *op.Request[op.ClientCredentials]) (op.Client, error) {
	cc := r.Data
	if cc.ClientAssertion != "" {
		c, err := s.store.verifyAssertion(cc.ClientAssertion, cc.ClientID, []string{s.tokenURL(), s.issuer})
		if err != nil {
			return nil, invalidClient(err.Error(), err)
		}
		return &opClient{c: c, idTokenLifetime: s.store.opts.IDTokenLifetime}, nil
	}
	c, ok := s.store.client(cc.ClientID)
	if !ok {
		return nil, invalidClient("unknown client", nil)
	}
	switch {
	case c.Public:
		if cc.ClientSecret != "" {
			return nil, invalidClient("a public client has no secret", nil)
		}
	case c.Secret == "":
		return nil, invalidClient("client must authenticate with private_key_jwt", nil)
	default:
		if _, err := s.store.authenticateSecret(cc.ClientID, cc.ClientSecret); err != nil {
			return nil, invalidClient("invalid client credentials", nil)
		}
	}
	return &opClient{c: c, idTokenLifetime: s.store.opts.IDTokenLifetime}, nil
}

// Authorize passes the RFC 8707 resource parameter on to CreateAuthRequest.
func (s *server) Authorize(ctx context.Context, r *op.ClientRequest[oidc.AuthRequest]) (*op.Redirect, error) {
	return s.LegacyServer.Authorize(withResources(ctx, r.Form["resource"]), r)
}

// ClientCredentialsExchange passes the resource parameter on.
func (s *server) ClientCredentialsExchange(ctx context.Context, r *op.ClientRequest[oidc.ClientCredentialsRequest]) (*op.Response, error) {
	return s.LegacyServer.ClientCredentialsExchange(withResources(ctx, r.Form["resource"]), r)
}

// DeviceAuthorization checks the grant and passes the resource parameter on.
func (s *server) DeviceAuthorization(ctx context.Context, r *op.ClientRequest[oidc.DeviceAuthorizationRequest]) (*op.Response, error) {
	if !op.ValidateGrantType(r.Client, oidc.GrantTypeDeviceCode) {
		return nil, oidc.ErrUnauthorizedClient().WithDescription("client may not use the device flow")
	}
	resources := r.Form["resource"]
	if _, err := resolveAudience(r.Client.GetID(), r.Data.Scopes, resources, s.store.opts.APIs); err != nil {
		return nil, err
	}
	return s.LegacyServer.DeviceAuthorization(withResources(ctx, resources), r)
}

// JWTProfile serves Entra's on-behalf-of request (the JWT bearer grant with
// requested_token_use=on_behalf_of and the user's token as assertion) as the
// RFC 8693 exchange it is, for clients allowed token exchange. Other JWT
// bearer requests are refused.
func (s *server) JWTProfile(ctx context.Context, r *op.Request[oidc.JWTProfileGrantRequest]) (*op.Response, error) {
	if r.Form.Get("requested_token_use") != "on_behalf_of" {
		return nil, oidc.ErrUnsupportedGrantType().WithDescription("the JWT bearer grant is offered only for on-behalf-of")
	}
	cc := &op.ClientCredentials{
		ClientID: r.Form.Get("client_id"), ClientSecret: r.Form.Get("client_secret"),
		ClientAssertion: r.Form.Get("client_assertion"), ClientAssertionType: r.Form.Get("client_assertion_type"),
	}
	if id, secret, ok := (&http.Request{Header: r.Header}).BasicAuth(); ok {
		var err1, err2 error
		cc.ClientID, err1 = url.QueryUnescape(id)
		cc.ClientSecret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return nil, invalidClient("invalid basic auth header", nil)
		}
	}
	client, err := s.VerifyClient(ctx, &op.Request[op.ClientCredentials]{Method: r.Method, URL: r.URL, Header: r.Header, Form: r.Form, Data: cc})
	if err != nil {
		return nil, err
	}
	if !op.ValidateGrantType(client, oidc.GrantTypeTokenExchange) {
		return nil, oidc.ErrUnauthorizedClient().WithDescription("client may not use on-behalf-of")
	}
	te := &oidc.TokenExchangeRequest{
		GrantType: oidc.GrantTypeTokenExchange, SubjectToken: r.Data.Assertion, SubjectTokenType: oidc.AccessTokenType,
		Scopes: r.Data.Scope, RequestedTokenType: oidc.AccessTokenType,
	}
	return s.TokenExchange(ctx, &op.ClientRequest[oidc.TokenExchangeRequest]{
		Request: &op.Request[oidc.TokenExchangeRequest]{Method: r.Method, URL: r.URL, Header: r.Header, Form: r.Form, Data: te},
		Client:  client,
	})
}

// CodeExchange redeems an authorization code. A code bound to a PKCE
// challenge needs its verifier even from a confidential client.
func (s *server) CodeExchange(ctx context.Context, r *op.ClientRequest[oidc.AccessTokenRequest]) (*op.Response, error) {
	authReq, err := op.AuthRequestByCode(ctx, s.provider.Storage(), r.Data.Code)
	if err != nil {
		return nil, err
	}
	if authReq.GetCodeChallenge() != nil || r.Data.CodeVerifier != "" || r.Client.AuthMethod() == oidc.AuthMethodNone {
		if err := op.AuthorizeCodeChallenge(r.Data.CodeVerifier, authReq.GetCodeChallenge()); err != nil {
			return nil, err
		}
	}
	if r.Client.GetID() != authReq.GetClientID() {
		return nil, oidc.ErrInvalidGrant().WithDescription("code was issued to another client")
	}
	if r.Data.RedirectURI != authReq.GetRedirectURI() {
		return nil, oidc.ErrInvalidGrant().WithDescription("redirect_uri does not correspond")
	}
	resp, err := s.tokenResponse(ctx, authReq, r.Client, r.Data.Code, "")
	if err != nil {
		return nil, err
	}
	return op.NewResponse(resp), nil
}

// RefreshToken redeems and rotates a refresh token.
func (s *server) RefreshToken(ctx context.Context, r *op.ClientRequest[oidc.RefreshTokenRequest]) (*op.Response, error) {
	req, err := op.RefreshTokenRequestByRefreshToken(ctx, s.provider.Storage(), r.Data.RefreshToken)
	if err != nil {
		return nil, err
	}
	if r.Client.GetID() != req.GetClientID() {
		return nil, oidc.ErrInvalidGrant().WithDescription("refresh token was issued to another client")
	}
	if err := op.ValidateRefreshTokenScopes(r.Data.Scopes, req); err != nil {
		return nil, err
	}
	resp, err := s.tokenResponse(ctx, req, r.Client, "", r.Data.RefreshToken)
	if err != nil {
		return nil, err
	}
	return op.NewResponse(resp), nil
}

// DeviceToken answers a device poll. The code redeems once.
func (s *server) DeviceToken(ctx context.Context, r *op.ClientRequest[oidc.DeviceAccessTokenRequest]) (*op.Response, error) {
	authReq, err := s.store.redeemDevice(r.Client.GetID(), r.Data.DeviceCode)
	if err != nil {
		return nil, err
	}
	resp, err := s.tokenResponse(ctx, authReq, r.Client, "", "")
	if err != nil {
		return nil, err
	}
	return op.NewResponse(resp), nil
}

// TokenExchange performs RFC 8693 with the audience resolved from the
// audience and resource parameters and the resource scopes.
func (s *server) TokenExchange(ctx context.Context, r *op.ClientRequest[oidc.TokenExchangeRequest]) (*op.Response, error) {
	req, err := op.CreateTokenExchangeRequest(ctx, r.Data, r.Client, s.provider)
	if err != nil {
		return nil, err
	}
	aud, err := resolveAudience(r.Client.GetID(), req.GetScopes(), append(slices.Clone(req.GetResourses()), req.GetAudience()...), s.store.opts.APIs)
	if err != nil {
		return nil, err
	}
	resp, err := op.CreateTokenExchangeResponse(ctx, &exchangeRequest{TokenExchangeRequest: req, aud: aud}, r.Client, s.provider)
	if err != nil {
		return nil, err
	}
	return op.NewResponse(resp), nil
}

// tokenResponse is zitadel's CreateTokenResponse, except that the ID token's
// audience is the client alone while the access token's is the resource.
func (s *server) tokenResponse(ctx context.Context, req op.IDTokenRequest, client op.Client, code, refreshToken string) (*oidc.AccessTokenResponse, error) {
	tokenReq, ok := req.(op.TokenRequest)
	if !ok {
		return nil, oidc.ErrServerError()
	}
	accessToken, newRefresh, validity, err := op.CreateAccessToken(ctx, tokenReq, client.AccessTokenType(), s.provider, client, refreshToken)
	if err != nil {
		return nil, err
	}
	var idToken string
	if slices.Contains(req.GetScopes(), oidc.ScopeOpenID) {
		var view op.IDTokenRequest = idTokenRequest{req}
		if a, ok := req.(op.AuthRequest); ok {
			view = idTokenAuthRequest{a}
		}
		idToken, err = op.CreateIDToken(ctx, op.IssuerFromContext(ctx), view, client.IDTokenLifetime(), accessToken, code, s.provider.Storage(), client)
		if err != nil {
			return nil, err
		}
	}
	if a, ok := req.(op.AuthRequest); ok {
		if err := s.provider.Storage().DeleteAuthRequest(ctx, a.GetID()); err != nil {
			return nil, err
		}
	}
	return &oidc.AccessTokenResponse{
		AccessToken:  accessToken,
		IDToken:      idToken,
		RefreshToken: newRefresh,
		TokenType:    oidc.BearerToken,
		ExpiresIn:    uint64(max(validity.Seconds(), 0)),
		Scope:        req.GetScopes(),
	}, nil
}
