package grpcauth_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/reason"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/middleware/grpcauth"
)

// feedDesc is a server-streaming service. Feed sends one message and then
// waits for its context; Stubborn does too but then tries to send again
// and claims success, as a handler that ignores its context would.
func feedDesc(serverErr chan<- error) grpc.ServiceDesc {
	return grpc.ServiceDesc{
		ServiceName: "test.Feed",
		HandlerType: (*any)(nil),
		Streams: []grpc.StreamDesc{
			{StreamName: "Feed", ServerStreams: true, Handler: func(_ any, ss grpc.ServerStream) error {
				if err := ss.RecvMsg(new(wrapperspb.StringValue)); err != nil {
					return err
				}
				if err := ss.SendMsg(wrapperspb.String("first " + subjectOf(ss.Context()))); err != nil {
					return err
				}
				<-ss.Context().Done()
				serverErr <- context.Cause(ss.Context())
				return ss.Context().Err()
			}},
			{StreamName: "Stubborn", ServerStreams: true, Handler: func(_ any, ss grpc.ServerStream) error {
				if err := ss.RecvMsg(new(wrapperspb.StringValue)); err != nil {
					return err
				}
				if err := ss.SendMsg(wrapperspb.String("first")); err != nil {
					return err
				}
				<-ss.Context().Done()
				serverErr <- ss.SendMsg(wrapperspb.String("after expiry"))
				return nil
			}},
		},
	}
}

// A real stream over TCP on 127.0.0.1 ends with Unauthenticated when its
// token expires (exp plus the validator's leeway), whatever the handler
// returns, and no message is sent after that.
func TestStreamEndsWhenTokenExpires(t *testing.T) {
	e := newEnv(t)
	tok := e.Mint(map[string]any{"groups": []string{groupRM}}) // exp: now + the test issuer's lifetime
	claims, err := e.V.Validate(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	// The guard's clock runs ahead so that, when a subtest starts, the
	// token has 2 s left including the leeway: the stream ends on a
	// real timer, with no sleep.
	var ahead atomic.Int64
	g := e.Guard(t, func(o *middleware.Options) {
		o.Default = []middleware.Requirement{middleware.Require("loan:read")}
		o.Now = func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	})
	serverErr := make(chan error, 1)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer(grpc.ChainStreamInterceptor(newServer(t, g).StreamServerInterceptor()))
	desc := feedDesc(serverErr)
	s.RegisterService(&desc, struct{}{})
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })

	for _, method := range []string{"Feed", "Stubborn"} {
		t.Run(method, func(t *testing.T) {
			ahead.Store(int64(time.Until(claims.ExpiresAt.Add(e.V.Leeway())) - 2*time.Second))
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
			var trailer metadata.MD
			cs, err := cc.NewStream(ctx, &desc.Streams[0], "/test.Feed/"+method, grpc.Trailer(&trailer))
			if err != nil {
				t.Fatal(err)
			}
			if err := cs.SendMsg(wrapperspb.String("subscribe")); err != nil {
				t.Fatal(err)
			}
			if err := cs.CloseSend(); err != nil {
				t.Fatal(err)
			}
			first := new(wrapperspb.StringValue)
			if err := cs.RecvMsg(first); err != nil {
				t.Fatalf("first message: %v", err)
			}
			err = cs.RecvMsg(new(wrapperspb.StringValue))
			if status.Code(err) != codes.Unauthenticated || status.Convert(err).Message() != "invalid_token: expired" {
				t.Fatalf("stream ended with %v, want Unauthenticated invalid_token: expired", err)
			}
			if got := strings.Join(trailer.Get("www-authenticate"), ";"); got != `Bearer realm="lending", error="invalid_token", error_description="expired"` {
				t.Errorf("www-authenticate trailer %q", got)
			}
			switch se := <-serverErr; method {
			case "Feed":
				if !errors.Is(se, grpcauth.ErrStreamTokenExpired) || !errors.Is(se, jwks.ErrExpired) {
					t.Errorf("context cause %v, want ErrStreamTokenExpired", se)
				}
			case "Stubborn":
				if status.Code(se) != codes.Unauthenticated {
					t.Errorf("SendMsg after expiry: %v, want Unauthenticated", se)
				}
			}
		})
	}
}

// fakeStream is a grpc.ServerStream in memory, for tests in a synctest
// bubble, where a network listener cannot be used.
type fakeStream struct {
	ctx     context.Context
	recv    chan string
	mu      sync.Mutex
	trailer metadata.MD
	sent    int
}

func newFakeStream() *fakeStream {
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer abc"))
	return &fakeStream{ctx: ctx, recv: make(chan string)}
}

func (f *fakeStream) SetHeader(metadata.MD) error  { return nil }
func (f *fakeStream) SendHeader(metadata.MD) error { return nil }
func (f *fakeStream) SetTrailer(md metadata.MD) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.trailer = metadata.Join(f.trailer, md)
}
func (f *fakeStream) Context() context.Context { return f.ctx }
func (f *fakeStream) SendMsg(any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent++
	return nil
}
func (f *fakeStream) RecvMsg(any) error {
	if _, ok := <-f.recv; !ok {
		return io.EOF
	}
	return nil
}

// leewayValidator is a stubValidator that states its leeway.
type leewayValidator struct {
	stubValidator
	leeway time.Duration
}

func (v leewayValidator) Leeway() time.Duration { return v.leeway }

// untilValidator is a stubValidator that says when it stops accepting a
// token, as *jwks.Validator does (exp, or iat plus MaxAge).
type untilValidator struct {
	stubValidator
	until time.Time
}

func (v untilValidator) ValidUntil(*idbridge.Claims) time.Time { return v.until }

