package grpcauth_test

import (
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/middleware/grpcauth"
	"github.com/idbridge/idbridge/token"
)

// listDesc is a server-streaming service: List answers one request with
// two messages.
var listDesc = grpc.ServiceDesc{
	ServiceName: "test.List",
	HandlerType: (*any)(nil),
	Streams: []grpc.StreamDesc{{StreamName: "List", ServerStreams: true, Handler: func(_ any, ss grpc.ServerStream) error {
		in := new(wrapperspb.StringValue)
		if err := ss.RecvMsg(in); err != nil {
			return err
		}
		for _, s := range []string{"a", "b"} {
			if err := ss.SendMsg(wrapperspb.String(in.Value + s + " " + subjectOf(ss.Context()))); err != nil {
				return err
			}
		}
		return nil
	}}},
}

// startTCP serves echo and list through g in plaintext on 127.0.0.1 and
// counts the calls that reach the guard.
func startTCP(t *testing.T, g *grpcauth.Server) (addr string, calls *atomic.Int32) {
	t.Helper()
	calls = new(atomic.Int32)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer(
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			calls.Add(1)
			return h(ctx, req)
		}, g.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			calls.Add(1)
			return h(srv, ss)
		}, g.StreamServerInterceptor()),
	)
	s.RegisterService(&echoDesc, echo{})
	s.RegisterService(&listDesc, struct{}{})
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	return lis.Addr().String(), calls
}

// The SDK's own client calls a plaintext server on loopback, as the
// analytics example runs locally; elsewhere plaintext needs the sidecar
// option.
func TestPerRPCCredentialsPlaintext(t *testing.T) {
	e := newEnv(t)
	g := newServer(t, e.Guard(t), func(o *grpcauth.ServerOptions) {
		o.Methods = map[string][]middleware.Requirement{"/test.Echo/Echo": {middleware.Require("loan:read")}}
	})
	addr, _ := startTCP(t, g)
	src := &countingSource{Tok: goodTokenFor(e)}
	creds, err := grpcauth.NewPerRPCCredentials(src)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	out := new(wrapperspb.StringValue)
	if err := cc.Invoke(context.Background(), "/test.Echo/Echo", wrapperspb.String("hi"), out); err != nil || out.Value != "hi u1" {
		t.Fatalf("plaintext call to loopback: %v %q", err, out.Value)
	}

	sidecar, _ := grpcauth.NewPerRPCCredentials(src, func(o *grpcauth.PerRPCOptions) { o.InsecureAllowPlaintextToSidecar = true })
	insecureInfo := credentials.RequestInfo{Method: "/test.Echo/Echo", AuthInfo: insecureAuthInfo{}}
	// uri is the audience grpc passes: "https://" + authority + service.
	const local, remote = "https://127.0.0.1:50051/test.Echo", "https://orders.bank.example/test.Echo"
	for _, tt := range []struct {
		name  string
		addr  net.Addr
		uri   []string
		creds *grpcauth.PerRPCCredentials
		want  error
	}{
		{"remote", &net.TCPAddr{IP: net.ParseIP("192.0.2.10"), Port: 443}, []string{remote}, creds, middleware.ErrInsecureTransport},
		{"remote IPv6", &net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 443}, []string{remote}, creds, middleware.ErrInsecureTransport},
		{"IPv4-mapped remote", &net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.10"), Port: 443}, []string{remote}, creds, middleware.ErrInsecureTransport},
		{"remote peer, loopback authority", &net.TCPAddr{IP: net.ParseIP("192.0.2.10"), Port: 443}, []string{local}, creds, middleware.ErrInsecureTransport},
		{"no peer", nil, []string{local}, creds, middleware.ErrInsecureTransport},
		{"loopback IPv6", &net.TCPAddr{IP: net.IPv6loopback, Port: 50051}, []string{"https://[::1]:50051/test.Echo"}, creds, nil},
		{"loopback 127/8", &net.TCPAddr{IP: net.ParseIP("127.0.0.2"), Port: 50051}, []string{local}, creds, nil},
		{"loopback, authority localhost", &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 50051}, []string{"https://localhost:50051/test.Echo"}, creds, nil},
		{"IPv4-mapped loopback", &net.TCPAddr{IP: net.ParseIP("::ffff:127.0.0.1"), Port: 50051}, []string{local}, creds, nil},
		{"unix socket (authority localhost)", &net.UnixAddr{Name: "/run/app.sock", Net: "unix"}, []string{"https://localhost/test.Echo"}, creds, nil},
		// A loopback peer that is a local proxy or port forward to a remote
		// authority: the token would cross the network in clear text.
		{"local HTTPS_PROXY to a remote authority", &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 3128}, []string{remote}, creds, middleware.ErrInsecureTransport},
		{"loopback peer, authority localhost.evil.example", &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 3128}, []string{"https://localhost.evil.example/test.Echo"}, creds, middleware.ErrInsecureTransport},
		{"unix socket forwarding to a remote authority", &net.UnixAddr{Name: "/run/fwd.sock", Net: "unix"}, []string{remote}, creds, middleware.ErrInsecureTransport},
		{"loopback peer, no audience", &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 50051}, nil, creds, middleware.ErrInsecureTransport},
		{"remote through a sidecar", &net.TCPAddr{IP: net.ParseIP("192.0.2.10"), Port: 443}, []string{remote}, sidecar, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := credentials.NewContextWithRequestInfo(context.Background(), insecureInfo)
			if tt.addr != nil {
				ctx = peer.NewContext(ctx, &peer.Peer{Addr: tt.addr})
			}
			md, err := tt.creds.GetRequestMetadata(ctx, tt.uri...)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("GetRequestMetadata: %v, want %v", err, tt.want)
			}
			if err == nil && md["authorization"] == "" {
				t.Error("no authorization metadata")
			}
		})
	}
}

