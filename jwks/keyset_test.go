package jwks_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/jwkstest"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}

func mustValidate(t *testing.T, v *jwks.Validator, tok string) *idbridge.Claims {
	t.Helper()
	c, err := v.Validate(context.Background(), tok)
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	return c
}

// TestUnknownKIDFlood counts JWKS requests at a real server on loopback: a
// rotation right after start-up costs one request, 2,000 forged kids at once
// at most two, 2,000 tokens of one forged kid one, and a rotation right
// after them one more. The clock stands still, so only the wait for a
// refresh's turn (UnknownKIDInterval) passes in real time.
func TestUnknownKIDFlood(t *testing.T) {
	clk := newClock(testNow)
	idp := jwkstest.Start(t, func(o *jwkstest.Options) { o.Now = clk.Now })
	attacker := jwkstest.Start(t, func(o *jwkstest.Options) { o.Now = clk.Now })
	v := newValidator(t, idp, func(o *jwks.Options) { o.Now = clk.Now })
	mint := func() string { return idp.Mint(map[string]any{"aud": "api://orders"}) }
	mustValidate(t, v, mint())
	base := idp.Requests("jwks")
	fetches := func() int { return idp.Requests("jwks") - base }

	kid := idp.Rotate(false)
	if c := mustValidate(t, v, mint()); c.Header.KeyID != kid {
		t.Fatalf("kid %q, want %q", c.Header.KeyID, kid)
	}
	if n := fetches(); n != 1 {
		t.Fatalf("rotation at start-up picked up after %d fetches, want 1", n)
	}

	payload := b64(claimsJSON(idp.Issuer(), nil))
	sig := strings.Split(attacker.Mint(nil), ".")[2]
	flood := func(kid func(g, i int) string) {
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 250 {
					// Forged: the kid is looked up before the signature is checked.
					tok := b64(fmt.Sprintf(`{"alg":"RS256","kid":%q}`, kid(g, i))) + "." + payload + "." + sig
					if _, err := v.Validate(context.Background(), tok); !errors.Is(err, jwks.ErrUnknownKey) {
						t.Errorf("bogus kid: %v", err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	flood(func(g, i int) string { return fmt.Sprintf("bogus-%d-%d", g, i) })
	if n := fetches() - 1; n > 2 {
		t.Fatalf("2000 forged kids at once caused %d fetches, want at most 2", n)
	}

	clk.Add(time.Hour) // a quiet hour
	base = idp.Requests("jwks")
	flood(func(int, int) string { return "bogus" })
	if n := fetches(); n != 1 {
		t.Fatalf("2000 tokens of one forged kid caused %d fetches, want 1", n)
	}
	// A real rotation right after them waits for its turn and succeeds.
	newKid := idp.Rotate(false)
	if c := mustValidate(t, v, mint()); c.Header.KeyID != newKid {
		t.Fatalf("kid %q", c.Header.KeyID)
	}
	if n := fetches(); n != 2 {
		t.Fatalf("fetches = %d, want 2", n)
	}
}

func TestConcurrentMissesMerged(t *testing.T) {
	clk := newClock(testNow)
	idp := jwkstest.Start(t, func(o *jwkstest.Options) { o.Now = clk.Now })
	v := newValidator(t, idp, func(o *jwks.Options) { o.Now = clk.Now })
	mustValidate(t, v, idp.Mint(map[string]any{"aud": "api://orders"}))
	base := idp.Requests("jwks")

	idp.Rotate(false)
	tok := idp.Mint(map[string]any{"aud": "api://orders"})
	clk.Add(time.Minute)
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	idp.OnRequest(func(string) {
		select {
		case started <- struct{}{}:
		default:
		}
		<-release
	})
	var wg sync.WaitGroup
	var failures atomic.Int32
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := v.Validate(context.Background(), tok); err != nil {
				failures.Add(1)
			}
		}()
	}
	<-started
	// A caller that gives up leaves on its own context; the fetch goes on.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	_, err := v.Validate(ctx, tok)
	cancel()
	if !errors.Is(err, jwks.ErrUnavailable) {
		t.Fatalf("canceled waiter: %v", err)
	}
	close(release)
	wg.Wait()
	idp.OnRequest(nil)
	if failures.Load() != 0 {
		t.Fatalf("%d of 50 concurrent validations failed", failures.Load())
	}
	if n := idp.Requests("jwks") - base; n != 1 {
		t.Fatalf("50 concurrent misses caused %d fetches, want 1", n)
	}
}

func TestRotation(t *testing.T) {
	clk := newClock(testNow)
	idp := jwkstest.Start(t, func(o *jwkstest.Options) { o.Now = clk.Now })
	v := newValidator(t, idp, func(o *jwks.Options) { o.Now = clk.Now; o.Cache = &jwks.CacheOptions{} })
	old := idp.Mint(map[string]any{"aud": "api://orders"})
	c1 := mustValidate(t, v, old)

	// Soft: old tokens stay valid, new ones are valid after one refresh.
	idp.Rotate(false)
	soft := idp.Mint(map[string]any{"aud": "api://orders"})
	clk.Add(time.Minute)
	mustValidate(t, v, soft)
	if c := mustValidate(t, v, old); c != c1 {
		t.Fatal("a refresh with the same old key purged its cache entry")
	}

	// Hard: once the new key set is fetched, old tokens fail as unknown_key,
	// cached or not.
	idp.Rotate(true)
	hard := idp.Mint(map[string]any{"aud": "api://orders"})
	clk.Add(time.Minute)
	mustValidate(t, v, hard)
	for _, tok := range []string{old, soft} {
		if _, err := v.Validate(context.Background(), tok); !errors.Is(err, jwks.ErrUnknownKey) {
			t.Fatalf("token of a removed key: %v", err)
		}
	}
}

func TestIdPDown(t *testing.T) {
	clk := newClock(testNow)
	var audit bytes.Buffer
	idp := jwkstest.Start(t, func(o *jwkstest.Options) { o.Now = clk.Now })
	v := newValidator(t, idp, func(o *jwks.Options) {
		o.Now = clk.Now
		o.Audit = slog.NewJSONHandler(&syncWriter{w: &audit}, nil)
	})
	tok := idp.Mint(map[string]any{"aud": "api://orders"})
	mustValidate(t, v, tok)

	idp.SetStatus(http.StatusServiceUnavailable)
	for i := 0; i < 5; i++ {
		clk.Add(time.Minute)
		mustValidate(t, v, tok) // cached keys keep validating
		bogus := idp.MintWithHeader(map[string]any{"kid": fmt.Sprint("x", i)}, map[string]any{"aud": "api://orders"})
		if _, err := v.Validate(context.Background(), bogus); !errors.Is(err, jwks.ErrUnknownKey) {
			t.Fatalf("unknown kid while the IdP is down: %v", err)
		}
		mustValidate(t, v, tok) // the failed refresh kept the last good keys
	}
	waitFor(t, "jwks.refresh_failed", func() bool { return strings.Contains(audit.String(), `"jwks.refresh_failed"`) })

	idp.SetStatus(0)
	newKid := idp.Rotate(false)
	clk.Add(time.Minute)
	if c := mustValidate(t, v, idp.Mint(map[string]any{"aud": "api://orders"})); c.Header.KeyID != newKid {
		t.Fatal("wrong key")
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.String()
}

func TestKeySetStartup(t *testing.T) {
	idp := jwkstest.Start(t)
	idp.SetStatus(http.StatusBadGateway)
	ctx := context.Background()
	if _, err := jwks.NewKeySet(ctx, idp.JWKSURL()); !errors.Is(err, jwks.ErrUnavailable) {
		t.Fatalf("NewKeySet with the IdP down: %v", err)
	}
	if _, err := jwks.Discover(ctx, idp.Issuer()); !errors.Is(err, jwks.ErrUnavailable) {
		t.Fatalf("Discover with the IdP down: %v", err)
	}

	// Lazy: start anyway, fail fast with ErrUnavailable, recover later.
	clk := newClock(testNow)
	ks, err := jwks.NewKeySet(ctx, idp.JWKSURL(), func(o *jwks.KeySetOptions) { o.Lazy = true; o.Now = clk.Now })
	if err != nil {
		t.Fatal(err)
	}
	defer ks.Close()
	waitFor(t, "first fetch", func() bool { return idp.Requests("jwks") >= 2 })
	if _, err := ks.Key(ctx, idp.KeyID(), idp.Issuer()); !errors.Is(err, jwks.ErrUnavailable) {
		t.Fatalf("Key before any fetch succeeded: %v", err)
	}
	idp.SetStatus(0)
	clk.Add(time.Minute)
	if k, err := ks.Key(ctx, idp.KeyID(), idp.Issuer()); err != nil || k.ID != idp.KeyID() {
		t.Fatalf("Key after recovery: %v, %v", k, err)
	}
}

func TestDiscover(t *testing.T) {
	idp := jwkstest.Start(t)
	ks, err := jwks.Discover(context.Background(), idp.Issuer())
	if err != nil {
		t.Fatal(err)
	}
	defer ks.Close()
	if ks.JWKSURL() != idp.JWKSURL() || ks.Issuer() != idp.Issuer() {
		t.Fatalf("JWKSURL %q issuer %q", ks.JWKSURL(), ks.Issuer())
	}
	other := jwkstest.Start(t, func(o *jwkstest.Options) { o.Issuer = "https://someone.else" })
	if _, err := jwks.Discover(context.Background(), other.URL); err == nil || !strings.Contains(err.Error(), "differs") {
		t.Fatalf("issuer mismatch: %v", err)
	}
	if _, err := jwks.Discover(context.Background(), "not a url"); err == nil {
		t.Fatal("bad issuer accepted")
	}
}

// jwksServer serves body with headers and records requests, for wire-level
// tests of the key set.
type jwksServer struct {
	*httptest.Server
	mu     sync.Mutex
	body   []byte
	header http.Header
	hang   chan struct{} // when non-nil, requests block until it is closed or they are canceled
	got    []http.Header
	status int
}

func newJWKSServer(t *testing.T, body []byte) *jwksServer {
	s := &jwksServer{body: body, header: http.Header{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.got = append(s.got, r.Header.Clone())
		body, hang, status := s.body, s.hang, s.status
		for k, v := range s.header {
			w.Header()[k] = v
		}
		s.mu.Unlock()
		if hang != nil {
			select {
			case <-hang:
			case <-r.Context().Done():
				return
			}
		}
		if status != 0 {
			w.WriteHeader(status)
		}
		_, _ = w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) requests() []http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]http.Header(nil), s.got...)
}

func TestKeySetWire(t *testing.T) {
	idp := jwkstest.Start(t)
	ctx := context.Background()

	t.Run("forced refresh sends no-cache", func(t *testing.T) {
		srv := newJWKSServer(t, idp.JWKS())
		clk := newClock(testNow)
		ks, err := jwks.NewKeySet(ctx, srv.URL, func(o *jwks.KeySetOptions) { o.Now = clk.Now })
		if err != nil {
			t.Fatal(err)
		}
		defer ks.Close()
		clk.Add(time.Minute)
		if _, err := ks.Key(ctx, "unknown", ""); !errors.Is(err, jwks.ErrUnknownKey) {
			t.Fatal(err)
		}
		reqs := srv.requests()
		if len(reqs) != 2 || reqs[0].Get("Cache-Control") != "" || reqs[1].Get("Cache-Control") != "no-cache" {
			t.Fatalf("requests %v", reqs)
		}
		if !strings.Contains(reqs[0].Get("Accept"), "application/json") {
			t.Fatalf("Accept %q", reqs[0].Get("Accept"))
		}
	})

	t.Run("body cap", func(t *testing.T) {
		big := append(bytes.TrimSuffix(idp.JWKS(), []byte("}")), []byte(`,"pad":"`+strings.Repeat("x", 4096)+`"}`)...)
		srv := newJWKSServer(t, big)
		if _, err := jwks.NewKeySet(ctx, srv.URL, func(o *jwks.KeySetOptions) { o.MaxBodySize = 1024 }); err == nil || !strings.Contains(err.Error(), "larger than") {
			t.Fatalf("oversized JWKS: %v", err)
		}
		ks, err := jwks.NewKeySet(ctx, srv.URL)
		if err != nil {
			t.Fatalf("same JWKS under the default cap: %v", err)
		}
		ks.Close()
	})

	t.Run("status and JSON errors", func(t *testing.T) {
		for _, tc := range []struct {
			body   string
			status int
		}{{"{}", 0}, {"not json", 0}, {`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`, 0}, {"", http.StatusNotFound}} {
			srv := newJWKSServer(t, []byte(tc.body))
			srv.status = tc.status
			if _, err := jwks.NewKeySet(ctx, srv.URL); !errors.Is(err, jwks.ErrUnavailable) {
				t.Errorf("body %q status %d: %v", tc.body, tc.status, err)
			}
		}
	})

	t.Run("hanging IdP times out and does not block later fetches", func(t *testing.T) {
		srv := newJWKSServer(t, idp.JWKS())
		hang := make(chan struct{})
		srv.hang = hang
		start := time.Now()
		_, err := jwks.NewKeySet(ctx, srv.URL, func(o *jwks.KeySetOptions) { o.FetchTimeout = 100 * time.Millisecond })
		if !errors.Is(err, jwks.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("hanging fetch: %v", err)
		}
		if time.Since(start) > 5*time.Second {
			t.Fatal("fetch timeout not applied")
		}
		srv.mu.Lock()
		srv.hang = nil
		srv.mu.Unlock()
		close(hang)
		ks, err := jwks.NewKeySet(ctx, srv.URL, func(o *jwks.KeySetOptions) { o.FetchTimeout = 100 * time.Millisecond })
		if err != nil {
			t.Fatal(err)
		}
		ks.Close()
	})

	t.Run("background refresh honours bounds", func(t *testing.T) {
		body := idp.JWKS()
		for _, cc := range []string{"max-age=0", "no-store", "max-age=86400"} {
			// In a synctest bubble on fake time, over an in-memory
			// transport: 100 ms of refreshes bounded to [10 ms, 20 ms]
			// are 5 to 10 fetches whatever the header says, and none
			// after Close (the bubble also fails if a goroutine is left).
			synctest.Test(t, func(t *testing.T) {
				var fetches atomic.Int32
				client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
					fetches.Add(1)
					return &http.Response{StatusCode: http.StatusOK, Request: r,
						Header: http.Header{"Content-Type": {"application/json"}, "Cache-Control": {cc}},
						Body:   io.NopCloser(bytes.NewReader(body))}, nil
				})}
				ks, err := jwks.NewKeySet(context.Background(), "https://idp.example/jwks", func(o *jwks.KeySetOptions) {
					o.HTTPClient = client
					o.MinRefreshInterval = 10 * time.Millisecond
					o.MaxRefreshInterval = 20 * time.Millisecond
				})
				if err != nil {
					t.Fatal(err)
				}
				time.Sleep(100 * time.Millisecond)
				synctest.Wait()
				if n := fetches.Load(); n < 5 || n > 11 {
					t.Errorf("%d fetches in 100 ms with %s, want 5 to 11", n, cc)
				}
				ks.Close()
				n := fetches.Load()
				time.Sleep(time.Second)
				synctest.Wait()
				if fetches.Load() != n {
					t.Fatal("refresh after Close")
				}
			})
		}
	})

	t.Run("unsupported keys are skipped", func(t *testing.T) {
		doc := strings.Replace(string(idp.JWKS()), `"keys":[`, `"keys":[{"kty":"oct","k":"c2VjcmV0"},{"kty":"RSA","use":"enc","n":"AQAB","e":"AQAB"},"junk",`, 1)
		srv := newJWKSServer(t, []byte(doc))
		ks, err := jwks.NewKeySet(ctx, srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer ks.Close()
		if _, err := ks.Key(ctx, idp.KeyID(), ""); err != nil {
			t.Fatal(err)
		}
	})
}

