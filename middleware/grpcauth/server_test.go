package grpcauth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/middleware/grpcauth"
)

// echo is a tiny hand-written gRPC service (no protoc): Echo answers with
// the caller's subject, Unlisted has no requirement anywhere, and Chat is a
// bidirectional stream whose requirement the service declares itself.
type echo struct{}

func (echo) AuthRequirements(fullMethod string) ([]middleware.Requirement, bool) {
	if fullMethod == "/test.Echo/Chat" {
		return []middleware.Requirement{middleware.Require("loan:approve")}, true
	}
	return nil, false
}

func subjectOf(ctx context.Context) string {
	if p, ok := middleware.FromContext(ctx); ok {
		return p.Claims.Subject
	}
	return "anonymous"
}

func unaryHandler(method string) func(any, context.Context, func(any) error, grpc.UnaryServerInterceptor) (any, error) {
	return func(srv any, ctx context.Context, dec func(any) error, icpt grpc.UnaryServerInterceptor) (any, error) {
		in := new(wrapperspb.StringValue)
		if err := dec(in); err != nil {
			return nil, err
		}
		h := func(ctx context.Context, req any) (any, error) {
			return wrapperspb.String(req.(*wrapperspb.StringValue).Value + " " + subjectOf(ctx)), nil
		}
		if icpt == nil {
			return h(ctx, in)
		}
		return icpt(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: method}, h)
	}
}

var echoDesc = grpc.ServiceDesc{
	ServiceName: "test.Echo",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{
		{MethodName: "Echo", Handler: unaryHandler("/test.Echo/Echo")},
		{MethodName: "Unlisted", Handler: unaryHandler("/test.Echo/Unlisted")},
	},
	Streams: []grpc.StreamDesc{{
		StreamName: "Chat", ServerStreams: true, ClientStreams: true,
		Handler: func(_ any, ss grpc.ServerStream) error {
			for {
				in := new(wrapperspb.StringValue)
				if err := ss.RecvMsg(in); err != nil {
					if errors.Is(err, io.EOF) {
						return nil
					}
					return err
				}
				if err := ss.SendMsg(wrapperspb.String(in.Value + " " + subjectOf(ss.Context()))); err != nil {
					return err
				}
			}
		},
	}},
}

// startGRPC serves echo and the health service through g on an in-memory
// listener; creds nil means plaintext.
func startGRPC(t *testing.T, g *grpcauth.Server, creds credentials.TransportCredentials) *bufconn.Listener {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	opts := []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(g.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(g.StreamServerInterceptor()),
	}
	if creds != nil {
		opts = append(opts, grpc.Creds(creds))
	}
	s := grpc.NewServer(opts...)
	s.RegisterService(&echoDesc, echo{})
	healthpb.RegisterHealthServer(s, health.NewServer())
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	return lis
}

