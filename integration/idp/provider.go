package idp

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/oauth2"
	"golang.org/x/text/language"
)

// Endpoint names for [Provider.Requests] and [Provider.FailNext].
const (
	EndpointDiscovery  = "discovery"   // /.well-known/openid-configuration
	EndpointJWKS       = "jwks"        // the jwks_uri
	EndpointToken      = "token"       // the token endpoint
	EndpointAuthorize  = "authorize"   // the authorization endpoint
	EndpointCallback   = "callback"    // where the login page returns to zitadel
	EndpointLogin      = "login"       // the headless login page
	EndpointDevice     = "device"      // the device authorization endpoint
	EndpointDeviceUser = "device_user" // the page where a user approves a device
	EndpointUserinfo   = "userinfo"
	EndpointIntrospect = "introspect"
	EndpointRevoke     = "revoke"
	EndpointEndSession = "end_session"
)

// deviceUserPath is where a user enters a device's user code.
const deviceUserPath = "/device"

// restartTimeout bounds how long Restart retries binding the old address.
const restartTimeout = 5 * time.Second

type fault struct {
	remaining  int
	status     int
	retryAfter time.Duration
}

// Provider is a running OpenID provider. It is safe for concurrent use by
// multiple goroutines. Close it (StartTest does so through t.Cleanup).
type Provider struct {
	opts      Options
	store     *storage
	keys      *keyring
	op        *op.Provider
	handler   http.Handler
	issuer    string
	addr      string
	tlsConfig *tls.Config // nil in plain-HTTP mode
	certPEM   []byte
	pool      *x509.CertPool
	transport *http.Transport
	paths     map[string]string        // request path -> endpoint name; read-only
	counters  map[string]*atomic.Int64 // endpoint name -> requests; map read-only

	faultMu sync.Mutex
	faults  map[string]*fault // guarded by faultMu

	mu     sync.Mutex
	srv    *http.Server // guarded by mu; nil while stopped
	closed bool         // guarded by mu
	wg     sync.WaitGroup
}

// Start starts a provider. It begins from [DefaultOptions] and applies
// optFns in order. The caller must Close the provider.
func Start(optFns ...func(*Options)) (*Provider, error) {
	o := DefaultOptions()
	for _, fn := range optFns {
		fn(&o)
	}
	opts, err := o.normalize()
	if err != nil {
		return nil, err
	}
	keys, err := newKeyring(opts.Algorithm)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("idp: listen: %w", err)
	}
	p, err := newProvider(opts, keys, ln.Addr().String())
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	p.mu.Lock()
	p.serveLocked(ln)
	p.mu.Unlock()
	return p, nil
}

