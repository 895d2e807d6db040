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
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
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

type signingKey struct {
	kid    string
	alg    string
	signer crypto.Signer
	method jwt.SigningMethod
	cert   []byte // self-signed certificate for x5c (RSA only)
}

// NewServer starts a fake IdP on 127.0.0.1 with one signing key. Call Close
// when done.
func NewServer(optFns ...func(*Options)) *Server {
	var o Options
	for _, fn := range optFns {
		fn(&o)
	}
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

// KeyID returns the kid of the current signing key.
func (s *Server) KeyID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current.kid
}

// Algorithm returns the alg of the current signing key.
func (s *Server) Algorithm() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current.alg
}

// Rotate creates a new signing key of the server's algorithm and signs
// with it from now on. A soft rotation keeps publishing the old keys (tokens
// they signed stay valid); a hard one publishes only the new key. It
// returns the new kid.
func (s *Server) Rotate(hard bool) string {
	return s.AddKey(s.o.Algorithm, hard)
}

// AddKey is Rotate with a chosen algorithm, for servers that sign with
// several key types.
func (s *Server) AddKey(alg string, hard bool) string {
	k := s.newKey(alg)
	s.mu.Lock()
	defer s.mu.Unlock()
	if hard {
		s.keys = nil
	}
	s.keys = append(s.keys, k)
	s.current = k
	return k.kid
}

// UseKey makes the published key kid the signing key, for servers with
// several keys (see AddKey). It panics if kid is not published.
func (s *Server) UseKey(kid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.keys {
		if k.kid == kid {
			s.current = k
			return
		}
	}
	panic("jwkstest: no published key " + kid)
}

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

// Mint signs claims with the current key. Unless given, iss is Issuer(),
// iat is now and exp is now plus TokenLifetime. A claim set to nil is left
// out (use it to drop a default such as exp). It mints an access token: when
// claims name none of scp, scope, roles and idtyp, nor an ID token's nonce,
// at_hash or c_hash, scp is "access_as_user" (a validator refuses a token
// with no permission claim as an ID token).
func (s *Server) Mint(claims map[string]any) string {
	return s.MintWithHeader(nil, claims)
}

// MintWithHeader is Mint with extra header parameters merged over the
// defaults alg, kid and typ "JWT"; a parameter set to nil is left out.
func (s *Server) MintWithHeader(header, claims map[string]any) string {
	s.mu.Lock()
	k := s.current
	s.mu.Unlock()
	now := s.o.Now()
	c := map[string]any{
		"iss": s.Issuer(),
		"iat": now.Unix(),
		"exp": now.Add(s.o.TokenLifetime).Unix(),
	}
	if !hasAny(claims, "scp", "scope", "roles", "idtyp", "nonce", "at_hash", "c_hash") {
		c["scp"] = "access_as_user"
	}
	merge(c, claims)
	h := map[string]any{"alg": k.alg, "kid": k.kid, "typ": "JWT"}
	merge(h, header)
	return s.signWith(k, mustJSON(h), mustJSON(c))
}

// hasAny reports whether m has one of the keys, even with a nil value.
func hasAny(m map[string]any, keys ...string) bool {
	for _, k := range keys {
		if _, ok := m[k]; ok {
			return true
		}
	}
	return false
}

// SignRaw signs the exact header and payload bytes with the current key
// and returns the compact JWS; for tests of malformed or tricky tokens.
func (s *Server) SignRaw(header, payload []byte) string {
	s.mu.Lock()
	k := s.current
	s.mu.Unlock()
	return s.signWith(k, header, payload)
}

// Sign signs the signing input (base64url header "." base64url payload)
// with the current key and returns the base64url signature.
func (s *Server) Sign(signingInput string) string {
	s.mu.Lock()
	k := s.current
	s.mu.Unlock()
	sig, err := k.method.Sign(signingInput, k.signer)
	if err != nil {
		panic("jwkstest: sign: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(sig)
}

// PublicKey returns the current public key, for building static key sets.
func (s *Server) PublicKey() crypto.PublicKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current.signer.Public()
}

// JWKS returns the JWK Set document the server publishes.
func (s *Server) JWKS() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.jwksLocked()
}

func (s *Server) signWith(k *signingKey, header, payload []byte) string {
	in := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload)
	sig, err := k.method.Sign(in, k.signer)
	if err != nil {
		panic("jwkstest: sign: " + err.Error())
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func merge(dst, src map[string]any) {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
		} else {
			dst[k] = v
		}
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("jwkstest: " + err.Error())
	}
	return b
}

func (s *Server) newKey(alg string) *signingKey {
	k := &signingKey{alg: alg, method: jwt.GetSigningMethod(alg)}
	if k.method == nil {
		panic("jwkstest: unsupported algorithm " + alg)
	}
	var err error
	switch {
	case strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS"):
		k.signer, err = rsa.GenerateKey(rand.Reader, 2048)
	case alg == "ES256":
		k.signer, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case alg == "ES384":
		k.signer, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case alg == "ES512":
		k.signer, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case alg == "EdDSA":
		_, k.signer, err = ed25519.GenerateKey(rand.Reader)
	default:
		panic("jwkstest: unsupported algorithm " + alg)
	}
	if err != nil {
		panic("jwkstest: key generation: " + err.Error())
	}
	id := make([]byte, 15)
	_, _ = rand.Read(id)
	k.kid = base64.RawURLEncoding.EncodeToString(id)
	if _, ok := k.signer.(*rsa.PrivateKey); ok && s.o.Entra {
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1),
			Subject:      pkix.Name{CommonName: "accounts.accesscontrol.windows.net"},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(5 * 365 * 24 * time.Hour),
		}
		if k.cert, err = x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.signer.Public(), k.signer); err != nil {
			panic("jwkstest: certificate: " + err.Error())
		}
		sum := sha1.Sum(k.cert)
		k.kid = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	return k
}

