package grpcauth_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/middleware/grpcauth"
	"github.com/idbridge/idbridge/middleware/internal/guardtest"
	"github.com/idbridge/idbridge/rbac"
)

// TestReloadThatBreaksMethodRefused: the gRPC side shares the guard's
// reload check: a policy update that would break a method listed in
// ServerOptions.Methods, or a service's own requirements once compiled at
// its first call, is refused and the working policy stays.
func TestReloadThatBreaksMethodRefused(t *testing.T) {
	e := newEnv(t)
	full := fmt.Sprintf(guardtest.PolicyYAML, e.IdP.Issuer())
	tests := []struct {
		name    string
		yaml    string
		message string // "" when the update is swapped in
	}{
		{"unchanged", full, ""},
		{"drops a listed method's permission",
			strings.Replace(full, "permissions: [loan:read, loan:approve]", "permissions: [loan:read]", 1),
			`Require("loan:approve") names permission "loan:approve"`},
		{"renames a service's own role", strings.ReplaceAll(full, "LoanViewer", "LoanReader"),
			`RequireRole("LoanViewer") names role "LoanViewer"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := rbac.ParsePolicy([]byte(full))
			if err != nil {
				t.Fatal(err)
			}
			s := newServer(t, e.Guard(t, func(o *middleware.Options) { o.Policy = p }), func(o *grpcauth.ServerOptions) {
				o.Methods = map[string][]middleware.Requirement{"/a.B/Listed": {middleware.Require("loan:approve")}}
			})
			// The service's own requirements are compiled at the first call.
			ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+e.Mint(map[string]any{"groups": []string{groupRM}})))
			if _, err := s.UnaryServerInterceptor()(ctx, nil, &grpc.UnaryServerInfo{Server: viewerService{}, FullMethod: "/a.B/Own"},
				func(context.Context, any) (any, error) { return nil, nil }); err != nil {
				t.Fatalf("first call: %v", err)
			}
			before := p.Version()
			err = p.Update(context.Background(), []byte(tt.yaml))
			runtime.KeepAlive(s) // a collected server (and guard) vetoes nothing
			if tt.message == "" {
				if err != nil {
					t.Fatalf("Update: %v", err)
				}
				return
			}
			if !errors.Is(err, middleware.ErrMisconfigured) || !strings.Contains(err.Error(), tt.message) || p.Version() != before {
				t.Fatalf("Update = %v (version %s, was %s), want ErrMisconfigured with %s and the old policy", err, p.Version(), before, tt.message)
			}
		})
	}
}

type viewerService struct{}

func (viewerService) AuthRequirements(method string) ([]middleware.Requirement, bool) {
	if strings.HasSuffix(method, "/Own") {
		return []middleware.Requirement{middleware.RequireRole("LoanViewer")}, true
	}
	return nil, false
}

// TestMethodFixedByReload: a service's own requirement that the policy
// does not declare at the method's first call fails that call (the
// misconfiguration answers, no caller is let through), and once a reload
// declares it the method works: the failed compilation is not kept for
// good.
func TestMethodFixedByReload(t *testing.T) {
	e := newEnv(t)
	full := fmt.Sprintf(guardtest.PolicyYAML, e.IdP.Issuer())
	p, err := rbac.ParsePolicy([]byte(strings.ReplaceAll(full, "LoanViewer", "LoanReader")))
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(t, e.Guard(t, func(o *middleware.Options) { o.Policy = p }))
	call := func() error {
		ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+e.Mint(map[string]any{"groups": []string{groupRM}})))
		_, err := s.UnaryServerInterceptor()(ctx, nil, &grpc.UnaryServerInfo{Server: viewerService{}, FullMethod: "/a.B/Own"},
			func(context.Context, any) (any, error) { return nil, nil })
		return err
	}
	if err := call(); err == nil {
		t.Fatal("call with the role undeclared succeeded")
	}
	if err := p.Update(context.Background(), []byte(full)); err != nil {
		t.Fatal(err)
	}
	if err := call(); err != nil {
		t.Fatalf("call after the reload that declares the role: %v", err)
	}
	// And from now on the requirement is checked at reloads.
	if err := p.Update(context.Background(), []byte(strings.ReplaceAll(full, "LoanViewer", "LoanReader"))); !errors.Is(err, middleware.ErrMisconfigured) {
		t.Fatalf("Update dropping the role = %v, want ErrMisconfigured", err)
	}
	runtime.KeepAlive(s) // a collected server (and guard) vetoes nothing
}
