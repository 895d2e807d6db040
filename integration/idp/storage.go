package idp

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// authCodeLifetime bounds how long an authorization code can be redeemed;
// Entra uses about ten minutes.
const authCodeLifetime = 10 * time.Minute

var (
	_ op.Storage                        = (*storage)(nil)
	_ op.ClientCredentialsStorage       = (*storage)(nil)
	_ op.TokenExchangeStorage           = (*storage)(nil)
	_ op.DeviceAuthorizationStorage     = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest      = (*storage)(nil)
	_ op.CanGetPrivateClaimsFromRequest = (*storage)(nil)
)

// errNotFound is the parent of lookups that found nothing; zitadel turns it
// into the right OAuth error for the endpoint.
var errNotFound = errors.New("not found")

type authCode struct {
	requestID string
	expires   time.Time
}

type deviceEntry struct {
	clientID string
	userCode string
	scopes   []string
	aud      string
	expires  time.Time
	done     bool
	denied   bool
	consumed bool
	subject  string
	amr      []string
	acr      string
	authTime time.Time
}

// storage implements zitadel's op.Storage family in memory. It is safe for
// concurrent use; every method copies what it hands out.
type storage struct {
	opts Options // read-only after construction, except users below
	keys *keyring

	mu         sync.Mutex
	users      map[string]*User  // by username; guarded by mu
	bySubject  map[string]string // subject -> username
	clients    map[string]*Client
	authReqs   map[string]*authRequest // guarded by mu
	codes      map[string]authCode     // guarded by mu
	refresh    map[string]*refreshRecord
	devices    map[string]*deviceEntry // by device code; guarded by mu
	userCodes  map[string]string       // user code -> device code
	assertions map[string]time.Time    // client|jti -> expiry, for replay detection
}

func newStorage(opts Options, keys *keyring) *storage {
	s := &storage{
		opts: opts, keys: keys,
		users: map[string]*User{}, bySubject: map[string]string{}, clients: map[string]*Client{},
		authReqs: map[string]*authRequest{}, codes: map[string]authCode{}, refresh: map[string]*refreshRecord{},
		devices: map[string]*deviceEntry{}, userCodes: map[string]string{}, assertions: map[string]time.Time{},
	}
	for i := range opts.Users {
		u := opts.Users[i]
		s.users[u.Username] = &u
		s.bySubject[u.Subject] = u.Username
	}
	for i := range opts.Clients {
		c := opts.Clients[i]
		s.clients[c.ID] = &c
	}
	return s
}

func (s *storage) now() time.Time { return s.opts.Now() }

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// userBySubject returns a copy of the user with that sub, or nil.
func (s *storage) userBySubject(sub string) *User {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[s.bySubject[sub]]
	if !ok {
		return nil
	}
	c := *u
	c.Groups, c.Roles, c.AMR = slices.Clone(u.Groups), slices.Clone(u.Roles), slices.Clone(u.AMR)
	return &c
}

// activeUser returns the user with that sub, or an invalid_grant error when
// the user is unknown or disabled.
func (s *storage) activeUser(sub string) (*User, error) {
	u := s.userBySubject(sub)
	if u == nil {
		return nil, oidc.ErrInvalidGrant().WithDescription("unknown user")
	}
	if u.Disabled {
		return nil, oidc.ErrInvalidGrant().WithDescription("user is disabled")
	}
	return u, nil
}

// checkPassword authenticates a user for login and device approval.
func (s *storage) checkPassword(username, password string) (*User, error) {
	s.mu.Lock()
	u, ok := s.users[username]
	var c User
	if ok {
		c = *u
		c.AMR = slices.Clone(u.AMR)
	}
	s.mu.Unlock()
	if !ok || subtle.ConstantTimeCompare([]byte(c.Password), []byte(password)) != 1 {
		return nil, ErrInvalidCredentials
	}
	if c.Disabled {
		return nil, ErrUserDisabled
	}
	return &c, nil
}

func (s *storage) setGroups(username string, groups []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[username]
	if !ok {
		return ErrUnknownUser
	}
	u.Groups = slices.Clone(groups)
	return nil
}

