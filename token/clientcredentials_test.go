package token

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // checking the x5t thumbprint
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/idbridge/idbridge"
)

var (
	testKeyOnce sync.Once
	testKey     *rsa.PrivateKey
	testCert    *x509.Certificate
)

func testKeyAndCert(t testing.TB) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	testKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cbs-batch"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
		if err != nil {
			panic(err)
		}
		c, _ := x509.ParseCertificate(der)
		testKey, testCert = k, c
	})
	return testKey, testCert
}

func TestClientCredentialsClientAuth(t *testing.T) {
	key, cert := testKeyAndCert(t)
	jwtAuth, err := PrivateKeyJWT(key, func(o *JWTOptions) { o.Certificate = cert; o.Algorithm = PS256; o.KeyID = "k1" })
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		auth  ClientAuth
		check func(t *testing.T, form url.Values, h http.Header, tokenURL string)
	}{
		{name: "secret basic", auth: ClientSecretBasic("p@ss word+/"), check: func(t *testing.T, form url.Values, h http.Header, _ string) {
			// RFC 6749 2.3.1: form-encode, then Basic.
			want := "Basic " + base64.StdEncoding.EncodeToString([]byte("svc%3A1:p%40ss+word%2B%2F"))
			if h.Get("Authorization") != want || form.Has("client_secret") {
				t.Errorf("Authorization %q, form %v", h.Get("Authorization"), form)
			}
		}},
		{name: "secret post", auth: ClientSecretPost("s3cret"), check: func(t *testing.T, form url.Values, h http.Header, _ string) {
			if form.Get("client_id") != "svc:1" || form.Get("client_secret") != "s3cret" || h.Get("Authorization") != "" {
				t.Errorf("form %v", form)
			}
		}},
		{name: "assertion callback", auth: ClientAssertion(func(ctx context.Context) (string, error) { return "federated.jwt.value", nil }),
			check: func(t *testing.T, form url.Values, _ http.Header, _ string) {
				if form.Get("client_assertion") != "federated.jwt.value" || form.Get("client_assertion_type") != assertionType {
					t.Errorf("form %v", form)
				}
			}},
		{name: "private_key_jwt", auth: jwtAuth, check: func(t *testing.T, form url.Values, _ http.Header, tokenURL string) {
			checkAssertion(t, form.Get("client_assertion"), key, cert, PS256, tokenURL)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idp := newFakeIdP(t, func(int, url.Values, http.Header) (int, map[string]string, string) {
				return 200, nil, okToken("at", 3600)
			})
			cc, err := NewClientCredentials(Client{ID: "svc:1", TokenURL: idp.URL(), Auth: tt.auth}, []string{"api://lending/.default"})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := cc.Token(context.Background())
			if err != nil || tok.AccessToken != "at" {
				t.Fatalf("Token = %v, %v", tok, err)
			}
			form := idp.form(0)
			if form.Get("grant_type") != "client_credentials" || form.Get("scope") != "api://lending/.default" {
				t.Errorf("form %v", form)
			}
			tt.check(t, form, idp.header(0), idp.URL())
		})
	}
}

func checkAssertion(t *testing.T, assertion string, key *rsa.PrivateKey, cert *x509.Certificate, alg, aud string) jwt.MapClaims {
	t.Helper()
	claims := jwt.MapClaims{}
	tok, err := jwt.ParseWithClaims(assertion, claims, func(*jwt.Token) (any, error) { return &key.PublicKey, nil },
		jwt.WithValidMethods([]string{alg}), jwt.WithAudience(aud), jwt.WithIssuer("svc:1"), jwt.WithSubject("svc:1"),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt())
	if err != nil {
		t.Fatalf("assertion does not verify: %v", err)
	}
	s256 := sha256.Sum256(cert.Raw)
	if tok.Header["x5t#S256"] != base64.RawURLEncoding.EncodeToString(s256[:]) {
		t.Errorf("x5t#S256 header %v", tok.Header["x5t#S256"])
	}
	exp, _ := claims.GetExpirationTime()
	iat, _ := claims.GetIssuedAt()
	if life := exp.Sub(iat.Time); life <= 0 || life > 10*time.Minute {
		t.Errorf("assertion lifetime %v", life)
	}
	if claims["jti"] == "" {
		t.Error("no jti")
	}
	return claims
}

func TestPrivateKeyJWTFreshJTIAndOptions(t *testing.T) {
	key, cert := testKeyAndCert(t)
	a, err := PrivateKeyJWT(key, func(o *JWTOptions) {
		o.Certificate = cert
		o.Thumbprint = ThumbprintSHA1
		o.Audience = "https://issuer.example"
	})
	if err != nil {
		t.Fatal(err)
	}
	ja := a.(*jwtAuth)
	seen := map[string]bool{}
	for range 20 {
		s, err := ja.sign("svc:1", "https://ignored.example/token")
		if err != nil {
			t.Fatal(err)
		}
		tok, _, err := jwt.NewParser().ParseUnverified(s, jwt.MapClaims{})
		if err != nil {
			t.Fatal(err)
		}
		c := tok.Claims.(jwt.MapClaims)
		if c["aud"] != "https://issuer.example" || tok.Header["alg"] != RS256 {
			t.Fatalf("claims %v header %v", c, tok.Header)
		}
		sum := sha1.Sum(cert.Raw) //nolint:gosec
		if tok.Header["x5t"] != base64.RawURLEncoding.EncodeToString(sum[:]) {
			t.Fatalf("x5t %v", tok.Header["x5t"])
		}
		jti := c["jti"].(string)
		if seen[jti] {
			t.Fatal("jti reused")
		}
		seen[jti] = true
	}
}