func waitForNoKeySetGoroutines(t *testing.T) {
	t.Helper()
	waitFor(t, "key set goroutines to exit", func() bool {
		buf := make([]byte, 1<<20)
		return !bytes.Contains(buf[:runtime.Stack(buf, true)], []byte("jwks.(*RemoteKeySet)"))
	})
}

func TestCloseStopsGoroutines(t *testing.T) {
	idp := jwkstest.Start(t)
	v := newValidator(t, idp)
	mustValidate(t, v, idp.Mint(map[string]any{"aud": "api://orders"}))
	ks, err := jwks.NewKeySet(context.Background(), idp.JWKSURL())
	if err != nil {
		t.Fatal(err)
	}
	v.Close()
	ks.Close()
	ks.Close()
	waitForNoKeySetGoroutines(t)
	if _, err := ks.Key(context.Background(), "unknown", ""); !errors.Is(err, idbridge.ErrClosed) {
		t.Fatalf("Key after Close: %v", err)
	}
}

func TestParseJWKSRealDocuments(t *testing.T) {
	tests := []struct {
		file    string
		keys    int
		withAlg bool
	}{
		{"entra-common-jwks.json", 7, false},
		{"entra-organizations-jwks.json", 6, false},
		{"google-jwks.json", 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile("testdata/" + tt.file)
			if err != nil {
				t.Fatal(err)
			}
			keys, skipped, err := jwks.ParseJWKS(data)
			if err != nil || len(skipped) != 0 || len(keys) != tt.keys {
				t.Fatalf("ParseJWKS = %d keys, skipped %v, %v", len(keys), skipped, err)
			}
			for _, k := range keys {
				if (k.Algorithm != "") != tt.withAlg || k.Use != "sig" || k.ID == "" {
					t.Errorf("key %+v", k)
				}
				if !tt.withAlg && !strings.HasPrefix(k.Issuer, "https://login.microsoftonline.com/") {
					t.Errorf("Entra key without issuer: %+v", k)
				}
			}
		})
	}
}

