package grpcauth

import (
	"context"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/middleware/internal/bearer"
)

// UnaryClientInterceptor returns a client interceptor that retries a call
// once with a new token when the server answers Unauthenticated with a
// www-authenticate challenge saying error="invalid_token" (revoked, or
// expired early by the server's clock), as middleware.Transport does for
// a 401: the source must be able to drop its token (token.Cache can), the
// token is renewed at most once every 30 seconds across all calls, and other refusals (a claims challenge, PermissionDenied) are
// returned as they are. Use it with these credentials:
//
//	grpc.NewClient(target,
//		grpc.WithPerRPCCredentials(creds),
//		grpc.WithChainUnaryInterceptor(creds.UnaryClientInterceptor()),
//		grpc.WithChainStreamInterceptor(creds.StreamClientInterceptor()))
func (c *PerRPCCredentials) UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if !c.r.CanRenew() {
			return invoker(ctx, method, req, reply, cc, opts...)
		}
		sent := new(sentToken)
		var hdr, trl metadata.MD
		err := invoker(context.WithValue(ctx, sentKey{}, sent), method, req, reply, cc,
			append(opts[:len(opts):len(opts)], grpc.Header(&hdr), grpc.Trailer(&trl))...)
		if !tokenRefused(err, hdr, trl) {
			return err
		}
		if _, ok := c.r.Renew(ctx, sent.get()); !ok {
			return err
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

// StreamClientInterceptor is [PerRPCCredentials.UnaryClientInterceptor]
// for server-streaming calls: when the stream is refused as invalid_token
// before its first message, it is opened again with a new token and the
// request is sent again. Streams the client sends several messages on
// (client and bidirectional streaming) are not retried: the interceptor
// would have to keep and replay them.
func (c *PerRPCCredentials) StreamClientInterceptor() grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		if !c.r.CanRenew() || desc.ClientStreams {
			return streamer(ctx, desc, cc, method, opts...)
		}
		sent := new(sentToken)
		ctx = context.WithValue(ctx, sentKey{}, sent)
		cs, err := streamer(ctx, desc, cc, method, opts...)
		if err != nil {
			return nil, err
		}
		return &retryStream{cur: cs, c: c, sent: sent, ctx: ctx, desc: desc, cc: cc, method: method, streamer: streamer, opts: opts}, nil
	}
}

// tokenRefused reports whether err is Unauthenticated with a Bearer
// challenge saying invalid_token in the header or trailer metadata.
func tokenRefused(err error, md ...metadata.MD) bool {
	if status.Code(err) != codes.Unauthenticated {
		return false
	}
	for _, m := range md {
		if bearer.ChallengeError(m.Get("www-authenticate")) == middleware.CodeInvalidToken {
			return true
		}
	}
	return false
}

// retryStream is a server-streaming call that can be opened again once,
// until its first message arrives.
type retryStream struct {
	c        *PerRPCCredentials
	sent     *sentToken
	ctx      context.Context
	desc     *grpc.StreamDesc
	cc       *grpc.ClientConn
	method   string
	streamer grpc.Streamer
	opts     []grpc.CallOption

	mu       sync.Mutex
	cur      grpc.ClientStream
	req      any  // the one request, kept for the retry (grpc forbids changing a sent message)
	closed   bool // CloseSend was called
	received bool // a message arrived: too late to retry
	retried  bool
}

func (s *retryStream) stream() grpc.ClientStream {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

func (s *retryStream) Header() (metadata.MD, error) { return s.stream().Header() }
func (s *retryStream) Trailer() metadata.MD         { return s.stream().Trailer() }
func (s *retryStream) Context() context.Context     { return s.stream().Context() }

func (s *retryStream) CloseSend() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return s.stream().CloseSend()
}

func (s *retryStream) SendMsg(m any) error {
	s.mu.Lock()
	if s.req == nil {
		s.req = m
	} else {
		s.retried = true // a second request cannot be replayed
	}
	s.mu.Unlock()
	return s.stream().SendMsg(m)
}

func (s *retryStream) RecvMsg(m any) error {
	cs := s.stream()
	err := cs.RecvMsg(m)
	s.mu.Lock()
	if err == nil {
		s.received = true
	}
	retry := err != nil && !s.received && !s.retried && s.req != nil && s.closed
	s.retried = s.retried || retry
	s.mu.Unlock()
	if !retry {
		return err
	}
	hdr, _ := cs.Header()
	if !tokenRefused(err, hdr, cs.Trailer()) {
		return err
	}
	if _, ok := s.c.r.Renew(s.ctx, s.sent.get()); !ok {
		return err
	}
	ns, nerr := s.streamer(s.ctx, s.desc, s.cc, s.method, s.opts...)
	if nerr != nil {
		return err
	}
	s.mu.Lock()
	s.cur = ns
	s.mu.Unlock()
	// A refused send (io.EOF) means the stream has ended; RecvMsg says how.
	if ns.SendMsg(s.req) == nil {
		_ = ns.CloseSend()
	}
	if err = ns.RecvMsg(m); err == nil {
		s.mu.Lock()
		s.received = true
		s.mu.Unlock()
	}
	return err
}
