package middleware_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

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
	g := e.Guard(b, fns...)
	h := g.Handler(noop, reqs...)
	r := httptest.NewRequest("GET", "/loans/1", nil)
	r.Header.Set("Authorization", "Bearer "+e.Mint(map[string]any{"groups": []string{groupRM}, "scp": "Loans.Read"}))
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
