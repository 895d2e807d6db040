package grpcauth_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/middleware/grpcauth"
	"github.com/idbridge/idbridge/token"
)

func TestPerRPCCredentials(t *testing.T) {
	e := newEnv(t)
	g := newServer(t, e.Guard(t), func(o *grpcauth.ServerOptions) {
		o.Methods = map[string][]middleware.Requirement{"/test.Echo/Echo": {middleware.Require("loan:read")}}
	})
	serverTLS, clientTLS := testTLS(t)
	lis := startGRPC(t, g, serverTLS)
	tok := e.Mint(map[string]any{"groups": []string{groupRM}})
	src := &countingSource{Tok: &token.Token{AccessToken: tok}}
	creds, err := grpcauth.NewPerRPCCredentials(src)
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
		// An in-memory connection is no loopback address: the call is
		// refused before a token is fetched.
		plain := startGRPC(t, g, nil)
		before := src.Calls.Load()
		cc := dial(t, plain, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(creds))
		err := cc.Invoke(ctx, "/test.Echo/Echo", wrapperspb.String("hi"), new(wrapperspb.StringValue))
		if status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), middleware.ErrInsecureTransport.Error()) {
			t.Fatalf("plaintext call: %v, want Unauthenticated for an insecure transport", err)
		}
		if src.Calls.Load() != before {
			t.Error("a token was fetched for a plaintext connection")
		}
	})
	t.Run("no security info", func(t *testing.T) {
		if _, err := creds.GetRequestMetadata(ctx); !errors.Is(err, middleware.ErrInsecureTransport) {
			t.Fatalf("GetRequestMetadata without connection info: %v", err)
		}
	})
	t.Run("source fails", func(t *testing.T) {
		bad, _ := grpcauth.NewPerRPCCredentials(&countingSource{Err: fmt.Errorf("%w: down", token.ErrIdPUnavailable)})
		cc := dial(t, lis, grpc.WithTransportCredentials(clientTLS), grpc.WithPerRPCCredentials(bad))
		err := cc.Invoke(ctx, "/test.Echo/Echo", wrapperspb.String("hi"), new(wrapperspb.StringValue))
		if status.Code(err) != codes.Unauthenticated {
			t.Fatalf("%v, want Unauthenticated from the client", err)
		}
	})
}