// TestPlainHTTPOnlyOnLoopback: keys fetched in clear text can be swapped in
// transit, so http is refused off loopback before any request is made.
func TestPlainHTTPOnlyOnLoopback(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		url       string
		allowHTTP bool
		wantErr   bool
	}{
		{"http elsewhere", "http://idp.example/keys", false, true},
		{"http elsewhere, loopback-looking name", "http://127.0.0.1.idp.example/keys", false, true},
		{"not a URL", "idp.example/keys", false, true},
		{"http elsewhere, allowed", "http://idp.example/keys", true, false},
	}
	// The accepted URL must not be fetched for real (it is off this
	// machine): Lazy starts a background fetch, which this client refuses.
	offline := &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
		return nil, errors.New("offline test client")
	})}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := func(o *jwks.KeySetOptions) {
				o.InsecureAllowHTTP = tt.allowHTTP
				o.Lazy = true // so the check must come before any fetch
				o.HTTPClient = offline
			}
			ks, err := jwks.NewKeySet(ctx, tt.url, opts)
			if (err != nil) != tt.wantErr {
				t.Fatalf("NewKeySet(%q) err = %v, want error %v", tt.url, err, tt.wantErr)
			}
			if ks != nil {
				ks.Close()
			}
			ks, err = jwks.Discover(ctx, tt.url, opts)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Discover(%q) err = %v, want error %v", tt.url, err, tt.wantErr)
			}
			if ks != nil {
				ks.Close()
			}
		})
	}
	waitForNoKeySetGoroutines(t)

	idp := jwkstest.Start(t) // http on 127.0.0.1: allowed
	ks, err := jwks.NewKeySet(ctx, idp.JWKSURL())
	if err != nil {
		t.Fatalf("loopback http must be allowed: %v", err)
	}
	ks.Close()
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestParseJWKSX5CKeyType: a JWK whose x5c certificate holds another type
// of key than its kty says is skipped, not silently re-typed.
func TestParseJWKSX5CKeyType(t *testing.T) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: testNow, NotAfter: testNow.Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &ecKey.PublicKey, ecKey)
	if err != nil {
		t.Fatal(err)
	}
	x5c := base64.StdEncoding.EncodeToString(der)
	for kty, want := range map[string]int{"RSA": 0, "EC": 0} {
		doc := fmt.Sprintf(`{"keys":[{"kty":%q,"kid":"k","x5c":[%q]}]}`, kty, x5c)
		keys, skipped, err := jwks.ParseJWKS([]byte(doc))
		if err != nil || len(keys) != want || len(skipped) != 1-want {
			t.Errorf("kty %s with an EC certificate: %d keys, skipped %v, %v", kty, len(keys), skipped, err)
		}
	}
}