func TestPrivateKeyJWTRefusesBadOptions(t *testing.T) {
	key, cert := testKeyAndCert(t)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	tests := []struct {
		name string
		key  *rsa.PrivateKey
		fn   func(*JWTOptions)
	}{
		{"nil key", nil, nil},
		{"short key", small, nil},
		{"HS256", key, func(o *JWTOptions) { o.Algorithm = "HS256" }},
		{"none", key, func(o *JWTOptions) { o.Algorithm = "none" }},
		{"cert mismatch", other, func(o *JWTOptions) { o.Certificate = cert }},
		{"thumbprint without cert", key, func(o *JWTOptions) { o.Thumbprint = ThumbprintS256 }},
		{"unknown thumbprint", key, func(o *JWTOptions) { o.Certificate = cert; o.Thumbprint = "x5c" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.key == nil {
				_, err = PrivateKeyJWT(nil, tt.fn)
			} else {
				_, err = PrivateKeyJWT(tt.key, tt.fn)
			}
			if !errors.Is(err, idbridge.ErrInvalidOptions) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestTokenRequestsNeverFollowRedirects(t *testing.T) {
	var leaked atomic.Bool
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Store(true)
		w.Write([]byte(okToken("stolen", 60)))
	}))
	t.Cleanup(elsewhere.Close)
	for _, status := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect, http.StatusFound} {
		idp := newFakeIdP(t, func(int, url.Values, http.Header) (int, map[string]string, string) {
			return status, map[string]string{"Location": elsewhere.URL}, ""
		})
		c := Client{ID: "svc", TokenURL: idp.URL(), Auth: ClientSecretPost("s3cret")}
		cc, _ := NewClientCredentials(c, nil)
		store := NewMemoryStore()
		store.Store(context.Background(), "k", "REFRESH-TOKEN-1")
		rf, _ := NewRefresh(c, store, "k", nil)
		for name, src := range map[string]Source{"client credentials": cc, "refresh": rf} {
			_, err := src.Token(context.Background())
			if err == nil || leaked.Load() {
				t.Fatalf("%s, HTTP %d: err = %v, sent elsewhere = %v", name, status, err, leaked.Load())
			}
			if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "REFRESH-TOKEN-1") {
				t.Fatalf("error leaks a secret: %v", err)
			}
		}
	}
}

