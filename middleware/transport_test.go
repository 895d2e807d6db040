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

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/token"
)

// countingSource hands out a fixed token and counts calls.
type countingSource struct {
	tok   *token.Token
	err   error
	calls atomic.Int32
}

func (s *countingSource) Token(context.Context) (*token.Token, error) {
	s.calls.Add(1)
	return s.tok, s.err
}

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
		{"attaches", "https://api.bank.example/loans", "", &countingSource{tok: good}, nil, "Bearer " + secretToken, nil, 1},
		{"loopback http", "http://127.0.0.1:8080/x", "", &countingSource{tok: good}, nil, "Bearer " + secretToken, nil, 1},
		{"localhost http", "http://localhost/x", "", &countingSource{tok: good}, nil, "Bearer " + secretToken, nil, 1},
		{"caller's header wins", "https://api.bank.example/", "Basic dTpw", &countingSource{tok: good}, nil, "Basic dTpw", nil, 0},
		{"listed host", "https://api.bank.example:8443/", "", &countingSource{tok: good},
			func(o *middleware.TransportOptions) { o.Hosts = []string{"API.bank.example:8443"} }, "Bearer " + secretToken, nil, 1},
		{"listed hostname", "https://api.bank.example:8443/", "", &countingSource{tok: good},
			func(o *middleware.TransportOptions) { o.Hosts = []string{"api.bank.example"} }, "Bearer " + secretToken, nil, 1},
		{"other host gets no token", "https://cdn.example/", "", &countingSource{tok: good},
			func(o *middleware.TransportOptions) { o.Hosts = []string{"api.bank.example"} }, "", nil, 0},
		{"cleartext refused", "http://api.bank.example/", "", &countingSource{tok: good}, nil, "-", middleware.ErrInsecureTransport, 0},
		{"cleartext allowed", "http://api.bank.example/", "", &countingSource{tok: good},
			func(o *middleware.TransportOptions) { o.InsecureAllowHTTP = true }, "Bearer " + secretToken, nil, 1},
		{"source fails", "https://api.bank.example/", "", &countingSource{err: fmt.Errorf("%w: down", token.ErrIdPUnavailable)}, nil, "-", token.ErrIdPUnavailable, 1},
		{"empty token", "https://api.bank.example/", "", &countingSource{tok: &token.Token{}}, nil, "-", middleware.ErrNoAccessToken, 1},
		{"nil token", "https://api.bank.example/", "", &countingSource{}, nil, "-", middleware.ErrNoAccessToken, 1},
		{"not a bearer token", "https://api.bank.example/", "", &countingSource{tok: &token.Token{AccessToken: secretToken, TokenType: "DPoP"}}, nil, "-", middleware.ErrNoAccessToken, 1},
		{"token with a newline", "https://api.bank.example/", "", &countingSource{tok: &token.Token{AccessToken: "a\r\nX-Evil: 1"}}, nil, "-", middleware.ErrNoAccessToken, 1},
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
			if n := tt.src.calls.Load(); n != tt.wantCalls {
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
		if _, err := middleware.NewTransport(src, fn); !errors.Is(err, middleware.ErrInvalidOptions) {
			t.Errorf("%s: %v, want ErrInvalidOptions", name, err)
		}
	}
	if _, err := middleware.NewTransport(nil); !errors.Is(err, middleware.ErrInvalidOptions) {
		t.Errorf("nil source: %v", err)
	}
	if _, err := middleware.NewPerRPCCredentials(nil); !errors.Is(err, middleware.ErrInvalidOptions) {
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

	tr, err := middleware.NewTransport(&countingSource{tok: &token.Token{AccessToken: secretToken}}, func(o *middleware.TransportOptions) {
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
	g := e.guard(t)
	srv := httptest.NewServer(g.Handler(whoami, middleware.Require("loan:read")))
	t.Cleanup(srv.Close)
	tok := e.mint(map[string]any{"groups": []string{groupRM}})
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

func TestPerRPCCredentials(t *testing.T) {
	e := newEnv(t)
	g := e.guard(t, func(o *middleware.Options) {
		o.Methods = map[string][]middleware.Requirement{"/test.Echo/Echo": {middleware.Require("loan:read")}}
	})
	serverTLS, clientTLS := testTLS(t)
	lis := startGRPC(t, g, serverTLS)
	tok := e.mint(map[string]any{"groups": []string{groupRM}})
	src := &countingSource{tok: &token.Token{AccessToken: tok}}
	creds, err := middleware.NewPerRPCCredentials(src)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	t.Run("over TLS", func(t *testing.T) {
		cc := dial(t, lis, grpc.WithTransportCredentials(clientTLS), grpc.WithPerRPCCredentials(creds))
		out := new(wrapperspb.StringValue)
		if err := cc.Invoke(ctx, "/test.Echo/Echo", wrapperspb.String("hi"), out); err != nil {
			t.Fatal(err)
		}
		if out.Value != "hi u1" {
			t.Errorf("reply %q", out.Value)
		}
	})
	t.Run("plaintext refused", func(t *testing.T) {
		before := src.calls.Load()
		cc, err := grpc.NewClient("passthrough:///bufnet", grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(creds))
		if err == nil {
			cc.Close()
			t.Fatal("grpc accepted bearer credentials on a plaintext connection")
		}
		if src.calls.Load() != before {
			t.Error("a token was fetched for a plaintext connection")
		}
	})
	t.Run("no security info", func(t *testing.T) {
		if _, err := creds.GetRequestMetadata(ctx); !errors.Is(err, middleware.ErrInsecureTransport) {
			t.Fatalf("GetRequestMetadata without connection info: %v", err)
		}
	})
	t.Run("source fails", func(t *testing.T) {
		bad, _ := middleware.NewPerRPCCredentials(&countingSource{err: fmt.Errorf("%w: down", token.ErrIdPUnavailable)})
		cc := dial(t, lis, grpc.WithTransportCredentials(clientTLS), grpc.WithPerRPCCredentials(bad))
		err := cc.Invoke(ctx, "/test.Echo/Echo", wrapperspb.String("hi"), new(wrapperspb.StringValue))
		if status.Code(err) != codes.Unauthenticated {
			t.Fatalf("%v, want Unauthenticated from the client", err)
		}
	})
}
