package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/token"
)

// trackedBody records whether it was closed.
type trackedBody struct {
	io.Reader
	closed atomic.Bool
}

func (b *trackedBody) Close() error { b.closed.Store(true); return nil }

// capture is a base RoundTripper that records the request it was given.
type capture struct{ req *http.Request }

func (c *capture) RoundTrip(r *http.Request) (*http.Response, error) {
	c.req = r
	if r.Body != nil {
		r.Body.Close()
	}
	return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
}

const secretToken = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"

func goodToken() *token.Token { return &token.Token{AccessToken: secretToken, TokenType: "Bearer"} }

func TestTransport(t *testing.T) {
	good := &token.Token{AccessToken: secretToken, TokenType: "bearer"}
	tests := []struct {
		name       string
		url        string
		preset     string // an Authorization header set by the caller
		src        *countingSource
		opts       func(*middleware.TransportOptions)
		wantHeader string // "" means the base must not see one; "-" means the base is not called
		wantErr    error
		wantCalls  int32
	}{
		{"attaches", "https://api.bank.example/loans", "", &countingSource{Tok: good}, nil, "Bearer " + secretToken, nil, 1},
		{"loopback http", "http://127.0.0.1:8080/x", "", &countingSource{Tok: good}, nil, "Bearer " + secretToken, nil, 1},
		{"localhost http", "http://localhost/x", "", &countingSource{Tok: good}, nil, "Bearer " + secretToken, nil, 1},
		{"caller's header wins", "https://api.bank.example/", "Basic dTpw", &countingSource{Tok: good}, nil, "Basic dTpw", nil, 0},
		{"listed host", "https://api.bank.example:8443/", "", &countingSource{Tok: good},
			func(o *middleware.TransportOptions) { o.Hosts = []string{"API.bank.example:8443"} }, "Bearer " + secretToken, nil, 1},
		{"listed hostname", "https://api.bank.example:8443/", "", &countingSource{Tok: good},
			func(o *middleware.TransportOptions) { o.Hosts = []string{"api.bank.example"} }, "Bearer " + secretToken, nil, 1},
		{"other host gets no token", "https://cdn.example/", "", &countingSource{Tok: good},
			func(o *middleware.TransportOptions) { o.Hosts = []string{"api.bank.example"} }, "", nil, 0},
		{"cleartext refused", "http://api.bank.example/", "", &countingSource{Tok: good}, nil, "-", middleware.ErrInsecureTransport, 0},
		{"cleartext allowed", "http://api.bank.example/", "", &countingSource{Tok: good},
			func(o *middleware.TransportOptions) { o.InsecureAllowHTTP = true }, "Bearer " + secretToken, nil, 1},
		{"source fails", "https://api.bank.example/", "", &countingSource{Err: fmt.Errorf("%w: down", token.ErrIdPUnavailable)}, nil, "-", token.ErrIdPUnavailable, 1},
		{"empty token", "https://api.bank.example/", "", &countingSource{Tok: &token.Token{}}, nil, "-", middleware.ErrNoAccessToken, 1},
		{"nil token", "https://api.bank.example/", "", &countingSource{}, nil, "-", middleware.ErrNoAccessToken, 1},
		{"not a bearer token", "https://api.bank.example/", "", &countingSource{Tok: &token.Token{AccessToken: secretToken, TokenType: "DPoP"}}, nil, "-", middleware.ErrNoAccessToken, 1},
		{"token with a newline", "https://api.bank.example/", "", &countingSource{Tok: &token.Token{AccessToken: "a\r\nX-Evil: 1"}}, nil, "-", middleware.ErrNoAccessToken, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := &capture{}
			tr, err := middleware.NewTransport(tt.src, func(o *middleware.TransportOptions) {
				o.Base = base
				if tt.opts != nil {
					tt.opts(o)
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			body := &trackedBody{Reader: strings.NewReader("payload")}
			req, _ := http.NewRequest("POST", tt.url, body)
			if tt.preset != "" {
				req.Header.Set("Authorization", tt.preset)
			}
			resp, err := tr.RoundTrip(req)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("RoundTrip error %v, want %v", err, tt.wantErr)
			}
			if resp != nil {
				resp.Body.Close()
			}
			if err != nil && strings.Contains(err.Error(), secretToken) {
				t.Fatal("token in the error")
			}
			if !body.closed.Load() {
				t.Error("request body not closed")
			}
			if n := tt.src.Calls.Load(); n != tt.wantCalls {
				t.Errorf("source called %d times, want %d", n, tt.wantCalls)
			}
			switch {
			case tt.wantHeader == "-":
				if base.req != nil {
					t.Error("base transport called on a refused request")
				}
			case base.req == nil:
				t.Fatal("base transport not called")
			case base.req.Header.Get("Authorization") != tt.wantHeader:
				t.Errorf("Authorization %q, want %q", base.req.Header.Get("Authorization"), tt.wantHeader)
			}
			if tt.preset == "" && req.Header.Get("Authorization") != "" {
				t.Error("the caller's request was modified")
			}
		})
	}
}

func TestNewTransportRefuses(t *testing.T) {
	src := &countingSource{}
	for name, fn := range map[string]func(*middleware.TransportOptions){
		"URL as host": func(o *middleware.TransportOptions) { o.Hosts = []string{"https://api.example"} },
		"empty host":  func(o *middleware.TransportOptions) { o.Hosts = []string{""} },
	} {
		if _, err := middleware.NewTransport(src, fn); !errors.Is(err, idbridge.ErrInvalidOptions) {
			t.Errorf("%s: %v, want ErrInvalidOptions", name, err)
		}
	}
	if _, err := middleware.NewTransport(nil); !errors.Is(err, idbridge.ErrInvalidOptions) {
		t.Errorf("nil source: %v", err)
	}
}

// A redirect to another host must not carry the token when Hosts is set:
// the RoundTripper sees every hop.
func TestTransportRedirect(t *testing.T) {
	var leaked atomic.Bool
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Store(r.Header.Get("Authorization") != "")
	}))
	t.Cleanup(other.Close)
	api := httptest.NewServer(http.RedirectHandler(other.URL+"/landing", http.StatusFound))
	t.Cleanup(api.Close)

	tr, err := middleware.NewTransport(&countingSource{Tok: &token.Token{AccessToken: secretToken}}, func(o *middleware.TransportOptions) {
		o.Hosts = []string{strings.TrimPrefix(api.URL, "http://")}
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: tr}).Get(api.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if leaked.Load() {
		t.Fatal("the token followed the redirect to another host")
	}
}