func (s *storage) setDisabled(username string, disabled bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[username]
	if !ok {
		return ErrUnknownUser
	}
	u.Disabled = disabled
	return nil
}

func (s *storage) client(id string) (*Client, bool) {
	c, ok := s.clients[id] // clients never change after construction
	return c, ok
}

// --- authorization requests and codes ---

func (s *storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	c, ok := s.client(req.ClientID)
	if !ok {
		return nil, oidc.ErrInvalidClient().WithDescription("unknown client")
	}
	if slices.Contains(req.Prompt, oidc.PromptNone) {
		return nil, oidc.ErrLoginRequired()
	}
	if c.Public && req.CodeChallenge == "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("a public client must use PKCE")
	}
	aud, err := resolveAudience(c.ID, req.Scopes, resourcesFrom(ctx), s.opts.APIs)
	if err != nil {
		return nil, err
	}
	a := &authRequest{
		id: uuid.NewString(), created: s.now(), clientID: c.ID, redirectURI: req.RedirectURI,
		state: req.State, nonce: req.Nonce, scopes: slices.Clone(req.Scopes),
		responseType: req.ResponseType, responseMode: req.ResponseMode, aud: aud,
	}
	if req.CodeChallenge != "" {
		a.challenge = &oidc.CodeChallenge{Challenge: req.CodeChallenge, Method: req.CodeChallengeMethod}
	}
	s.mu.Lock()
	s.authReqs[a.id] = a
	s.mu.Unlock()
	return a.clone(), nil
}

func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.authReqs[id]
	if !ok {
		return nil, oidc.ErrInvalidRequest().WithDescription("unknown authorization request").WithParent(errNotFound)
	}
	return a.clone(), nil
}

// AuthRequestByCode redeems a code: it works once, so a replayed code fails
// even while the first redemption is still in flight.
func (s *storage) AuthRequestByCode(_ context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[code]
	delete(s.codes, code)
	if !ok || !s.now().Before(c.expires) {
		return nil, errNotFound
	}
	a, ok := s.authReqs[c.requestID]
	if !ok {
		return nil, errNotFound
	}
	return a.clone(), nil
}

func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.authReqs[id]; !ok {
		return errNotFound
	}
	s.codes[code] = authCode{requestID: id, expires: s.now().Add(authCodeLifetime)}
	return nil
}

func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.authReqs, id)
	for code, c := range s.codes {
		if c.requestID == id {
			delete(s.codes, code)
		}
	}
	return nil
}

// completeLogin marks an authorization request as authenticated by user.
func (s *storage) completeLogin(id, username, password string) error {
	u, err := s.checkPassword(username, password)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.authReqs[id]
	if !ok {
		return ErrUnknownRequest
	}
	a.done, a.subject, a.authTime, a.amr, a.acr = true, u.Subject, s.now(), u.AMR, u.ACR
	return nil
}

// --- tokens ---

func (s *storage) CreateAccessToken(_ context.Context, req op.TokenRequest) (string, time.Time, error) {
	if err := s.checkSubject(req); err != nil {
		return "", time.Time{}, err
	}
	return uuid.NewString(), s.now().Add(s.opts.AccessTokenLifetime), nil
}

// checkSubject refuses to mint a delegated token for a disabled user.
func (s *storage) checkSubject(req op.TokenRequest) error {
	if _, ok := req.(*appTokenRequest); ok {
		return nil
	}
	_, err := s.activeUser(req.GetSubject())
	return err
}