// TestNewKeyRefuses: keys that are weak, of an unsupported type, or whose
// alg cannot fit them are refused by NewKey and skipped by ParseJWKS.
func TestNewKeyRefuses(t *testing.T) {
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	rsa2048, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	evenE := &rsa.PublicKey{N: rsa2048.N, E: 65536}
	tests := []struct {
		name string
		alg  string
		pub  any
	}{
		{"RSA 1024 bits", "", &rsa1024.PublicKey},
		{"RSA even exponent", "", evenE},
		{"nil RSA key", "", (*rsa.PublicKey)(nil)},
		{"EC P-224", "", &p224.PublicKey},
		{"private key", "", rsa2048},
		{"symmetric key", "", []byte("secret")},
		{"ES256 alg on an RSA key", "ES256", &rsa2048.PublicKey},
		{"ES384 alg on a P-256 key", "ES384", &p256.PublicKey},
		{"HS256 alg", "HS256", &rsa2048.PublicKey},
	}
	for _, tt := range tests {
		if k, err := jwks.NewKey("k", tt.alg, tt.pub); err == nil {
			t.Errorf("%s: NewKey accepted %+v", tt.name, k)
		}
	}
	if _, err := jwks.NewKey("k", "RS256", &rsa2048.PublicKey); err != nil {
		t.Fatalf("RSA 2048 refused: %v", err)
	}
	small := fmt.Sprintf(`{"keys":[{"kty":"RSA","kid":"small","n":%q,"e":"AQAB"}]}`,
		base64.RawURLEncoding.EncodeToString(rsa1024.N.Bytes()))
	if keys, skipped, err := jwks.ParseJWKS([]byte(small)); err != nil || len(keys) != 0 || len(skipped) != 1 {
		t.Fatalf("JWKS with a 1024-bit key: %d keys, skipped %v, %v", len(keys), skipped, err)
	}
}

