package grpcauth_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/middleware/grpcauth"
)

func BenchmarkUnaryServerInterceptor(b *testing.B) {
	e := newEnv(b)
	s := newServer(b, e.Guard(b), func(o *grpcauth.ServerOptions) {
		o.Methods = map[string][]middleware.Requirement{"/test.Echo/Echo": {middleware.Require("loan:read")}}
	})
	icpt := s.UnaryServerInterceptor()
	tok := e.Mint(map[string]any{"groups": []string{groupRM}})
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+tok))
	for _, bc := range []struct {
		name string
		info *grpc.UnaryServerInfo
	}{
		{"Methods", &grpc.UnaryServerInfo{FullMethod: "/test.Echo/Echo"}},
		// The service's own requirements, compiled at the first call.
		{"MethodRequirements", &grpc.UnaryServerInfo{Server: viewerService{}, FullMethod: "/a.B/Own"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			handler := func(context.Context, any) (any, error) { return nil, nil }
			if _, err := icpt(ctx, nil, bc.info, handler); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				_, _ = icpt(ctx, nil, bc.info, handler)
			}
		})
	}
}

// BenchmarkStreamServerInterceptor measures a stream's admission and
// set-up, with the expiry watch (a timer, no goroutine) and without.
func BenchmarkStreamServerInterceptor(b *testing.B) {
	v := stubValidator{C: &idbridge.Claims{Subject: "s", ExpiresAt: time.Now().Add(time.Hour)}}
	handler := func(any, grpc.ServerStream) error { return nil }
	for _, off := range []bool{false, true} {
		name := "expiry"
		if off {
			name = "off"
		}
		b.Run(name, func(b *testing.B) {
			g, err := middleware.New(v, func(o *middleware.Options) {
				o.Default = []middleware.Requirement{middleware.Authenticated()}
			})
			if err != nil {
				b.Fatal(err)
			}
			s := newServer(b, g, func(o *grpcauth.ServerOptions) { o.DisableStreamExpiry = off })
			icpt, fs := s.StreamServerInterceptor(), newFakeStream()
			b.ReportAllocs()
			for b.Loop() {
				_ = icpt(nil, fs, streamInfo, handler)
			}
		})
	}
}
