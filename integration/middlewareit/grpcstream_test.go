package middlewareit

import (
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/idbridge/idbridge/integration/idp"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/middleware/grpcauth"
)

// serveHealth serves grpc-go's own health service through s's guard over
// TLS on loopback and returns a dialer of clients with the given
// credentials and their retrying interceptors.
func serveHealth(t *testing.T, s *stack) func(*grpcauth.PerRPCCredentials) healthpb.HealthClient {
	t.Helper()
	serverTLS, clientTLS := selfSignedTLS(t)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.Creds(serverTLS),
		grpc.UnaryInterceptor(s.grpc.UnaryServerInterceptor()),
		grpc.StreamInterceptor(s.grpc.StreamServerInterceptor()))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return func(creds *grpcauth.PerRPCCredentials) healthpb.HealthClient {
		cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(clientTLS), grpc.WithPerRPCCredentials(creds),
			grpc.WithChainUnaryInterceptor(creds.UnaryClientInterceptor()),
			grpc.WithChainStreamInterceptor(creds.StreamClientInterceptor()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cc.Close() })
		return healthpb.NewHealthClient(cc)
	}
}

var healthReqs = map[string][]middleware.Requirement{"/grpc.health.v1.Health/*": {middleware.Require("reports:read")}}

// A health Watch stream (grpc-go's handler, which waits on its context)
// opened with the provider's token ends with Unauthenticated when that
// token expires, plus the validator's leeway; the messages before are
// served. The guard's clock runs ahead so the token has two seconds left.
func TestGRPCStreamEndsWithToken(t *testing.T) {
	var ahead atomic.Int64
	s := newStackWith(t, healthReqs, func(o *middleware.Options) {
		o.Now = func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	})
	cache := analyticsSource(t, s.p)
	creds, err := grpcauth.NewPerRPCCredentials(cache)
	if err != nil {
		t.Fatal(err)
	}
	client := serveHealth(t, s)(creds)
	ctx := testContext(t)
	tok, err := cache.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The JWT's exp is whole seconds at or after the response's expiry.
	ahead.Store(int64(time.Until(tok.Expiry.Add(jwks.DefaultLeeway)) - 2*time.Second))

	var trailer metadata.MD
	st, err := client.Watch(ctx, &healthpb.HealthCheckRequest{}, grpc.Trailer(&trailer))
	if err != nil {
		t.Fatal(err)
	}
	if m, err := st.Recv(); err != nil || m.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("first Watch message: %v %v", m, err)
	}
	_, err = st.Recv()
	if status.Code(err) != codes.Unauthenticated || status.Convert(err).Message() != "invalid_token: expired" {
		t.Fatalf("Watch ended with %v, want Unauthenticated invalid_token: expired", err)
	}
	if got := strings.Join(trailer.Get("www-authenticate"), ";"); !strings.Contains(got, `error="invalid_token", error_description="expired"`) {
		t.Errorf("www-authenticate trailer %q", got)
	}
}

// A hard key rotation makes the API refuse the daemon's cached token
// (unknown_key, error="invalid_token"); the client interceptors drop it
// from the token.Cache, get a new one from the provider and call again,
// once, for a unary call and for a server stream.
func TestGRPCClientRenewsRefusedToken(t *testing.T) {
	for _, call := range []string{"Check", "Watch"} {
		t.Run(call, func(t *testing.T) {
			clk := &clock{}
			clk.ns.Store(time.Now().UnixNano())
			s := newStack(t, healthReqs, func(o *jwks.Options) { o.Now = clk.Now })
			creds, err := grpcauth.NewPerRPCCredentials(analyticsSource(t, s.p))
			if err != nil {
				t.Fatal(err)
			}
			dial := serveHealth(t, s)
			client := dial(creds)
			ctx := testContext(t)
			do := func(c healthpb.HealthClient) error {
				if call == "Check" {
					_, err := c.Check(ctx, &healthpb.HealthCheckRequest{})
					return err
				}
				st, err := c.Watch(ctx, &healthpb.HealthCheckRequest{})
				if err == nil {
					_, err = st.Recv()
				}
				return err
			}
			if err := do(client); err != nil {
				t.Fatalf("before rotation: %v", err)
			}
			if _, err := s.p.RotateKey(true); err != nil {
				t.Fatal(err)
			}
			// Another instance's new token makes the API fetch the new key
			// set, in which the old key is gone.
			fresh, _ := grpcauth.NewPerRPCCredentials(analyticsSource(t, s.p), func(o *grpcauth.PerRPCOptions) { o.DisableRetry = true })
			clk.Advance(jwks.DefaultUnknownKIDInterval + time.Second)
			if err := do(dial(fresh)); err != nil {
				t.Fatalf("new token after rotation: %v", err)
			}
			before := s.p.Requests(idp.EndpointToken)
			if err := do(client); err != nil {
				t.Fatalf("cached token after rotation: %v, want success after one renewal", err)
			}
			if n := s.p.Requests(idp.EndpointToken) - before; n != 1 {
				t.Errorf("%d token requests, want 1", n)
			}
		})
	}
}