// TestPerRPCCredentialsPlaintextThroughLocalForwarder: a plaintext
// channel to a remote authority whose connection goes through a forwarder
// on 127.0.0.1 (a local HTTP CONNECT proxy, an unencrypted port forward)
// has a loopback peer, yet the bytes leave the host: no token is sent.
// The same forwarder reached as localhost is loopback end to end.
func TestPerRPCCredentialsPlaintextThroughLocalForwarder(t *testing.T) {
	e := newEnv(t)
	g := newServer(t, e.Guard(t), func(o *grpcauth.ServerOptions) {
		o.Methods = map[string][]middleware.Requirement{"/test.Echo/Echo": {middleware.Require("loan:read")}}
	})
	addr, _ := startTCP(t, g)
	fwd := startForwarder(t, addr) // stands for a proxy whose far end is another host
	src := &countingSource{Tok: goodTokenFor(e)}
	creds, err := grpcauth.NewPerRPCCredentials(src)
	if err != nil {
		t.Fatal(err)
	}
	dial := grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "tcp", fwd)
	})
	call := func(target string) error {
		cc, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(creds), dial)
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		return cc.Invoke(context.Background(), "/test.Echo/Echo", wrapperspb.String("hi"), new(wrapperspb.StringValue))
	}
	if err := call("passthrough:///orders.bank.example:50051"); status.Code(err) != codes.Unauthenticated || !strings.Contains(status.Convert(err).Message(), middleware.ErrInsecureTransport.Error()) {
		t.Fatalf("plaintext call to a remote authority through a local forwarder: %v, want Unauthenticated (insecure transport)", err)
	}
	if n := src.Calls.Load(); n != 0 {
		t.Fatalf("a token was fetched %d times for a call that may not carry it", n)
	}
	if err := call("passthrough:///localhost:50051"); err != nil {
		t.Fatalf("plaintext call to localhost through the same forwarder: %v", err)
	}
	// A Unix socket target: grpc names its authority localhost.
	sock := filepath.Join(t.TempDir(), "app.sock")
	ulis, err := net.Listen("unix", sock)
	if err != nil {
		t.Skipf("no Unix sockets here: %v", err)
	}
	go relay(ulis, addr)
	t.Cleanup(func() { ulis.Close() })
	cc, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	if err := cc.Invoke(context.Background(), "/test.Echo/Echo", wrapperspb.String("hi"), new(wrapperspb.StringValue)); err != nil {
		t.Fatalf("plaintext call over a Unix socket: %v", err)
	}
}

// startForwarder relays TCP connections from a 127.0.0.1 port to addr and
// returns the port's address.
func startForwarder(t *testing.T, addr string) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lis.Close() })
	go relay(lis, addr)
	return lis.Addr().String()
}

// relay copies each connection accepted on lis to and from the TCP
// address addr, until lis is closed.
func relay(lis net.Listener, addr string) {
	for {
		in, err := lis.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", addr)
		if err != nil {
			in.Close()
			continue
		}
		go func() { _, _ = io.Copy(out, in); out.Close() }()
		go func() { _, _ = io.Copy(in, out); in.Close() }()
	}
}

type insecureAuthInfo struct{}

func (insecureAuthInfo) AuthType() string { return "insecure" }
func (insecureAuthInfo) GetCommonAuthInfo() credentials.CommonAuthInfo {
	return credentials.CommonAuthInfo{SecurityLevel: credentials.NoSecurity}
}