// TestKeySetRefusesRedirectToPlainHTTP: a JWKS URL (or discovery
// document) that redirects from https to plain http off loopback is refused like such a
// URL given directly, since keys read in clear text can be swapped in
// transit; the http server here is reached under a public-looking name.
func TestKeySetRefusesRedirectToPlainHTTP(t *testing.T) {
	idp := jwkstest.Start(t)
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(idp.JWKS()) }))
	t.Cleanup(plain.Close)
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://keys.bank.example"+r.URL.Path, http.StatusFound)
	}))
	t.Cleanup(tlsSrv.Close)
	client := tlsSrv.Client()
	tr := client.Transport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr == "keys.bank.example:80" {
			addr = plain.Listener.Addr().String()
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	client = &http.Client{Transport: tr}
	ks, err := jwks.NewKeySet(context.Background(), tlsSrv.URL+"/jwks", func(o *jwks.KeySetOptions) { o.HTTPClient = client })
	if err == nil {
		ks.Close()
		t.Fatal("keys read over plain http after a redirect were accepted")
	}
	if !strings.Contains(err.Error(), "plain http") || strings.Contains(err.Error(), "keys.bank.example/jwks?") {
		t.Fatalf("error %q does not say why", err)
	}
	// The same redirect to a loopback http server stays allowed, as a
	// loopback URL given directly is.
	loop := httptest.NewTLSServer(http.RedirectHandler(plain.URL+"/jwks", http.StatusFound))
	t.Cleanup(loop.Close)
	ks, err = jwks.NewKeySet(context.Background(), loop.URL+"/jwks", func(o *jwks.KeySetOptions) { o.HTTPClient = loop.Client() })
	if err != nil {
		t.Fatalf("redirect to loopback http: %v", err)
	}
	ks.Close()
}