// CreateAccessAndRefreshTokens issues a new refresh token. With a current
// token it rotates: the current token stops working at once, so presenting
// it again answers invalid_grant.
func (s *storage) CreateAccessAndRefreshTokens(_ context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	if err := s.checkSubject(req); err != nil {
		return "", "", time.Time{}, err
	}
	now := s.now()
	var rec refreshRecord
	s.mu.Lock()
	defer s.mu.Unlock()
	if current != "" {
		old, ok := s.refresh[current]
		if !ok {
			return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("refresh token is invalid or was already used")
		}
		delete(s.refresh, current)
		rec = *old
		rec.scopes = slices.Clone(req.GetScopes())
	} else {
		switch r := req.(type) {
		case *authRequest:
			rec = refreshRecord{clientID: r.clientID, subject: r.subject, scopes: slices.Clone(r.scopes), aud: r.aud,
				amr: slices.Clone(r.amr), acr: r.acr, authTime: r.authTime}
		case *exchangeRequest:
			rec = refreshRecord{clientID: r.GetClientID(), subject: r.GetSubject(), scopes: slices.Clone(r.GetScopes()), aud: r.aud,
				authTime: r.GetAuthTime()}
		default:
			return "", "", time.Time{}, oidc.ErrUnsupportedGrantType().WithDescription("no refresh token for this grant")
		}
	}
	rec.expires = now.Add(s.opts.RefreshTokenLifetime)
	token := randomToken()
	s.refresh[token] = &rec
	return uuid.NewString(), token, now.Add(s.opts.AccessTokenLifetime), nil
}

func (s *storage) TokenRequestByRefreshToken(_ context.Context, token string) (op.RefreshTokenRequest, error) {
	s.mu.Lock()
	rec, ok := s.refresh[token]
	var c refreshRecord
	if ok {
		c = *rec
		c.scopes, c.amr = slices.Clone(rec.scopes), slices.Clone(rec.amr)
	}
	s.mu.Unlock()
	if !ok {
		return nil, errors.New("refresh token is invalid or was already used")
	}
	if !s.now().Before(c.expires) {
		return nil, errors.New("refresh token expired")
	}
	if _, err := s.activeUser(c.subject); err != nil {
		return nil, err
	}
	return &refreshTokenRequest{rec: c}, nil
}

func (s *storage) TerminateSession(_ context.Context, userID, clientID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t, r := range s.refresh {
		if r.subject == userID && r.clientID == clientID {
			delete(s.refresh, t)
		}
	}
	return nil
}

func (s *storage) RevokeToken(_ context.Context, tokenOrID, _ string, clientID string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.refresh[tokenOrID]
	if !ok {
		return nil // unknown or access token: already as good as revoked
	}
	if r.clientID != clientID {
		return oidc.ErrInvalidClient().WithDescription("token was not issued to this client")
	}
	delete(s.refresh, tokenOrID)
	return nil
}

func (s *storage) GetRefreshTokenInfo(_ context.Context, clientID, token string) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.refresh[token]
	if !ok || r.clientID != clientID {
		return "", "", op.ErrInvalidRefreshToken
	}
	return r.subject, token, nil
}

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) { return s.keys.current(), nil }

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.SignatureAlgorithm(s.opts.Algorithm)}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) { return s.keys.published(), nil }

// --- clients ---

func (s *storage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	c, ok := s.client(id)
	if !ok {
		return nil, oidc.ErrInvalidClient().WithDescription("unknown client")
	}
	return &opClient{c: c, idTokenLifetime: s.opts.IDTokenLifetime}, nil
}

func (s *storage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	_, err := s.authenticateSecret(id, secret)
	return err
}

// authenticateSecret checks a client secret in constant time.
func (s *storage) authenticateSecret(id, secret string) (*Client, error) {
	c, ok := s.client(id)
	if !ok || c.Secret == "" || subtle.ConstantTimeCompare([]byte(c.Secret), []byte(secret)) != 1 {
		return nil, errors.New("invalid client credentials")
	}
	return c, nil
}

func (s *storage) ClientCredentials(_ context.Context, id, secret string) (op.Client, error) {
	c, err := s.authenticateSecret(id, secret)
	if err != nil {
		return nil, err
	}
	return &opClient{c: c, idTokenLifetime: s.opts.IDTokenLifetime}, nil
}

