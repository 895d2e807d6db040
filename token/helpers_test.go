package token

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// fakeClock is a settable clock for Options.Now.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// fakeIdP is an httptest token endpoint speaking RFC 6749 on the wire. Each
// request's form is recorded; respond decides the answer.
type fakeIdP struct {
	srv *httptest.Server

	mu      sync.Mutex
	forms   []url.Values
	headers []http.Header
	respond func(n int, form url.Values, h http.Header) (status int, hdr map[string]string, body string)
}

func newFakeIdP(t testing.TB, respond func(n int, form url.Values, h http.Header) (int, map[string]string, string)) *fakeIdP {
	t.Helper()
	f := &fakeIdP{respond: respond}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.forms = append(f.forms, r.PostForm)
		f.headers = append(f.headers, r.Header.Clone())
		n := len(f.forms)
		respond := f.respond
		f.mu.Unlock()
		status, hdr, body := respond(n, r.PostForm, r.Header)
		for k, v := range hdr {
			w.Header().Set(k, v)
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
		}
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeIdP) URL() string { return f.srv.URL + "/oauth2/v2.0/token" }

func (f *fakeIdP) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.forms)
}

func (f *fakeIdP) form(i int) url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.forms[i]
}

func (f *fakeIdP) header(i int) http.Header {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.headers[i]
}

// okToken is a token response body.
func okToken(access string, expiresIn int) string {
	b, _ := json.Marshal(map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": expiresIn})
	return string(b)
}

// fakeJWT builds an unsigned JWT-shaped token with claims; only the shape
// matters to the code under test.
func fakeJWT(claims map[string]any) string {
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	b, _ := json.Marshal(claims)
	return h + "." + base64.RawURLEncoding.EncodeToString(b) + ".c2lnbmF0dXJlLXBsYWNlaG9sZGVy"
}

// waitFor polls cond until it holds or the deadline passes.
// settle, inside a synctest bubble, waits until every goroutine of the
// bubble is blocked (a background fetch done, the renewal loop asleep on
// its timer) and then requires cond.
func settle(t testing.TB, what string, cond func() bool) {
	t.Helper()
	synctest.Wait()
	if !cond() {
		t.Fatalf("%s did not happen", what)
	}
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}

// ourGoroutines counts goroutines running this package's background code.
func ourGoroutines() int {
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	return strings.Count(string(buf[:n]), "idbridge/token.(*entry)")
}

// requireNoLeak checks that no goroutine of this package is left.
func requireNoLeak(t testing.TB) {
	t.Helper()
	waitFor(t, "background goroutines to end", func() bool { return ourGoroutines() == 0 })
}

// newOptions resolves cache options as NewCache does.
func newOptions(fns []func(*CacheOptions)) (*config, error) { return resolve(fns) }
