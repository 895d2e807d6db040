package grpcauth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/reason"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/middleware/grpcauth"
)

func TestErrorClasses(t *testing.T) {
	ok := &idbridge.Claims{Subject: "s"}
	stepUp := reasonErr{reason.StepUpRequired}
	tests := []struct {
		name      string
		v         stubValidator
		req       middleware.Requirement
		status    int
		code      codes.Code
		challenge string
	}{
		{"validator error without class", stubValidator{Err: errors.New("boom")}, middleware.Authenticated(),
			401, codes.Unauthenticated, `Bearer error="invalid_token"`},
		{"validator cancelled", stubValidator{Err: fmt.Errorf("fetch: %w", context.Canceled)}, middleware.Authenticated(),
			503, codes.Canceled, ""},
		// Shut down, not judged: at 7ac0e62 a closed jwks validator (no
		// class) got 401 invalid_token and a closed Introspector 503; one
		// ErrClosed gets 503 (see middleware's TestClosedValidatorWire).
		{"validator closed", stubValidator{Err: idbridge.ErrClosed}, middleware.Authenticated(),
			503, codes.Unavailable, ""},
		{"key set unavailable", stubValidator{Err: jwks.ErrUnavailable}, middleware.Authenticated(),
			503, codes.Unavailable, ""},
		{"custom step-up", stubValidator{C: ok}, middleware.RequireFunc("acr", func(context.Context, *middleware.Principal) error { return stepUp }),
			401, codes.Unauthenticated, `Bearer error="insufficient_user_authentication", error_description="step_up_required"`},
		{"custom step-up, CAE client", stubValidator{C: &idbridge.Claims{Subject: "s", ClientCapabilities: []string{"cp1"}}},
			middleware.RequireFunc("acr", func(context.Context, *middleware.Principal) error { return stepUp }),
			401, codes.Unauthenticated, `Bearer error="insufficient_claims", error_description="step_up_required", claims="`},
		// A validator that returns neither claims nor an error must not
		// admit anyone (nor crash the guard or its audit).
		{"validator returns nothing", stubValidator{}, middleware.Authenticated(),
			401, codes.Unauthenticated, `Bearer error="invalid_token"`},
		{"custom unavailable", stubValidator{C: ok}, middleware.RequireFunc("dep", func(context.Context, *middleware.Principal) error {
			return reasonErr{reason.IdPUnavailable}
		}), 503, codes.Unavailable, ""},
		{"custom deadline", stubValidator{C: ok}, middleware.RequireFunc("dep", func(context.Context, *middleware.Principal) error {
			return context.DeadlineExceeded
		}), 503, codes.DeadlineExceeded, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := middleware.New(tt.v, func(o *middleware.Options) {
				o.Default = []middleware.Requirement{tt.req}
			})
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer abc")
			w := httptest.NewRecorder()
			g.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(w, r)
			if w.Code != tt.status || !hasPrefix(w.Header().Get("WWW-Authenticate"), tt.challenge) {
				t.Errorf("HTTP %d %q, want %d %q", w.Code, w.Header().Get("WWW-Authenticate"), tt.status, tt.challenge)
			}
			ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer abc"))
			_, err = newServer(t, g).UnaryServerInterceptor()(ctx, nil, &grpc.UnaryServerInfo{FullMethod: "/s.S/M"},
				func(context.Context, any) (any, error) { return nil, nil })
			if status.Code(err) != tt.code {
				t.Errorf("gRPC %v, want %v", err, tt.code)
			}
		})
	}
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

type reasonErr struct{ class idbridge.Reason }

func (e reasonErr) Error() string { return "custom: " + string(e.class) }

func (e reasonErr) Reason() idbridge.Reason { return e.class }

// overrideSvc declares requirements for its methods and counts the asks.
type overrideSvc struct{ asked atomic.Int32 }

func (s *overrideSvc) AuthRequirements(fullMethod string) ([]middleware.Requirement, bool) {
	s.asked.Add(1)
	switch fullMethod {
	case "/s.S/Open":
		return []middleware.Requirement{middleware.SkipAuth()}, true
	case "/s.S/Empty":
		return nil, true
	}
	return nil, false
}

func TestMethodRequirementsOverride(t *testing.T) {
	rec := &recorder{}
	g, err := middleware.New(stubValidator{C: &idbridge.Claims{Subject: "s"}}, func(o *middleware.Options) {
		o.Audit = rec
	})
	if err != nil {
		t.Fatal(err)
	}
	svc := &overrideSvc{}
	icpt := newServer(t, g, func(o *grpcauth.ServerOptions) {
		o.Methods = map[string][]middleware.Requirement{
			"/s.S/*":     {middleware.Authenticated()},
			"/s.S/Empty": {middleware.Authenticated()},
		}
	}).UnaryServerInterceptor()
	handler := func(ctx context.Context, _ any) (any, error) { return subjectOf(ctx), nil }
	ctx := peer.NewContext(context.Background(), &peer.Peer{Addr: addr("192.0.2.9:5000")})
	tests := []struct {
		method string
		token  bool
		code   codes.Code
		reply  string
	}{
		{"/s.S/Open", false, codes.OK, "anonymous"},
		{"/s.S/Open", false, codes.OK, "anonymous"},
		{"/s.S/Empty", true, codes.PermissionDenied, ""}, // the service's empty answer denies
		{"/s.S/Other", true, codes.OK, "s"},              // the service has no opinion: wildcard
		{"/s.S/Other", false, codes.Unauthenticated, ""},
	}
	for _, tt := range tests {
		c := ctx
		if tt.token {
			c = metadata.NewIncomingContext(ctx, metadata.Pairs("authorization", "Bearer abc"))
		}
		reply, err := icpt(c, nil, &grpc.UnaryServerInfo{Server: svc, FullMethod: tt.method}, handler)
		if status.Code(err) != tt.code || tt.code == codes.OK && reply != tt.reply {
			t.Errorf("%s: %v %v, want %v %q", tt.method, reply, err, tt.code, tt.reply)
		}
	}
	if n := svc.asked.Load(); n != 4 { // Open once (cached), Empty once, Other twice (not answered, so not cached)
		t.Errorf("service asked %d times, want 4", n)
	}
	for _, ev := range rec.All() {
		if ev["method"] == nil || ev["remote_addr"] != "192.0.2.9:5000" || ev["route"] != nil {
			t.Errorf("gRPC event without method or remote_addr: %v", ev)
		}
	}
	if len(rec.All()) == 0 {
		t.Error("no audit events")
	}
}

type addr string

func (a addr) Network() string { return "tcp" }

func (a addr) String() string { return string(a) }