func (s *storage) ClientCredentialsTokenRequest(ctx context.Context, id string, scopes []string) (op.TokenRequest, error) {
	c, ok := s.client(id)
	if !ok {
		return nil, oidc.ErrInvalidClient().WithDescription("unknown client")
	}
	aud, err := resolveAudience(c.ID, scopes, resourcesFrom(ctx), s.opts.APIs)
	if err != nil {
		return nil, err
	}
	return &appTokenRequest{clientID: c.ID, subject: c.ObjectID, aud: aud, scopes: slices.Clone(scopes)}, nil
}

func (s *storage) GetKeyByIDAndClientID(_ context.Context, kid, clientID string) (*jose.JSONWebKey, error) {
	c, ok := s.client(clientID)
	if !ok {
		return nil, errNotFound
	}
	k, ok := c.PublicKeys[kid]
	if !ok {
		return nil, errNotFound
	}
	return &jose.JSONWebKey{KeyID: kid, Use: "sig", Key: k}, nil
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, oidc.ErrUnsupportedGrantType().WithDescription("the JWT bearer grant is not offered")
}

func (s *storage) Health(context.Context) error { return nil }

// --- claims ---

func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil // deprecated by zitadel in favour of SetUserinfoFromRequest
}

func (s *storage) SetUserinfoFromRequest(_ context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	u := s.userBySubject(req.GetSubject())
	if u == nil {
		return oidc.ErrInvalidGrant().WithDescription("unknown user")
	}
	s.fillUserinfo(info, u, scopes)
	info.AppendClaims("acr", u.ACR)
	if amr := req.GetAMR(); len(amr) > 0 {
		info.AppendClaims("amr", amr)
	}
	return nil
}

// fillUserinfo writes the ID token / userinfo view of a user.
func (s *storage) fillUserinfo(info *oidc.UserInfo, u *User, scopes []string) {
	info.Subject = u.Subject
	if slices.Contains(scopes, oidc.ScopeProfile) {
		info.Name = u.Name
		info.PreferredUsername = preferredUsername(u)
	}
	if slices.Contains(scopes, oidc.ScopeEmail) && u.Email != "" {
		info.Email = u.Email
		info.EmailVerified = true
	}
	info.AppendClaims("tid", s.opts.TenantID)
	info.AppendClaims("oid", u.ObjectID)
	info.AppendClaims("ver", "2.0")
	if len(u.Groups) > 0 {
		info.AppendClaims("groups", u.Groups)
	}
	if len(u.Roles) > 0 {
		info.AppendClaims("roles", u.Roles)
	}
}

func preferredUsername(u *User) string {
	if u.Email != "" {
		return u.Email
	}
	return u.Username
}

func (s *storage) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, _, subject, _ string) error {
	u, err := s.activeUser(subject)
	if err != nil {
		return err
	}
	s.fillUserinfo(info, u, []string{oidc.ScopeProfile, oidc.ScopeEmail})
	return nil
}

func (s *storage) SetIntrospectionFromToken(_ context.Context, resp *oidc.IntrospectionResponse, _, subject, clientID string) error {
	resp.Subject = subject
	resp.ClientID = clientID
	if u := s.userBySubject(subject); u != nil {
		if u.Disabled {
			return errors.New("user is disabled")
		}
		resp.Username = preferredUsername(u)
	}
	return nil
}

func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil // superseded by GetPrivateClaimsFromRequest
}

// GetPrivateClaimsFromRequest adds the Entra claims to a JWT access token.
func (s *storage) GetPrivateClaimsFromRequest(_ context.Context, req op.TokenRequest, _ []string) (map[string]any, error) {
	switch r := req.(type) {
	case *appTokenRequest:
		c, ok := s.client(r.clientID)
		if !ok {
			return nil, oidc.ErrInvalidClient().WithDescription("unknown client")
		}
		return s.appClaims(c), nil
	case *authRequest:
		return s.userClaims(r.subject, r.clientID, r.aud, r.scopes, r.amr, r.acr)
	case *refreshTokenRequest:
		return s.userClaims(r.rec.subject, r.rec.clientID, r.rec.aud, r.rec.scopes, r.rec.amr, r.rec.acr)
	default:
		return nil, oidc.ErrUnsupportedGrantType()
	}
}