// StartTest starts a provider for t and closes it in t.Cleanup. It fails the
// test if the provider cannot start.
func StartTest(t testing.TB, optFns ...func(*Options)) *Provider {
	t.Helper()
	p, err := Start(optFns...)
	if err != nil {
		t.Fatalf("idp: start: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func newProvider(opts Options, keys *keyring, addr string) (*Provider, error) {
	p := &Provider{opts: opts, keys: keys, addr: addr, faults: map[string]*fault{}}
	base := &http.Transport{Proxy: nil, ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 16,
		IdleConnTimeout: 30 * time.Second, TLSHandshakeTimeout: 5 * time.Second}
	if opts.PlainHTTP {
		p.issuer = "http://" + addr
	} else {
		p.issuer = "https://" + addr
		cert, pemBytes, leaf, err := selfSigned()
		if err != nil {
			return nil, err
		}
		p.tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		p.certPEM = pemBytes
		p.pool = x509.NewCertPool()
		p.pool.AddCert(leaf)
		base.TLSClientConfig = &tls.Config{RootCAs: p.pool, MinVersion: tls.VersionTLS12}
	}
	p.transport = base
	p.store = newStorage(opts, keys)

	config := &op.Config{
		CodeMethodS256:          true,
		AuthMethodPost:          true,
		AuthMethodPrivateKeyJWT: true,
		GrantTypeRefreshToken:   true,
		SupportedUILocales:      []language.Tag{language.English},
		SupportedClaims: append(slices.Clone(op.DefaultSupportedClaims),
			"tid", "oid", "groups", "roles", "scp", "ver", "idtyp"),
		DeviceAuthorization: op.DeviceAuthorizationConfig{
			Lifetime:     opts.DeviceCodeLifetime,
			PollInterval: opts.DevicePollInterval,
			UserFormPath: deviceUserPath,
			UserCode:     op.UserCodeBase20,
		},
	}
	// The key encrypts opaque tokens, which this provider never issues; it
	// is random so nothing depends on it.
	_, _ = rand.Read(config.CryptoKey[:])
	var opOpts []op.Option
	if opts.PlainHTTP {
		opOpts = append(opOpts, op.WithAllowInsecure())
	}
	provider, err := op.NewProvider(config, p.store, op.StaticIssuer(p.issuer), opOpts...)
	if err != nil {
		return nil, fmt.Errorf("idp: zitadel provider: %w", err)
	}
	p.op = provider
	srv := &server{LegacyServer: op.NewLegacyServer(provider, provider.Endpoints()), provider: provider, store: p.store, issuer: p.issuer}
	oidcHandler := op.RegisterLegacyServer(srv, op.AuthorizeCallbackHandler(provider))

	mux := http.NewServeMux()
	mux.HandleFunc(loginPath, p.handleLogin)
	mux.HandleFunc(deviceUserPath, p.handleDeviceUser)
	mux.Handle("/", oidcHandler)

	e := provider.Endpoints()
	p.paths = map[string]string{
		"/.well-known/openid-configuration":      EndpointDiscovery,
		e.JwksURI.Relative():                     EndpointJWKS,
		e.Token.Relative():                       EndpointToken,
		e.Authorization.Relative():               EndpointAuthorize,
		e.Authorization.Relative() + "/callback": EndpointCallback,
		loginPath:                                EndpointLogin,
		e.DeviceAuthorization.Relative():         EndpointDevice,
		deviceUserPath:                           EndpointDeviceUser,
		e.Userinfo.Relative():                    EndpointUserinfo,
		e.Introspection.Relative():               EndpointIntrospect,
		e.Revocation.Relative():                  EndpointRevoke,
		e.EndSession.Relative():                  EndpointEndSession,
	}
	p.counters = map[string]*atomic.Int64{}
	for _, name := range p.paths {
		p.counters[name] = new(atomic.Int64)
	}
	p.handler = p.instrument(mux)
	return p, nil
}

// instrument counts requests per endpoint and answers injected faults.
func (p *Provider) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := p.paths[r.URL.Path]
		if c := p.counters[name]; c != nil {
			c.Add(1)
		}
		if f, ok := p.takeFault(name); ok {
			if f.retryAfter > 0 {
				secs := int64((f.retryAfter + time.Second - 1) / time.Second)
				w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(f.status)
			_, _ = io.WriteString(w, `{"error":"temporarily_unavailable","error_description":"fault injected by the test"}`)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (p *Provider) takeFault(name string) (fault, bool) {
	p.faultMu.Lock()
	defer p.faultMu.Unlock()
	f, ok := p.faults[name]
	if !ok {
		return fault{}, false
	}
	f.remaining--
	if f.remaining <= 0 {
		delete(p.faults, name)
	}
	return *f, true
}

func (p *Provider) serveLocked(ln net.Listener) {
	srv := &http.Server{
		Handler:           p.handler,
		ReadHeaderTimeout: 10 * time.Second,
		// Handshake failures from clients that do not trust the test
		// certificate are expected in negative tests; keep them off stderr.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	if p.tlsConfig != nil {
		ln = tls.NewListener(ln, p.tlsConfig.Clone())
	}
	p.srv = srv
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		_ = srv.Serve(ln) // returns when Stop or Close closes srv
	}()
}

// Issuer is the issuer URL, "https://127.0.0.1:<port>" (http:// in
// plain-HTTP mode), without a trailing slash.
func (p *Provider) Issuer() string { return p.issuer }

// Addr is the bound listen address, "127.0.0.1:<port>".
func (p *Provider) Addr() string { return p.addr }

// DiscoveryURL is the OpenID discovery document's URL.
func (p *Provider) DiscoveryURL() string { return p.issuer + "/.well-known/openid-configuration" }

// TokenURL is the token endpoint.
func (p *Provider) TokenURL() string { return p.op.Endpoints().Token.Absolute(p.issuer) }

// AuthURL is the authorization endpoint.
func (p *Provider) AuthURL() string { return p.op.Endpoints().Authorization.Absolute(p.issuer) }

// DeviceAuthURL is the device authorization endpoint.
func (p *Provider) DeviceAuthURL() string {
	return p.op.Endpoints().DeviceAuthorization.Absolute(p.issuer)
}

// JWKSURL is the jwks_uri.
func (p *Provider) JWKSURL() string { return p.op.Endpoints().JwksURI.Absolute(p.issuer) }

// Endpoint describes the provider to golang.org/x/oauth2.
func (p *Provider) Endpoint() oauth2.Endpoint {
	return oauth2.Endpoint{AuthURL: p.AuthURL(), DeviceAuthURL: p.DeviceAuthURL(), TokenURL: p.TokenURL()}
}

// TenantID is the tid of every token.
func (p *Provider) TenantID() string { return p.opts.TenantID }

// HTTPClient returns a client that trusts the provider's certificate. Its
// transport is shared by every client HTTPClient returns.
func (p *Provider) HTTPClient() *http.Client {
	return &http.Client{Transport: p.transport, Timeout: 30 * time.Second}
}

// CertPool returns a pool holding the provider's self-signed certificate,
// or nil in plain-HTTP mode.
func (p *Provider) CertPool() *x509.CertPool {
	if p.pool == nil {
		return nil
	}
	return p.pool.Clone()
}

// CertificatePEM returns the provider's certificate in PEM, or nil in
// plain-HTTP mode, for code configured with a CA file.
func (p *Provider) CertificatePEM() []byte { return slices.Clone(p.certPEM) }

// RotateKey makes a new key the signing key and returns its kid. A soft
// rotation (hard false) keeps the old keys in the JWKS, as IdPs do before a
// planned rollover; a hard rotation removes them, so tokens they signed no
// longer verify.
func (p *Provider) RotateKey(hard bool) (string, error) { return p.keys.rotate(hard) }

// SigningKeyID returns the kid tokens are signed with now.
func (p *Provider) SigningKeyID() string { return p.keys.current().id }

// Requests returns how many requests reached endpoint (Endpoint*
// constants), counting injected faults; unknown names count 0.
func (p *Provider) Requests(endpoint string) int64 {
	if c := p.counters[endpoint]; c != nil {
		return c.Load()
	}
	return 0
}

// ResetRequests sets every request counter to zero.
func (p *Provider) ResetRequests() {
	for _, c := range p.counters {
		c.Store(0)
	}
}

// FailNext makes the next n requests to endpoint answer status with an
// OAuth error body, and with Retry-After (rounded up to whole seconds) when
// retryAfter is positive. It replaces an earlier fault for the endpoint; n <=
// 0 clears it. A status outside 400-599 is treated as 500.
func (p *Provider) FailNext(endpoint string, n int, status int, retryAfter time.Duration) {
	if status < 400 || status > 599 {
		status = http.StatusInternalServerError
	}
	p.faultMu.Lock()
	defer p.faultMu.Unlock()
	if n <= 0 {
		delete(p.faults, endpoint)
		return
	}
	p.faults[endpoint] = &fault{remaining: n, status: status, retryAfter: retryAfter}
}

// SetGroups replaces a user's groups (a mover). Tokens issued afterwards,
// including refreshed ones, carry the new groups.
func (p *Provider) SetGroups(username string, groups []string) error {
	if err := p.store.setGroups(username, groups); err != nil {
		return fmt.Errorf("%w: %q", err, username)
	}
	return nil
}

// DisableUser disables a user (a leaver): login, device approval, refresh
// and token exchange fail from now on. Tokens already issued stay valid
// until they expire, as with a real IdP.
func (p *Provider) DisableUser(username string) error {
	if err := p.store.setDisabled(username, true); err != nil {
		return fmt.Errorf("%w: %q", err, username)
	}
	return nil
}

// EnableUser re-enables a disabled user.
func (p *Provider) EnableUser(username string) error {
	if err := p.store.setDisabled(username, false); err != nil {
		return fmt.Errorf("%w: %q", err, username)
	}
	return nil
}

// Stop closes the listener and every open connection, so clients see the
// provider as down (connection refused), until Restart. State (keys, users,
// refresh tokens) survives. Stopping a stopped provider does nothing.
func (p *Provider) Stop() error {
	p.mu.Lock()
	srv := p.srv
	p.srv = nil
	p.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Close()
	p.wg.Wait()
	p.transport.CloseIdleConnections()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("idp: stop: %w", err)
	}
	return nil
}

// Restart listens again on the same address after Stop. Restarting a
// running provider does nothing; after Close it returns ErrClosed.
func (p *Provider) Restart() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	if p.srv != nil {
		return nil
	}
	deadline := time.Now().Add(restartTimeout)
	for {
		ln, err := net.Listen("tcp", p.addr)
		if err == nil {
			p.serveLocked(ln)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("idp: restart on %s: %w", p.addr, err)
		}
		// The port is still held by the closing listener; retry briefly.
		time.Sleep(10 * time.Millisecond)
	}
}

// Close stops the provider for good and waits for its goroutines. It is
// idempotent.
func (p *Provider) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	return p.Stop()
}
