package middleware_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/token"
)

// discardWriter is a ResponseWriter that costs nothing.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

var noop = http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})

// benchGuard returns a guarded handler and a request whose token the
// validator has already cached: the steady state of a busy API.
func benchGuard(b *testing.B, reqs []middleware.Requirement, fns ...func(*middleware.Options)) (http.Handler, *http.Request) {
	e := newEnv(b)
	g := e.guard(b, fns...)
	h := g.Handler(noop, reqs...)
	r := httptest.NewRequest("GET", "/loans/1", nil)
	r.Header.Set("Authorization", "Bearer "+e.mint(map[string]any{"groups": []string{groupRM}, "scp": "Loans.Read"}))
	w := &discardWriter{h: http.Header{}}
	h.ServeHTTP(w, r) // warm the key set and the token cache
	if len(w.h) != 0 {
		b.Fatalf("warm-up request rejected: %v", w.h)
	}
	return h, r
}

// BenchmarkGuard is the hot path: extract, cached validation, policy
// decision, requirement, principal in context.
func BenchmarkGuard(b *testing.B) {
	for _, bc := range []struct {
		name string
		reqs []middleware.Requirement
	}{
		{"Authenticated", []middleware.Requirement{middleware.Authenticated()}},
		{"Require", []middleware.Requirement{middleware.Require("loan:read")}},
		{"RequireScope+Role", []middleware.Requirement{middleware.RequireScope("Loans.Read"), middleware.RequireRole("LoanViewer")}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h, r := benchGuard(b, bc.reqs)
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, r)
			}
		})
	}
}

func BenchmarkGuardParallel(b *testing.B) {
	h, r := benchGuard(b, []middleware.Requirement{middleware.Require("loan:read")})
	b.ReportAllocs()
	b.ResetTimer() // RunParallel, unlike b.Loop, would count the IdP's start-up
	b.RunParallel(func(pb *testing.PB) {
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			h.ServeHTTP(w, r)
		}
	})
}

// BenchmarkGuardAudit adds two JSON audit events per request.
func BenchmarkGuardAudit(b *testing.B) {
	h, r := benchGuard(b, []middleware.Requirement{middleware.Require("loan:read")}, func(o *middleware.Options) {
		o.Audit = slog.NewJSONHandler(io.Discard, nil)
	})
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}

// BenchmarkGuardRejectNoToken is what a flood of anonymous requests costs.
func BenchmarkGuardRejectNoToken(b *testing.B) {
	h, _ := benchGuard(b, []middleware.Requirement{middleware.Require("loan:read")})
	r := httptest.NewRequest("GET", "/loans/1", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := &discardWriter{h: http.Header{}}
		h.ServeHTTP(w, r)
	}
}

func BenchmarkUnaryServerInterceptor(b *testing.B) {
	e := newEnv(b)
	g := e.guard(b, func(o *middleware.Options) {
		o.Methods = map[string][]middleware.Requirement{"/test.Echo/Echo": {middleware.Require("loan:read")}}
	})
	icpt := g.UnaryServerInterceptor()
	tok := e.mint(map[string]any{"groups": []string{groupRM}})
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+tok))
	info := &grpc.UnaryServerInfo{FullMethod: "/test.Echo/Echo"}
	handler := func(context.Context, any) (any, error) { return nil, nil }
	if _, err := icpt(ctx, nil, info, handler); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_, _ = icpt(ctx, nil, info, handler)
	}
}

func BenchmarkTransport(b *testing.B) {
	tok := &token.Token{AccessToken: secretToken, TokenType: "Bearer"}
	t, err := middleware.NewTransport(token.SourceFunc(func(context.Context) (*token.Token, error) { return tok, nil }),
		func(o *middleware.TransportOptions) { o.Base = &capture{} })
	if err != nil {
		b.Fatal(err)
	}
	r, _ := http.NewRequest("GET", "https://api.bank.example/loans", nil)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = t.RoundTrip(r)
	}
}

// BenchmarkStreamServerInterceptor measures a stream's admission and
// set-up, with the expiry watch (a timer, no goroutine) and without.
func BenchmarkStreamServerInterceptor(b *testing.B) {
	v := stubValidator{c: &jwks.Claims{Subject: "s", ExpiresAt: time.Now().Add(time.Hour)}}
	handler := func(any, grpc.ServerStream) error { return nil }
	for _, off := range []bool{false, true} {
		name := "expiry"
		if off {
			name = "off"
		}
		b.Run(name, func(b *testing.B) {
			g, err := middleware.New(v, func(o *middleware.Options) {
				o.Default = []middleware.Requirement{middleware.Authenticated()}
				o.DisableStreamExpiry = off
			})
			if err != nil {
				b.Fatal(err)
			}
			icpt, fs := g.StreamServerInterceptor(), newFakeStream()
			b.ReportAllocs()
			for b.Loop() {
				_ = icpt(nil, fs, streamInfo, handler)
			}
		})
	}
}