// appClaims are the claims of an app-only token: roles assigned to the
// client, its service principal as oid, idtyp "app" and no scp.
func (s *storage) appClaims(c *Client) map[string]any {
	m := map[string]any{
		"tid": s.opts.TenantID, "oid": c.ObjectID, "azp": c.ID, "ver": "2.0", "idtyp": "app",
	}
	if len(c.Roles) > 0 {
		m["roles"] = slices.Clone(c.Roles)
	}
	return m
}

// userClaims are the claims of a delegated token, read from the user's
// current state so a mover's next token shows the new groups.
func (s *storage) userClaims(sub, clientID, aud string, scopes, amr []string, acr string) (map[string]any, error) {
	u, err := s.activeUser(sub)
	if err != nil {
		return nil, err
	}
	if len(amr) == 0 {
		amr = u.AMR
	}
	if acr == "" {
		acr = u.ACR
	}
	m := map[string]any{
		"tid": s.opts.TenantID, "oid": u.ObjectID, "azp": clientID, "ver": "2.0", "idtyp": "user",
		"name": u.Name, "preferred_username": preferredUsername(u),
		"scp": delegatedScp(scopes, aud, clientID, s.opts.APIs), "amr": amr, "acr": acr,
	}
	if len(u.Groups) > 0 {
		m["groups"] = u.Groups
	}
	if len(u.Roles) > 0 {
		m["roles"] = u.Roles
	}
	return m, nil
}

// --- token exchange (RFC 8693) ---

// ValidateTokenExchangeRequest allows on-behalf-of: a confidential client
// exchanges a delegated token that was issued for it (its Resource or its
// id) for a token to another resource, for the same, still active user.
func (s *storage) ValidateTokenExchangeRequest(_ context.Context, req op.TokenExchangeRequest) error {
	c, ok := s.client(req.GetClientID())
	if !ok || c.Public {
		return oidc.ErrUnauthorizedClient().WithDescription("client may not exchange tokens")
	}
	if req.GetRequestedTokenType() == "" {
		req.SetRequestedTokenType(oidc.AccessTokenType)
	}
	switch req.GetRequestedTokenType() {
	case oidc.AccessTokenType, oidc.RefreshTokenType, oidc.IDTokenType:
	default:
		return oidc.ErrInvalidRequest().WithDescription("requested_token_type is not supported")
	}
	if req.GetExchangeSubjectTokenType() != oidc.AccessTokenType {
		return oidc.ErrInvalidRequest().WithDescription("subject_token must be an access token")
	}
	claims := req.GetExchangeSubjectTokenClaims()
	if idtyp, _ := claims["idtyp"].(string); idtyp == "app" {
		return oidc.ErrInvalidGrant().WithDescription("subject_token is an app-only token")
	}
	if !audienceIncludes(claims["aud"], c.ID, c.Resource) {
		return oidc.ErrInvalidGrant().WithDescription("subject_token was not issued for this client")
	}
	if _, err := s.activeUser(req.GetExchangeSubject()); err != nil {
		return err
	}
	if _, err := resolveAudience(c.ID, req.GetScopes(), append(slices.Clone(req.GetResourses()), req.GetAudience()...), s.opts.APIs); err != nil {
		return err
	}
	return nil
}

// audienceIncludes reports whether the aud claim (a string or a list, as
// decoded from JSON) names one of want.
func audienceIncludes(aud any, want ...string) bool {
	var auds []string
	switch a := aud.(type) {
	case string:
		auds = []string{a}
	case []any:
		for _, v := range a {
			if s, ok := v.(string); ok {
				auds = append(auds, s)
			}
		}
	case []string:
		auds = a
	}
	for _, w := range want {
		if w != "" && slices.Contains(auds, w) {
			return true
		}
	}
	return false
}

func (s *storage) CreateTokenExchangeRequest(context.Context, op.TokenExchangeRequest) error {
	return nil
}