func goodTokenFor(e *env) *token.Token {
	return &token.Token{AccessToken: e.Mint(map[string]any{"groups": []string{groupRM}}), TokenType: "Bearer"}
}

// The interceptors retry once with a new token after Unauthenticated with
// invalid_token, over a real connection to a guarded server.
func TestClientInterceptorsRetryInvalidToken(t *testing.T) {
	e := newEnv(t)
	g := newServer(t, e.Guard(t), func(o *grpcauth.ServerOptions) {
		o.Methods = map[string][]middleware.Requirement{
			"/test.Echo/Echo": {middleware.Require("loan:read")},
			"/test.List/List": {middleware.Require("loan:read")},
		}
	})
	addr, calls := startTCP(t, g)
	good := e.Mint(map[string]any{"groups": []string{groupRM}})
	expired := e.Mint(map[string]any{"groups": []string{groupRM}, "exp": time.Now().Add(-time.Hour).Unix()})
	expired2 := e.Mint(map[string]any{"groups": []string{groupRM}, "exp": time.Now().Add(-2 * time.Hour).Unix()})
	noRole := e.Mint(map[string]any{})

	unary := func(cc *grpc.ClientConn) error {
		out := new(wrapperspb.StringValue)
		err := cc.Invoke(context.Background(), "/test.Echo/Echo", wrapperspb.String("hi"), out)
		if err == nil && out.Value != "hi u1" {
			t.Errorf("reply %q", out.Value)
		}
		return err
	}
	stream := func(cc *grpc.ClientConn) error {
		cs, err := cc.NewStream(context.Background(), &listDesc.Streams[0], "/test.List/List")
		if err != nil {
			return err
		}
		if err := cs.SendMsg(wrapperspb.String("x")); err != nil {
			return err
		}
		if err := cs.CloseSend(); err != nil {
			return err
		}
		var got []string
		for {
			out := new(wrapperspb.StringValue)
			if err := cs.RecvMsg(out); err != nil {
				if !errors.Is(err, io.EOF) {
					return err
				}
				if len(got) != 2 || got[0] != "xa u1" || got[1] != "xb u1" {
					t.Errorf("stream gave %q", got)
				}
				return nil
			}
			got = append(got, out.Value)
		}
	}
	bidi := func(cc *grpc.ClientConn) error {
		cs, err := cc.NewStream(context.Background(), &echoDesc.Streams[0], "/test.Echo/Chat")
		if err != nil {
			return err
		}
		_ = cs.SendMsg(wrapperspb.String("x"))
		return cs.RecvMsg(new(wrapperspb.StringValue))
	}

	tests := []struct {
		name        string
		call        func(*grpc.ClientConn) error
		tokens      []string
		disable     bool
		second      bool // a second call within RenewInterval
		want        codes.Code
		invalidated int
		serverCalls int32
	}{
		{"unary renewed", unary, []string{expired, good}, false, false, codes.OK, 1, 2},
		{"server stream renewed", stream, []string{expired, good}, false, false, codes.OK, 1, 2},
		{"retry off", unary, []string{expired, good}, true, false, codes.Unauthenticated, 0, 1},
		{"permission denied is not retried", unary, []string{noRole, good}, false, false, codes.PermissionDenied, 0, 1},
		{"bidirectional stream is not retried", bidi, []string{expired, good}, false, false, codes.Unauthenticated, 0, 1},
		{"renewal rate-limited", unary, []string{expired, expired2, good}, false, true, codes.Unauthenticated, 1, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &rotatingSource{Tokens: tt.tokens}
			creds, err := grpcauth.NewPerRPCCredentials(src, func(o *grpcauth.PerRPCOptions) { o.DisableRetry = tt.disable })
			if err != nil {
				t.Fatal(err)
			}
			cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
				grpc.WithPerRPCCredentials(creds),
				grpc.WithChainUnaryInterceptor(creds.UnaryClientInterceptor()),
				grpc.WithChainStreamInterceptor(creds.StreamClientInterceptor()))
			if err != nil {
				t.Fatal(err)
			}
			defer cc.Close()
			calls.Store(0)
			err = tt.call(cc)
			if tt.second {
				// The first call renewed and was refused again; the next
				// one may not renew before RenewInterval has passed.
				err = tt.call(cc)
			}
			if status.Code(err) != tt.want {
				t.Fatalf("call: %v, want %v", err, tt.want)
			}
			if src.Invalidated != tt.invalidated {
				t.Errorf("invalidated %d times, want %d", src.Invalidated, tt.invalidated)
			}
			if n := calls.Load(); n != tt.serverCalls {
				t.Errorf("server saw %d calls, want %d", n, tt.serverCalls)
			}
		})
	}
}