func (s *Server) jwksLocked() []byte {
	type jwk struct {
		Kty    string   `json:"kty"`
		Use    string   `json:"use"`
		Kid    string   `json:"kid"`
		X5t    string   `json:"x5t,omitempty"`
		Alg    string   `json:"alg,omitempty"`
		N      string   `json:"n,omitempty"`
		E      string   `json:"e,omitempty"`
		Crv    string   `json:"crv,omitempty"`
		X      string   `json:"x,omitempty"`
		Y      string   `json:"y,omitempty"`
		X5c    []string `json:"x5c,omitempty"`
		Issuer string   `json:"issuer,omitempty"`
	}
	b64 := base64.RawURLEncoding.EncodeToString
	out := struct {
		Keys []jwk `json:"keys"`
	}{Keys: []jwk{}}
	for _, k := range s.keys {
		j := jwk{Use: "sig", Kid: k.kid}
		if !s.o.OmitAlg {
			j.Alg = k.alg
		}
		switch pub := k.signer.Public().(type) {
		case *rsa.PublicKey:
			j.Kty, j.N, j.E = "RSA", b64(pub.N.Bytes()), b64(big.NewInt(int64(pub.E)).Bytes())
		case *ecdsa.PublicKey:
			size := (pub.Curve.Params().BitSize + 7) / 8
			point, err := pub.Bytes() // 0x04 || X || Y
			if err != nil {
				panic("jwkstest: EC key: " + err.Error())
			}
			j.Kty, j.Crv = "EC", pub.Curve.Params().Name
			j.X, j.Y = b64(point[1:1+size]), b64(point[1+size:])
		case ed25519.PublicKey:
			j.Kty, j.Crv, j.X = "OKP", "Ed25519", b64(pub)
		}
		if k.cert != nil {
			sum := sha1.Sum(k.cert)
			j.X5t = b64(sum[:])
			j.X5c = []string{base64.StdEncoding.EncodeToString(k.cert)}
		}
		if s.o.Entra {
			j.Issuer = s.URL + "/{tenantid}/v2.0"
		}
		out.Keys = append(out.Keys, j)
	}
	return mustJSON(out)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	kind := ""
	switch {
	case strings.HasSuffix(p, "/.well-known/openid-configuration"):
		kind = "discovery"
	case p == "/keys" || strings.HasSuffix(p, "/discovery/v2.0/keys") || strings.HasSuffix(p, "/discovery/keys"):
		kind = "jwks"
	case p == "/token" || strings.HasSuffix(p, "/oauth2/v2.0/token"):
		kind = "token"
	default:
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	s.requests[kind]++
	status, hook := s.status, s.hook
	s.mu.Unlock()
	if hook != nil {
		hook(kind)
	}
	if status != 0 {
		http.Error(w, http.StatusText(status), status)
		return
	}
	if kind == "token" {
		s.tokenEndpoint(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if kind == "jwks" {
		s.mu.Lock()
		body := s.jwksLocked()
		s.mu.Unlock()
		w.Header().Set("Cache-Control", s.o.CacheControl)
		_, _ = w.Write(body)
		return
	}
	_, _ = w.Write(mustJSON(s.discovery(p)))
}

func (s *Server) discovery(p string) map[string]any {
	base := strings.TrimSuffix(p, "/.well-known/openid-configuration")
	iss, jwksURI, tokenURL := s.Issuer(), s.JWKSURL(), s.URL+"/token"
	if s.o.Entra && base != "" {
		// /{tenant}/v2.0/.well-known/openid-configuration, as Entra serves it.
		tenant := strings.TrimSuffix(strings.TrimPrefix(base, "/"), "/v2.0")
		iss = s.URL + "/" + tenant + "/v2.0"
		if tenant == "organizations" || tenant == "common" {
			iss = s.URL + "/{tenantid}/v2.0"
		}
		jwksURI = s.URL + "/" + tenant + "/discovery/v2.0/keys"
		tokenURL = s.URL + "/" + tenant + "/oauth2/v2.0/token"
	}
	s.mu.Lock()
	algs := []string{}
	for _, k := range s.keys {
		algs = append(algs, k.alg)
	}
	s.mu.Unlock()
	// Only what the server serves: no authorization endpoint (sign-in
	// flows need a real provider, such as integration/idp), so no
	// response types either.
	return map[string]any{
		"issuer":                                iss,
		"jwks_uri":                              jwksURI,
		"token_endpoint":                        tokenURL,
		"grant_types_supported":                 []string{"client_credentials", "refresh_token"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": algs,
	}
}