func (s *storage) GetPrivateClaimsFromTokenExchangeRequest(_ context.Context, req op.TokenExchangeRequest) (map[string]any, error) {
	aud := req.GetClientID()
	if a := req.GetAudience(); len(a) == 1 {
		aud = a[0]
	}
	m, err := s.userClaims(req.GetSubject(), req.GetClientID(), aud, req.GetScopes(), nil, "")
	if err != nil {
		return nil, err
	}
	if actor := req.GetExchangeActor(); actor != "" {
		m["act"] = map[string]any{"sub": actor}
	}
	return m, nil
}

func (s *storage) SetUserinfoFromTokenExchangeRequest(_ context.Context, info *oidc.UserInfo, req op.TokenExchangeRequest) error {
	u, err := s.activeUser(req.GetSubject())
	if err != nil {
		return err
	}
	s.fillUserinfo(info, u, req.GetScopes())
	return nil
}

// --- device authorization (RFC 8628) ---

func (s *storage) StoreDeviceAuthorization(ctx context.Context, clientID, deviceCode, userCode string, _ time.Time, scopes []string) error {
	c, ok := s.client(clientID)
	if !ok {
		return oidc.ErrInvalidClient().WithDescription("unknown client")
	}
	aud, err := resolveAudience(c.ID, scopes, resourcesFrom(ctx), s.opts.APIs)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.userCodes[userCode]; ok {
		return op.ErrDuplicateUserCode
	}
	s.devices[deviceCode] = &deviceEntry{
		clientID: clientID, userCode: userCode, scopes: slices.Clone(scopes), aud: aud,
		expires: s.now().Add(s.opts.DeviceCodeLifetime),
	}
	s.userCodes[userCode] = deviceCode
	return nil
}

func (s *storage) GetDeviceAuthorizatonState(_ context.Context, clientID, deviceCode string) (*op.DeviceAuthorizationState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.devices[deviceCode]
	if !ok || e.clientID != clientID {
		return nil, errNotFound
	}
	return &op.DeviceAuthorizationState{
		ClientID: e.clientID, Audience: []string{e.aud}, Scopes: slices.Clone(e.scopes), Expires: e.expires,
		Done: e.done, Denied: e.denied, Subject: e.subject, AMR: slices.Clone(e.amr), AuthTime: e.authTime,
	}, nil
}

// approveDevice completes a device authorization for an authenticated user.
func (s *storage) approveDevice(userCode, username, password string) error {
	u, err := s.checkPassword(username, password)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.devices[s.userCodes[userCode]]
	if !ok || e.consumed || !s.now().Before(e.expires) {
		return ErrUnknownRequest
	}
	e.done, e.subject, e.amr, e.acr, e.authTime = true, u.Subject, u.AMR, u.ACR, s.now()
	return nil
}

// redeemDevice answers a device token poll: the OAuth error to send, or the
// completed authorization as an authRequest, which the device code then
// no longer redeems.
func (s *storage) redeemDevice(clientID, deviceCode string) (*authRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.devices[deviceCode]
	switch {
	case !ok || e.clientID != clientID || e.consumed:
		return nil, oidc.ErrInvalidGrant().WithDescription("unknown device code")
	case e.denied:
		return nil, oidc.ErrAccessDenied()
	case !e.done && !s.now().Before(e.expires):
		return nil, oidc.ErrExpiredDeviceCode()
	case !e.done:
		return nil, oidc.ErrAuthorizationPending()
	}
	e.consumed = true
	delete(s.userCodes, e.userCode)
	return &authRequest{
		id: uuid.NewString(), created: s.now(), clientID: e.clientID, scopes: slices.Clone(e.scopes),
		responseType: oidc.ResponseTypeCode, aud: e.aud, done: true, subject: e.subject,
		authTime: e.authTime, amr: slices.Clone(e.amr), acr: e.acr,
	}, nil
}

// rememberAssertion records a client assertion's jti until it expires and
// reports whether it was new, so a replayed assertion is refused.
func (s *storage) rememberAssertion(clientID, jti string, exp time.Time) bool {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, e := range s.assertions {
		if now.After(e) {
			delete(s.assertions, k)
		}
	}
	key := clientID + "|" + jti
	if _, ok := s.assertions[key]; ok {
		return false
	}
	s.assertions[key] = exp
	return true
}
