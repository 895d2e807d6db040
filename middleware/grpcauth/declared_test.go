package grpcauth_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/middleware/grpcauth"
)

// The gRPC side: ServerOptions.Methods are checked by NewServer and
// Options.Default by middleware.New; a service's own requirements, known
// only at the first call, fail closed.
func TestGRPCRefusesUndeclared(t *testing.T) {
	e := newEnv(t)
	_, err := grpcauth.NewServer(e.Guard(t), func(o *grpcauth.ServerOptions) {
		o.Methods = map[string][]middleware.Requirement{"/a.B/C": {middleware.Require("loan:reed")}}
	})
	if !errors.Is(err, idbridge.ErrInvalidOptions) || !strings.Contains(err.Error(), "which the policy does not declare") {
		t.Errorf("method: NewServer = %v, want ErrInvalidOptions naming the undeclared name", err)
	}
	_, err = middleware.New(e.V, func(o *middleware.Options) {
		o.Policy = e.Policy
		o.Default = []middleware.Requirement{middleware.RequireRole("LoanViewr")}
	})
	if !errors.Is(err, idbridge.ErrInvalidOptions) || !strings.Contains(err.Error(), "which the policy does not declare") {
		t.Errorf("default: New = %v, want ErrInvalidOptions naming the undeclared name", err)
	}

	icpt := newServer(t, e.Guard(t)).UnaryServerInterceptor()
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+e.Mint(map[string]any{"groups": []string{groupRM}})))
	_, err = icpt(ctx, nil, &grpc.UnaryServerInfo{Server: &overrideTypo{}, FullMethod: "/a.B/C"},
		func(context.Context, any) (any, error) { return nil, nil })
	if status.Code(err) != codes.Internal {
		t.Fatalf("override naming an undeclared permission: %v, want Internal", err)
	}
}

// CheckService finds, at start, what the service's own requirements would
// fail at the first call.
func TestCheckService(t *testing.T) {
	e := newEnv(t)
	g := newServer(t, e.Guard(t), func(o *grpcauth.ServerOptions) {
		o.Methods = map[string][]middleware.Requirement{"/a.B/Listed": {middleware.Require("loan:read")}}
	})
	desc := &grpc.ServiceDesc{ServiceName: "a.B", Methods: []grpc.MethodDesc{{MethodName: "C"}, {MethodName: "Listed"}}, Streams: []grpc.StreamDesc{{StreamName: "D"}}}
	err := g.CheckService(desc, &overrideTypo{})
	if !errors.Is(err, middleware.ErrMisconfigured) || !strings.Contains(err.Error(), `/a.B/C: middleware: guard misconfigured: Require("loan:reed")`) ||
		!strings.Contains(err.Error(), "/a.B/D: ") || strings.Contains(err.Error(), "Listed") {
		t.Errorf("CheckService = %v", err)
	}
	if err := g.CheckService(desc, struct{}{}); err != nil {
		t.Errorf("CheckService of a service without its own requirements: %v", err)
	}
}

type overrideTypo struct{}

func (*overrideTypo) AuthRequirements(method string) ([]middleware.Requirement, bool) {
	if strings.HasSuffix(method, "/Listed") {
		return nil, false // Options.Methods applies
	}
	return []middleware.Requirement{middleware.Require("loan:reed")}, true
}
