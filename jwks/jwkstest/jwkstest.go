// Package jwkstest is a fake OpenID provider for tests and examples: an
// httptest server publishing a discovery document and a JWKS in the real
// wire format, minting signed tokens, answering token requests and
// rotating keys.
//
// # Testing an API protected by Entra ID
//
// With Options.Entra the server stands in for login.microsoftonline.com
// and sts.windows.net: it publishes keys as Entra does (no alg, an issuer
// property with {tenantid}, x5t and x5c) on Entra's paths, and mints
// tokens in Entra's shapes ([EntraToken]): v2.0 access tokens (aud the
// API's client ID, azp, scp), v1.0 ones (iss URL/{tid}/, aud the App ID
// URI, appid, upn), app-only tokens (roles, idtyp app) and ID tokens
// (nonce, aud the signing-in client). [Server.EntraAPI] configures a
// validator as [jwks.EntraAPI] does for production, pointed at the server;
// [Server.Policy] points a policy file written for Entra at it:
//
//	entra := jwkstest.Start(t, func(o *jwkstest.Options) { o.Entra = true })
//	v, _ := jwks.NewValidator(entra.EntraAPI(jwkstest.TenantID, jwkstest.APIClientID))
//	policy, _ := rbac.NewPolicy(entra.Policy(t, "policy.yaml"))
//	tok := entra.EntraAccessToken(jwkstest.EntraToken{Groups: []string{groupID}, Scopes: []string{"Loans.Read"}})
//
// # Client flows
//
// The token endpoint ([Server.TokenURL], listed in discovery) serves
// client_credentials for clients registered with [Server.AddClient]
// (client_secret_basic or client_secret_post; app-only Entra tokens, or
// RFC 9068 at+jwt tokens without Entra) and refresh_token for refresh
// tokens from [Server.RefreshToken] (rotated on use), with RFC 6749 answers
// and errors. There is no authorization endpoint: sign-in flows need a
// real provider (the integration module's idp package).
//
// # Any OpenID provider
//
//	idp := jwkstest.Start(t)                 // stopped by t.Cleanup
//	tok := idp.Mint(map[string]any{"aud": "https://api.example", "sub": "u1", "scope": "orders.read"})
//	v, _ := jwks.NewValidator(func(o *jwks.Options) {
//		o.Issuers = []jwks.Issuer{{Issuer: idp.Issuer(), JWKSURL: idp.JWKSURL()}}
//		o.Audiences = []string{"https://api.example"}
//		o.Algorithms = []string{"RS256"}
//	})
//
// Like net/http/httptest, helpers panic on errors for ease of use in tests.
// Private keys never leave the server; they are generated per server.
package jwkstest

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/idbridge/idbridge/internal/option"
)

// Options configure a [Server].
type Options struct {
	// Algorithm of the signing key: RS256 (default), RS384, RS512, PS256,
	// PS384, PS512, ES256, ES384, ES512 or EdDSA.
	Algorithm string
	// Issuer overrides the issuer; the default is the server URL (or, with
	// Entra, the template URL/{tenantid}/v2.0 in discovery).
	Issuer string
	// Entra publishes keys and paths in Microsoft Entra ID's shape.
	Entra bool
	// OmitAlg leaves alg out of the published JWKs (Entra does).
	OmitAlg bool
	// CacheControl is sent with the JWKS; default "max-age=3600".
	CacheControl string
	// TokenLifetime is the default exp of minted tokens; default 1 hour.
	TokenLifetime time.Duration
	// Now is the clock for iat and exp; nil means time.Now.
	Now func() time.Time
	// APIs maps App ID URIs to application (client) IDs for the token
	// endpoint, which puts the client ID in aud as Entra v2.0 does; a
	// resource api://{GUID} needs no entry.
	APIs map[string]string
}

// Server is a fake OpenID provider. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL of the server, http://127.0.0.1:port.
	URL string

	o   Options
	srv *httptest.Server

	mu       sync.Mutex // guards the fields below
	keys     []*signingKey
	current  *signingKey
	requests map[string]int
	status   int
	hook     func(kind string)
	clients  map[string]Client     // token endpoint clients, by ID
	refresh  map[string]EntraToken // live refresh tokens
}

// NewServer starts a fake IdP on 127.0.0.1 with one signing key. Call Close
// when done.
func NewServer(optFns ...func(*Options)) *Server {
	o := option.New(optFns)
	if o.Algorithm == "" {
		o.Algorithm = "RS256"
	}
	if o.CacheControl == "" {
		o.CacheControl = "max-age=3600"
	}
	if o.TokenLifetime <= 0 {
		o.TokenLifetime = time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Entra {
		o.OmitAlg = true
	}
	s := &Server{o: o, requests: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	k := s.newKey(o.Algorithm)
	s.keys = []*signingKey{k}
	s.current = k
	return s
}

// Start is NewServer for a test: the server is closed by t.Cleanup.
func Start(tb testing.TB, optFns ...func(*Options)) *Server {
	tb.Helper()
	s := NewServer(optFns...)
	tb.Cleanup(s.Close)
	return s
}

// Close shuts the server down, waiting for requests in flight.
func (s *Server) Close() { s.srv.Close() }

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Issuer returns the issuer that minted tokens carry by default.
func (s *Server) Issuer() string {
	if s.o.Issuer != "" {
		return s.o.Issuer
	}
	return s.URL
}

// JWKSURL returns the URL of the key set.
func (s *Server) JWKSURL() string { return s.URL + "/keys" }

// Requests returns how many requests the server received of a kind:
// "jwks", "discovery" or "token".
func (s *Server) Requests(kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[kind]
}

// SetStatus makes every request fail with the HTTP status code (an IdP
// outage); 0 restores normal service.
func (s *Server) SetStatus(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = code
}

// OnRequest installs a function called at the start of every request with
// its kind, for example to block and simulate a slow IdP. nil removes it.
func (s *Server) OnRequest(fn func(kind string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = fn
}