func dial(t *testing.T, lis *bufconn.Listener, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	opts = append([]grpc.DialOption{grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
		return lis.DialContext(ctx)
	})}, opts...)
	cc, err := grpc.NewClient("passthrough:///bufnet", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

func TestGRPC(t *testing.T) {
	e := newEnv(t)
	g := newServer(t, e.Guard(t), func(o *grpcauth.ServerOptions) {
		o.Methods = map[string][]middleware.Requirement{
			"/test.Echo/Echo":              {middleware.Require("loan:read")},
			"/grpc.health.v1.Health/Check": {middleware.SkipAuth()},
			"/grpc.health.v1.Health/*":     {middleware.Authenticated()},
		}
	})
	cc := dial(t, startGRPC(t, g, nil), grpc.WithTransportCredentials(insecure.NewCredentials()))
	rm := e.Mint(map[string]any{"groups": []string{groupRM}})
	nobody := e.Mint(nil)
	approverNoMFA := e.Mint(map[string]any{"groups": []string{groupApprover}, "xms_cc": []string{"cp1"}})
	approver := e.Mint(map[string]any{"groups": []string{groupApprover}, "amr": []string{"mfa"}})

	call := func(ctx context.Context, method string) (string, metadata.MD, error) {
		var hdr metadata.MD
		switch method {
		case "check":
			_, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{}, grpc.Header(&hdr))
			return "SERVING", hdr, err
		case "watch":
			st, err := healthpb.NewHealthClient(cc).Watch(ctx, &healthpb.HealthCheckRequest{})
			if err != nil {
				return "", nil, err
			}
			resp, err := st.Recv()
			hdr, _ = st.Header()
			if err != nil {
				return "", hdr, err
			}
			return resp.Status.String(), hdr, nil
		case "chat":
			st, err := cc.NewStream(ctx, &echoDesc.Streams[0], "/test.Echo/Chat")
			if err != nil {
				return "", nil, err
			}
			if err := st.SendMsg(wrapperspb.String("hi")); err != nil && !errors.Is(err, io.EOF) {
				return "", nil, err
			}
			out := new(wrapperspb.StringValue)
			err = st.RecvMsg(out)
			hdr, _ = st.Header()
			return out.Value, hdr, err
		default:
			out := new(wrapperspb.StringValue)
			err := cc.Invoke(ctx, "/test.Echo/"+method, wrapperspb.String("hi"), out, grpc.Header(&hdr))
			return out.Value, hdr, err
		}
	}

	tests := []struct {
		name      string
		method    string
		md        []string // authorization values
		code      codes.Code
		msg       string
		reply     string
		challenge string // substring of www-authenticate
	}{
		{"no token", "Echo", nil, codes.Unauthenticated, "unauthorized", "", `Bearer realm="lending"`},
		{"malformed token", "Echo", []string{"Bearer x.y.z"}, codes.Unauthenticated, "invalid_token: malformed", "", `error="invalid_token"`},
		{"two tokens", "Echo", []string{"Bearer " + rm, "Bearer " + rm}, codes.Unauthenticated, "invalid_request: malformed", "", `error="invalid_request"`},
		{"granted", "Echo", []string{"Bearer " + rm}, codes.OK, "", "hi u1", ""},
		{"lower-case scheme", "Echo", []string{"bearer " + rm}, codes.OK, "", "hi u1", ""},
		{"permission denied", "Echo", []string{"Bearer " + nobody}, codes.PermissionDenied, "insufficient_scope: insufficient_role", "", `error_description="insufficient_role"`},
		{"unlisted method is denied", "Unlisted", []string{"Bearer " + rm}, codes.PermissionDenied, "insufficient_scope: forbidden", "", ""},
		{"public health check", "check", nil, codes.OK, "", "SERVING", ""},
		{"stream without token", "watch", nil, codes.Unauthenticated, "unauthorized", "", `Bearer realm="lending"`},
		{"stream with token", "watch", []string{"Bearer " + nobody}, codes.OK, "", "SERVING", ""},
		{"service override denies", "chat", []string{"Bearer " + rm}, codes.PermissionDenied, "insufficient_scope: insufficient_role", "", ""},
		{"service override asks for step-up", "chat", []string{"Bearer " + approverNoMFA}, codes.Unauthenticated, "insufficient_claims: step_up_required", "", `claims="`},
		{"stream context carries the principal", "chat", []string{"Bearer " + approver}, codes.OK, "", "hi u1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for _, v := range tt.md {
				ctx = metadata.AppendToOutgoingContext(ctx, "authorization", v)
			}
			reply, hdr, err := call(ctx, tt.method)
			st, _ := status.FromError(err)
			if st.Code() != tt.code || (tt.code != codes.OK && st.Message() != tt.msg) {
				t.Fatalf("status %v %q, want %v %q", st.Code(), st.Message(), tt.code, tt.msg)
			}
			if tt.code == codes.OK && reply != tt.reply {
				t.Errorf("reply %q, want %q", reply, tt.reply)
			}
			if ch := strings.Join(hdr.Get("www-authenticate"), ""); !strings.Contains(ch, tt.challenge) {
				t.Errorf("www-authenticate %q does not contain %q", ch, tt.challenge)
			}
			if strings.Contains(err2s(err), rm[:40]) {
				t.Fatal("token in the status message")
			}
		})
	}
}

func err2s(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// testTLS returns server and client TLS credentials for a fresh
// self-signed certificate.
func testTLS(t *testing.T) (server, client credentials.TransportCredentials) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "bufnet"},
		DNSNames:     []string{"bufnet"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = credentials.NewServerTLSFromCert(&tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key})
	client = credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: "bufnet"})
	return server, client
}

func TestConstructorsRefuse(t *testing.T) {
	e := newEnv(t)
	g := e.Guard(t)
	tests := []struct {
		name string
		g    *middleware.Guard
		fn   func(*grpcauth.ServerOptions)
	}{
		{"nil guard", nil, nil},
		{"method key", g, func(o *grpcauth.ServerOptions) {
			o.Methods = map[string][]middleware.Requirement{"Svc/M": {middleware.Authenticated()}}
		}},
		{"empty method list", g, func(o *grpcauth.ServerOptions) {
			o.Methods = map[string][]middleware.Requirement{"/pkg.Svc/M": {}}
		}},
		{"method needs policy", e.Guard(t, func(o *middleware.Options) { o.Policy = nil }), func(o *grpcauth.ServerOptions) {
			o.Methods = map[string][]middleware.Requirement{"/pkg.Svc/M": {middleware.Require("x")}}
		}},
		{"nil watcher", g, func(o *grpcauth.ServerOptions) { o.StreamWatchers = []grpcauth.StreamWatcher{nil} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := grpcauth.NewServer(tt.g, tt.fn)
			if !errors.Is(err, idbridge.ErrInvalidOptions) || s != nil {
				t.Fatalf("NewServer = %v, %v; want ErrInvalidOptions", s, err)
			}
		})
	}
	if _, err := grpcauth.NewPerRPCCredentials(nil); !errors.Is(err, idbridge.ErrInvalidOptions) {
		t.Errorf("nil source: %v", err)
	}
}
