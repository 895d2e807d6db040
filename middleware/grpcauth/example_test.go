package grpcauth_test

import (
	"context"
	"fmt"
	"net"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/idbridge/idbridge/jwks/jwkstest"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/middleware/grpcauth"
)

// gRPC services are guarded by an interceptor pair; each method declares its
// requirements, and undeclared methods are denied.
func ExampleServer_UnaryServerInterceptor() {
	idp, v, policy := exampleSetup()
	defer idp.Close()
	defer v.Close()
	g, err := middleware.New(v, func(o *middleware.Options) { o.Policy = policy })
	if err != nil {
		fmt.Println(err)
		return
	}
	srv, err := grpcauth.NewServer(g, func(o *grpcauth.ServerOptions) {
		o.Methods = map[string][]middleware.Requirement{
			"/grpc.health.v1.Health/Check": {middleware.Require("loan:read")},
		}
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	lis := bufconn.Listen(1 << 16)
	s := grpc.NewServer(
		grpc.UnaryInterceptor(srv.UnaryServerInterceptor()),
		grpc.StreamInterceptor(srv.StreamServerInterceptor()),
	)
	healthpb.RegisterHealthServer(s, health.NewServer())
	go s.Serve(lis)
	defer s.Stop()

	// In production: grpc.WithPerRPCCredentials(grpcauth.NewPerRPCCredentials(src))
	// over TLS. Here the metadata is set by hand on an in-memory connection.
	cc, _ := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	defer cc.Close()
	client := healthpb.NewHealthClient(cc)

	for _, groups := range [][]string{nil, {groupRM}} {
		tok := idp.Mint(map[string]any{"aud": jwkstest.APIClientID, "groups": groups})
		ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok)
		_, err := client.Check(ctx, &healthpb.HealthCheckRequest{})
		fmt.Println(strings.TrimSpace(fmt.Sprint(status.Code(err), " ", status.Convert(err).Message())))
	}
	_, err = client.Check(context.Background(), &healthpb.HealthCheckRequest{})
	fmt.Println(strings.TrimSpace(fmt.Sprint(status.Code(err), " ", status.Convert(err).Message())))
	// Output:
	// PermissionDenied insufficient_scope: insufficient_role
	// OK
	// Unauthenticated unauthorized
}
