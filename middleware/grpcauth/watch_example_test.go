package grpcauth_test

import (
	"context"
	"fmt"
	"net"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/jwks/jwkstest"
	"github.com/idbridge/idbridge/jwks/revocation"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/middleware/grpcauth"
	"github.com/idbridge/idbridge/token"
)

// A stream watcher ends the open streams of a user who is revoked while
// they run, as a revocation list does; the stream would otherwise last
// until the token expires. The client is the SDK's own, in plaintext to
// loopback.
func ExampleStreamWatcher() {
	idp, v, policy := exampleSetup()
	defer idp.Close()
	defer v.Close()

	var mu sync.Mutex
	open := map[string]map[*func(error)]bool{} // subject → its streams' end functions
	watcher := grpcauth.StreamWatcherFunc(func(_ context.Context, c *idbridge.Claims, end func(error)) func() {
		mu.Lock()
		defer mu.Unlock()
		if open[c.Subject] == nil {
			open[c.Subject] = map[*func(error)]bool{}
		}
		open[c.Subject][&end] = true
		return func() {
			mu.Lock()
			defer mu.Unlock()
			delete(open[c.Subject], &end)
		}
	})
	revoke := func(sub string) {
		mu.Lock()
		defer mu.Unlock()
		for end := range open[sub] {
			(*end)(revocation.ErrRevoked)
		}
	}

	g, err := middleware.New(v, func(o *middleware.Options) {
		o.Policy = policy
		o.Default = []middleware.Requirement{middleware.Require("loan:read")}
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv, err := grpcauth.NewServer(g, func(o *grpcauth.ServerOptions) {
		o.StreamWatchers = []grpcauth.StreamWatcher{watcher}
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	s := grpc.NewServer(grpc.StreamInterceptor(srv.StreamServerInterceptor()))
	healthpb.RegisterHealthServer(s, health.NewServer())
	go s.Serve(lis)
	defer s.Stop()

	tok := idp.Mint(map[string]any{"aud": jwkstest.APIClientID, "sub": "amit", "scp": "Loans.Read", "groups": []string{groupRM}})
	creds, _ := grpcauth.NewPerRPCCredentials(token.SourceFunc(func(context.Context) (*token.Token, error) {
		return &token.Token{AccessToken: tok, TokenType: "Bearer"}, nil
	}))
	cc, _ := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(creds))
	defer cc.Close()

	st, err := healthpb.NewHealthClient(cc).Watch(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := st.Recv()
	fmt.Println(m.GetStatus(), err)
	revoke("amit")
	_, err = st.Recv()
	fmt.Println(status.Code(err), status.Convert(err).Message())
	// Output:
	// SERVING <nil>
	// Unauthenticated invalid_token: revoked
}