func TestClientValidation(t *testing.T) {
	tests := []struct {
		name string
		c    Client
		fn   func(*Options)
		ok   bool
	}{
		{"https", Client{ID: "a", TokenURL: "https://login.example/token"}, nil, true},
		{"http loopback", Client{ID: "a", TokenURL: "http://127.0.0.1:8080/token"}, nil, true},
		{"http localhost", Client{ID: "a", TokenURL: "http://localhost/token"}, nil, true},
		{"http remote", Client{ID: "a", TokenURL: "http://login.example/token"}, nil, false},
		{"http remote allowed", Client{ID: "a", TokenURL: "http://login.example/token"}, func(o *Options) { o.InsecureAllowHTTP = true }, true},
		{"no id", Client{TokenURL: "https://login.example/token"}, nil, false},
		{"no url", Client{ID: "a"}, nil, false},
		{"relative", Client{ID: "a", TokenURL: "/token"}, nil, false},
		{"userinfo", Client{ID: "a", TokenURL: "https://u:p@login.example/token"}, nil, false},
		{"ftp", Client{ID: "a", TokenURL: "ftp://login.example/token"}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewClientCredentials(tt.c, nil, tt.fn)
			if tt.ok != (err == nil) || (err != nil && !errors.Is(err, idbridge.ErrInvalidOptions)) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestClientCredentialsErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		hdr    map[string]string
		body   string
		want   error
	}{
		{"invalid_client", 401, nil, `{"error":"invalid_client","error_codes":[7000215]}`, ErrRejected},
		{"server error", 500, nil, `oops`, ErrIdPUnavailable},
		{"throttled", 429, map[string]string{"Retry-After": "3"}, `{"error":"temporarily_unavailable"}`, ErrIdPUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idp := newFakeIdP(t, func(int, url.Values, http.Header) (int, map[string]string, string) { return tt.status, tt.hdr, tt.body })
			cc, _ := NewClientCredentials(Client{ID: "svc", TokenURL: idp.URL(), Auth: ClientSecretBasic("s3cret")}, nil)
			_, err := cc.Token(context.Background())
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	// Network failure.
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close()
	cc, _ := NewClientCredentials(Client{ID: "svc", TokenURL: u + "/token"}, nil)
	if _, err := cc.Token(context.Background()); !errors.Is(err, ErrIdPUnavailable) {
		t.Fatalf("closed server: %v", err)
	}
}

func TestParamsAndAssertionErrors(t *testing.T) {
	idp := newFakeIdP(t, func(int, url.Values, http.Header) (int, map[string]string, string) {
		return 200, nil, okToken("at", 60)
	})
	cc, _ := NewClientCredentials(Client{ID: "svc", TokenURL: idp.URL()}, []string{"s1"},
		func(o *Options) {
			o.Params = url.Values{"resource": {"api://core"}, "grant_type": {"password"}, "scope": {"evil"}}
		})
	if _, err := cc.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	f := idp.form(0)
	if f.Get("resource") != "api://core" || f.Get("grant_type") != "client_credentials" || f.Get("scope") != "s1" {
		t.Fatalf("Params overrode the flow: %v", f)
	}

	type key struct{}
	boom := errors.New("vault sealed")
	var sawCtx bool
	auth := ClientAssertion(func(ctx context.Context) (string, error) {
		sawCtx = ctx.Value(key{}) == "v"
		return "", boom
	})
	cc, _ = NewClientCredentials(Client{ID: "svc", TokenURL: idp.URL(), Auth: auth}, nil)
	_, err := cc.Token(context.WithValue(context.Background(), key{}, "v"))
	if !errors.Is(err, boom) || !sawCtx || idp.count() != 1 {
		t.Fatalf("err = %v, ctx passed = %v, requests = %d", err, sawCtx, idp.count())
	}
}

// TestAssertionCallbackIgnoringContext: Token returns when its context ends
// even if the assertion callback does not.
func TestAssertionCallbackIgnoringContext(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	auth := ClientAssertion(func(context.Context) (string, error) { <-release; return "late", nil })
	cc, err := NewClientCredentials(Client{ID: "svc", TokenURL: "https://idp.example/token", Auth: auth}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { _, err := cc.Token(ctx); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want the context's error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Token waited for a callback that ignores its context")
	}
}

// TestNoFlowFollowsRedirects: whatever a flow sends (client secret,
// refresh token, code and verifier, device code, subject token), a
// redirect from the token or device endpoint never carries it elsewhere.
func TestNoFlowFollowsRedirects(t *testing.T) {
	var leaked atomic.Int64
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Add(1)
		w.Write([]byte(okToken("stolen", 60)))
	}))
	t.Cleanup(elsewhere.Close)
	idp := newFakeIdP(t, func(int, url.Values, http.Header) (int, map[string]string, string) {
		return http.StatusTemporaryRedirect, map[string]string{"Location": elsewhere.URL}, ""
	})
	ctx := context.Background()
	c := Client{ID: "svc", TokenURL: idp.URL(), Auth: ClientSecretBasic("CLIENT-SECRET")}
	flows := map[string]func() error{
		"auth code": func() error {
			ac, _ := NewAuthCode(c, "https://idp.example/authorize", "https://app.example/cb", &nonceValidator{}, nil)
			a, _ := ac.Start(nil)
			_, _, err := ac.Exchange(ctx, a, url.Values{"state": {a.State}, "code": {"AUTH-CODE"}})
			return err
		},
		"device start": func() error {
			d, _ := NewDevice(c, idp.srv.URL+"/devicecode", nil)
			_, err := d.Start(ctx)
			return err
		},
		"device poll": func() error {
			clock := newFakeClock()
			d, _ := NewDevice(c, idp.srv.URL+"/devicecode", nil, func(o *Options) { o.Now = clock.Now })
			d.after = func(wait time.Duration) <-chan time.Time {
				clock.Advance(wait)
				ch := make(chan time.Time, 1)
				ch <- clock.Now()
				return ch
			}
			_, err := d.Poll(ctx, &DeviceCode{DeviceCode: "DEVICE-CODE", Interval: time.Second, Expiry: clock.Now().Add(time.Minute)})
			return err
		},
		"on-behalf-of": func() error {
			x, _ := NewOnBehalfOf(c)
			defer x.Close()
			_, err := x.Token(ctx, "SUBJECT-TOKEN", nil)
			return err
		},
		"token exchange": func() error {
			x, _ := NewTokenExchange(c)
			defer x.Close()
			_, err := x.Token(ctx, "SUBJECT-TOKEN", nil)
			return err
		},
		"refresh": func() error {
			store := NewMemoryStore()
			store.Store(ctx, "k", "REFRESH-TOKEN")
			r, _ := NewRefresh(c, store, "k", nil)
			_, err := r.Token(ctx)
			return err
		},
	}
	for name, fn := range flows {
		t.Run(name, func(t *testing.T) {
			err := fn()
			if err == nil || leaked.Load() != 0 {
				t.Fatalf("err = %v, requests sent elsewhere = %d", err, leaked.Load())
			}
			for _, s := range []string{"CLIENT-SECRET", "AUTH-CODE", "DEVICE-CODE", "SUBJECT-TOKEN", "REFRESH-TOKEN"} {
				if strings.Contains(err.Error(), s) {
					t.Fatalf("error leaks %s: %v", s, err)
				}
			}
		})
	}
}