// The client side meets the server side: a Transport's token passes a Guard.
func TestTransportThroughGuard(t *testing.T) {
	e := newEnv(t)
	g := e.Guard(t)
	srv := httptest.NewServer(g.Handler(whoami, middleware.Require("loan:read")))
	t.Cleanup(srv.Close)
	tok := e.Mint(map[string]any{"groups": []string{groupRM}})
	tr, err := middleware.NewTransport(token.SourceFunc(func(context.Context) (*token.Token, error) {
		return &token.Token{AccessToken: tok, TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)}, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != "u1 [LoanViewer] " {
		t.Fatalf("%d %q", resp.StatusCode, b)
	}
}

// plainSource hides Invalidate.
type plainSource struct{ token.Source }

// opaqueBody is a body without GetBody: it cannot be sent twice.
type opaqueBody struct{ io.Reader }

func (opaqueBody) Close() error { return nil }

// retryServer accepts only the token "good", echoing the body, and answers
// every other token 401 with challenge.
func retryServer(t *testing.T, challenge string) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		b, _ := io.ReadAll(r.Body)
		if r.Header.Get("Authorization") != "Bearer good" {
			if challenge != "" {
				w.Header().Set("WWW-Authenticate", challenge)
			}
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, "refused")
			return
		}
		fmt.Fprintf(w, "ok %s", b)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func TestTransportRetriesInvalidToken(t *testing.T) {
	const invalid = `Bearer realm="api", error="invalid_token", error_description="revoked"`
	tests := []struct {
		name        string
		challenge   string
		tokens      []string
		plain       bool // source without Invalidate
		opaque      bool // body without GetBody
		preset      bool // caller's own Authorization
		disable     bool
		wantStatus  int
		wantHits    int32
		invalidated int
	}{
		{"revoked token is renewed once", invalid, []string{"old", "good"}, false, false, false, false, 200, 2, 1},
		{"new token refused too: no loop", invalid, []string{"old", "older"}, false, false, false, false, 401, 2, 1},
		{"source gives the same token again", invalid, []string{"old"}, false, false, false, false, 401, 1, 1},
		{"claims challenge is the caller's", `Bearer error="insufficient_claims", claims="e30="`, []string{"old", "good"}, false, false, false, false, 401, 1, 0},
		{"no challenge", "", []string{"old", "good"}, false, false, false, false, 401, 1, 0},
		{"another scheme's challenge", `Basic realm="x", error="invalid_token"`, []string{"old", "good"}, false, false, false, false, 401, 1, 0},
		{"source cannot invalidate", invalid, []string{"old", "good"}, true, false, false, false, 401, 1, 0},
		{"body cannot be replayed", invalid, []string{"old", "good"}, false, true, false, false, 401, 1, 0},
		{"caller's header", invalid, []string{"old", "good"}, false, false, true, false, 401, 1, 0},
		{"retry disabled", invalid, []string{"old", "good"}, false, false, false, true, 401, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, hits := retryServer(t, tt.challenge)
			rs := &rotatingSource{Tokens: tt.tokens}
			var src token.Source = rs
			if tt.plain {
				src = plainSource{rs}
			}
			tr, err := middleware.NewTransport(src, func(o *middleware.TransportOptions) { o.DisableRetry = tt.disable })
			if err != nil {
				t.Fatal(err)
			}
			var body io.Reader = strings.NewReader("payload")
			if tt.opaque {
				body = opaqueBody{strings.NewReader("payload")}
			}
			req, _ := http.NewRequest("POST", srv.URL, body)
			if tt.preset {
				req.Header.Set("Authorization", "Bearer old")
			}
			resp, err := (&http.Client{Transport: tr}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d %q, want %d", resp.StatusCode, b, tt.wantStatus)
			}
			if tt.wantStatus == 200 && string(b) != "ok payload" {
				t.Errorf("body %q: the request body was not sent again", b)
			}
			if tt.wantStatus == 401 && string(b) != "refused" {
				t.Errorf("body %q: the refusal's body was not handed over", b)
			}
			if hits.Load() != tt.wantHits || rs.Invalidated != tt.invalidated {
				t.Errorf("%d requests and %d invalidations, want %d and %d", hits.Load(), rs.Invalidated, tt.wantHits, tt.invalidated)
			}
			if !tt.preset && req.Header.Get("Authorization") != "" {
				t.Error("the caller's request was modified")
			}
		})
	}
}