var streamInfo = &grpc.StreamServerInfo{FullMethod: "/test.Feed/Feed", IsServerStream: true}

// The expiry and the watchers, on a fake clock: the context ends exactly at
// exp plus the leeway, the first cause wins, and the answer follows the
// cause's class.
func TestStreamExpiryTiming(t *testing.T) {
	revoked := reason.New(reason.Revoked, "test: revoked")
	tests := []struct {
		name      string
		leeway    time.Duration // 0: a validator that does not say; < 0: one that says the token ends after -leeway
		disable   bool
		endAt     time.Duration // a watcher ends the stream then; 0 for none
		endWith   error
		wantAfter time.Duration // -1: the stream outlives the wait
		wantCode  codes.Code
		wantMsg   string
	}{
		{"exp plus leeway", 5 * time.Second, false, 0, nil, time.Hour + 5*time.Second, codes.Unauthenticated, "invalid_token: expired"},
		{"default leeway", 0, false, 0, nil, time.Hour + jwks.DefaultLeeway, codes.Unauthenticated, "invalid_token: expired"},
		{"off", 5 * time.Second, true, 0, nil, -1, codes.OK, ""},
		{"revoked first", 5 * time.Second, false, 10 * time.Minute, revoked, 10 * time.Minute, codes.Unauthenticated, "invalid_token: revoked"},
		{"revoked, expiry off", 5 * time.Second, true, 2 * time.Hour, revoked, 2 * time.Hour, codes.Unauthenticated, "invalid_token: revoked"},
		{"policy denies now", 5 * time.Second, false, time.Minute, middleware.ErrInsufficientRole, time.Minute, codes.PermissionDenied, "insufficient_scope: insufficient_role"},
		{"end without a cause", 5 * time.Second, false, time.Minute, nil, time.Minute, codes.PermissionDenied, "insufficient_scope: forbidden"},
		{"validator says when (MaxAge)", -10 * time.Minute, false, 0, nil, 10 * time.Minute, codes.Unauthenticated, "invalid_token: expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				var v middleware.Validator = stubValidator{C: &idbridge.Claims{Subject: "s", ExpiresAt: start.Add(time.Hour)}}
				switch {
				case tt.leeway > 0:
					v = leewayValidator{stubValidator: v.(stubValidator), leeway: tt.leeway}
				case tt.leeway < 0:
					v = untilValidator{stubValidator: v.(stubValidator), until: start.Add(-tt.leeway)}
				}
				var stopped atomic.Int32
				g, err := middleware.New(v, func(o *middleware.Options) {
					o.Default = []middleware.Requirement{middleware.Authenticated()}
				})
				if err != nil {
					t.Fatal(err)
				}
				s := newServer(t, g, func(o *grpcauth.ServerOptions) {
					o.DisableStreamExpiry = tt.disable
					if tt.endAt != 0 {
						o.StreamWatchers = []grpcauth.StreamWatcher{grpcauth.StreamWatcherFunc(func(ctx context.Context, c *idbridge.Claims, end func(error)) func() {
							if c.Subject != "s" {
								t.Error("watcher got other claims")
							}
							tm := time.AfterFunc(tt.endAt, func() { end(tt.endWith) })
							return func() { tm.Stop(); stopped.Add(1) }
						})}
					}
				})
				fs := newFakeStream()
				var ended time.Duration = -1
				err = s.StreamServerInterceptor()(nil, fs, streamInfo, func(_ any, ss grpc.ServerStream) error {
					select {
					case <-ss.Context().Done():
						ended = time.Since(start)
						return ss.Context().Err()
					case <-time.After(48 * time.Hour):
						return nil
					}
				})
				if ended != tt.wantAfter {
					t.Errorf("stream context ended after %v, want %v", ended, tt.wantAfter)
				}
				if status.Code(err) != tt.wantCode || tt.wantMsg != "" && status.Convert(err).Message() != tt.wantMsg {
					t.Errorf("call ended with %v, want %v %q", err, tt.wantCode, tt.wantMsg)
				}
				if tt.endAt != 0 && stopped.Load() != 1 {
					t.Errorf("watcher stopped %d times, want 1", stopped.Load())
				}
			})
		})
	}
}

// A handler waiting in RecvMsg when the token expires does not get the
// message that arrives next; the stream ends instead.
func TestStreamExpiryRecvMsg(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := leewayValidator{stubValidator{C: &idbridge.Claims{Subject: "s", ExpiresAt: time.Now().Add(time.Minute)}}, 0}
		g, err := middleware.New(v, func(o *middleware.Options) { o.Default = []middleware.Requirement{middleware.Authenticated()} })
		if err != nil {
			t.Fatal(err)
		}
		fs := newFakeStream()
		go func() {
			fs.recv <- "before"
			time.Sleep(2 * time.Minute)
			fs.recv <- "after"
		}()
		var got []string
		err = newServer(t, g).StreamServerInterceptor()(nil, fs, streamInfo, func(_ any, ss grpc.ServerStream) error {
			for {
				if err := ss.RecvMsg(nil); err != nil {
					return err
				}
				got = append(got, time.Now().Format(time.TimeOnly))
				if err := ss.SendMsg(nil); err != nil {
					return err
				}
			}
		})
		if status.Code(err) != codes.Unauthenticated || len(got) != 1 || fs.sent != 1 {
			t.Fatalf("err %v, received %d, sent %d; want Unauthenticated after one message", err, len(got), fs.sent)
		}
		if tr := fs.trailer.Get("www-authenticate"); len(tr) != 1 || !strings.Contains(tr[0], `error_description="expired"`) {
			t.Errorf("trailer %q", tr)
		}
	})
}