// TestKeySetBadInput: a key set that cannot work is refused with
// ErrInvalidOptions, and nil keys given to a static set are left out.
func TestKeySetBadInput(t *testing.T) {
	ctx := context.Background()
	for name, fn := range map[string]func() error{
		"no JWKS URL":            func() error { _, err := jwks.NewKeySet(ctx, ""); return err },
		"relative JWKS URL":      func() error { _, err := jwks.NewKeySet(ctx, "idp.example/keys"); return err },
		"JWKS over plain http":   func() error { _, err := jwks.NewKeySet(ctx, "http://idp.example/keys"); return err },
		"ftp JWKS URL":           func() error { _, err := jwks.NewKeySet(ctx, "ftp://idp.example/keys"); return err },
		"no issuer":              func() error { _, err := jwks.Discover(ctx, ""); return err },
		"issuer over plain http": func() error { _, err := jwks.Discover(ctx, "http://idp.example"); return err },
	} {
		if err := fn(); !errors.Is(err, idbridge.ErrInvalidOptions) {
			t.Errorf("%s: %v, want ErrInvalidOptions", name, err)
		}
	}
	ks := jwks.NewStaticKeySet(nil, nil)
	if _, err := ks.Key(ctx, "kid", ""); !errors.Is(err, jwks.ErrUnknownKey) {
		t.Errorf("static set of nil keys: %v, want ErrUnknownKey", err)
	}
}