// A server that refuses every token makes the Transport invalidate at most
// once per RenewInterval, not once per request; a token renewed meanwhile
// by someone else is used without invalidating.
func TestTransportRenewIsRateLimited(t *testing.T) {
	srv, hits := retryServer(t, `Bearer error="invalid_token"`)
	rs := &rotatingSource{Tokens: []string{"t0", "t1", "t2", "good"}}
	clk := newClock(time.Now())
	tr, err := middleware.NewTransport(rs, func(o *middleware.TransportOptions) { o.Now = clk.Now })
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: tr}
	get := func() int {
		t.Helper()
		resp, err := client.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	steps := []struct {
		advance     time.Duration
		status      int
		hits        int32
		invalidated int
	}{
		{0, 401, 2, 1},                           // t0 refused, renewed to t1, refused
		{time.Second, 401, 3, 1},                 // inside the interval: t1 refused, no renewal
		{renewInterval, 401, 5, 2},               // t1 refused, renewed to t2, refused
		{renewInterval + time.Second, 200, 7, 3}, // t2 refused, renewed to good
	}
	for i, st := range steps {
		clk.Add(st.advance)
		if got := get(); got != st.status || hits.Load() != st.hits || rs.Invalidated != st.invalidated {
			t.Fatalf("step %d: status %d, %d requests, %d invalidations; want %d, %d, %d",
				i, got, hits.Load(), rs.Invalidated, st.status, st.hits, st.invalidated)
		}
	}
	// Renewed elsewhere meanwhile (another request, the cache's background
	// refresh): the new token is used without invalidating it again.
	clk.Add(time.Second)
	rs.Mu.Lock()
	rs.Tokens, rs.I = []string{"t3", "good"}, 0
	rs.Mu.Unlock()
	tr2, _ := middleware.NewTransport(&renewedSource{rs}, func(o *middleware.TransportOptions) { o.Now = clk.Now })
	resp, err := (&http.Client{Transport: tr2}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || rs.Invalidated != 3 {
		t.Fatalf("status %d, %d invalidations; want 200 and no new one", resp.StatusCode, rs.Invalidated)
	}
}

// renewedSource moves to the next token after its first answer, as if
// someone else had renewed it.
type renewedSource struct{ *rotatingSource }

func (s *renewedSource) Token(ctx context.Context) (*token.Token, error) {
	tok, err := s.rotatingSource.Token(ctx)
	s.Mu.Lock()
	s.I = 1
	s.Mu.Unlock()
	return tok, err
}

// The refused response's body is closed when the request is retried, and a
// failing GetBody leaves the first answer intact.
func TestTransportRetryBodies(t *testing.T) {
	var bodies []*trackedBody
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Body != nil {
			r.Body.Close()
		}
		b := &trackedBody{Reader: strings.NewReader("x")}
		bodies = append(bodies, b)
		st := 200
		h := http.Header{}
		if r.Header.Get("Authorization") != "Bearer good" {
			st = 401
			h.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		}
		return &http.Response{StatusCode: st, Header: h, Body: b, Request: r}, nil
	})
	t.Run("retried", func(t *testing.T) {
		bodies = nil
		tr, _ := middleware.NewTransport(&rotatingSource{Tokens: []string{"old", "good"}}, func(o *middleware.TransportOptions) { o.Base = base })
		req, _ := http.NewRequest("PUT", "https://api.bank.example/", strings.NewReader("payload"))
		resp, err := tr.RoundTrip(req)
		if err != nil || resp.StatusCode != 200 || len(bodies) != 2 {
			t.Fatalf("%v %v, %d answers", resp, err, len(bodies))
		}
		if !bodies[0].closed.Load() || bodies[1].closed.Load() {
			t.Error("the refused answer must be closed and the final one left to the caller")
		}
	})
	t.Run("GetBody fails", func(t *testing.T) {
		bodies = nil
		tr, _ := middleware.NewTransport(&rotatingSource{Tokens: []string{"old", "good"}}, func(o *middleware.TransportOptions) { o.Base = base })
		req, _ := http.NewRequest("PUT", "https://api.bank.example/", strings.NewReader("payload"))
		req.GetBody = func() (io.ReadCloser, error) { return nil, errors.New("gone") }
		resp, err := tr.RoundTrip(req)
		if err != nil || resp.StatusCode != 401 || len(bodies) != 1 || bodies[0].closed.Load() {
			t.Fatalf("%v %v, %d answers", resp, err, len(bodies))
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// The client sentinels carry a reason class, as every idbridge error does.
func TestClientErrorClasses(t *testing.T) {
	if got := idbridge.ReasonOf(middleware.ErrInsecureTransport); got != idbridge.ReasonForbidden {
		t.Errorf("ErrInsecureTransport class %q", got)
	}
	if got := idbridge.ReasonOf(middleware.ErrNoAccessToken); got != idbridge.ReasonMalformed {
		t.Errorf("ErrNoAccessToken class %q", got)
	}
	if _, err := middleware.NewTransport(nil); idbridge.ReasonOf(err) != idbridge.ReasonInvalidOptions {
		t.Errorf("NewTransport(nil) class %q", idbridge.ReasonOf(err))
	}
}

// TestTransportRequestWithoutURL: a request with no URL, which only a
// direct RoundTrip call can make, is refused by the base transport and
// asks the source for nothing.
func TestTransportRequestWithoutURL(t *testing.T) {
	src := &countingSource{}
	tr, err := middleware.NewTransport(src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.RoundTrip(&http.Request{Method: http.MethodGet, Header: http.Header{}}); err == nil {
		t.Fatal("a request without URL was sent")
	}
	if n := src.Calls.Load(); n != 0 {
		t.Errorf("%d tokens asked for a request without URL", n)
	}
}
