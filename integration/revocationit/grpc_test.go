package revocationit

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/idbridge/idbridge/integration/redistest"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/jwkstest"
	"github.com/idbridge/idbridge/jwks/revocation"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/middleware/grpcauth"
	"github.com/idbridge/idbridge/token"
)

// A gRPC server of replica b, guarded with its revocation list: a stream
// Leo opened before he was revoked on replica a ends with Unauthenticated
// once the revocation arrives through Redis; new calls are refused;
// Amit's stream goes on.
func TestOpenStreamEndsOnRevocation(t *testing.T) {
	srv := redistest.Start(t)
	a, b := newReplica(t, srv), newReplica(t, srv)
	idp := jwkstest.Start(t)
	v, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: idp.Issuer(), JWKSURL: idp.JWKSURL()}}
		o.Audiences = []string{jwkstest.APIClientID}
		o.Algorithms = []string{"RS256"}
		o.HTTPClient = idp.Client()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	g, err := middleware.New(revocation.NewValidator(v, b), func(o *middleware.Options) {
		o.Default = []middleware.Requirement{middleware.Authenticated()}
	})
	if err != nil {
		t.Fatal(err)
	}
	gs, err := grpcauth.NewServer(g, func(o *grpcauth.ServerOptions) { o.StreamWatchers = []grpcauth.StreamWatcher{b} })
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer(grpc.StreamInterceptor(gs.StreamServerInterceptor()), grpc.UnaryInterceptor(gs.UnaryServerInterceptor()))
	healthpb.RegisterHealthServer(s, health.NewServer())
	go s.Serve(lis)
	t.Cleanup(s.Stop)

	client := func(oid string) healthpb.HealthClient {
		tok := idp.Mint(map[string]any{"aud": jwkstest.APIClientID, "tid": tid, "oid": oid, "sub": "pw-" + oid[:8], "scp": "Analytics.Read"})
		creds, err := grpcauth.NewPerRPCCredentials(token.SourceFunc(func(context.Context) (*token.Token, error) {
			return &token.Token{AccessToken: tok, TokenType: "Bearer"}, nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(creds))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cc.Close() })
		return healthpb.NewHealthClient(cc)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	leo, amit := client(leoOID), client(amitOID)
	open := func(hc healthpb.HealthClient) healthpb.Health_WatchClient {
		st, err := hc.Watch(ctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Recv(); err != nil { // SERVING: the stream is admitted and open
			t.Fatal(err)
		}
		return st
	}
	leoStream, amitStream := open(leo), open(amit)

	start := time.Now()
	must(t, a.Revoke(ctx, revocation.EntraUser(tid, leoOID)))
	_, err = leoStream.Recv()
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("Leo's stream ended with %v, want Unauthenticated", err)
	}
	t.Logf("Leo's open stream on replica b ended %v after the revocation on replica a: %v", time.Since(start), err)
	if _, err := leo.Check(ctx, &healthpb.HealthCheckRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("Leo's new unary call: %v", err)
	}
	if _, err := amit.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("Amit's unary call: %v", err)
	}
	// Amit's stream is still open: it ends only when we cancel it.
	cancel2 := make(chan error, 1)
	go func() { _, err := amitStream.Recv(); cancel2 <- err }()
	select {
	case err := <-cancel2:
		t.Fatalf("Amit's stream ended: %v", err)
	default:
	}
	cancel()
	if err := <-cancel2; status.Code(err) != codes.Canceled && !errors.Is(err, context.Canceled) {
		t.Fatalf("Amit's stream: %v", err)
	}
}
