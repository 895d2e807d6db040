package middleware

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// MethodRequirements is an optional interface for gRPC service
// implementations that declare their own requirements, found by type
// assertion on the service (as go-grpc-middleware's
// ServiceAuthFuncOverride is). When the service implements it and returns
// ok, its requirements replace Options.Methods and Options.Default for
// fullMethod; the token is still validated unless they are [SkipAuth]. An
// empty list denies. The guard asks once per method and keeps the answer,
// so it must not change.
type MethodRequirements interface {
	AuthRequirements(fullMethod string) (reqs []Requirement, ok bool)
}

// UnaryServerInterceptor returns a unary interceptor that admits a call
// only with a valid bearer token in its authorization metadata that meets
// the method's requirements; the handler finds the [Principal] with
// [FromContext]. Rejections are status errors: Unauthenticated for a
// missing, malformed or invalid token, PermissionDenied for a valid token
// that lacks permission, Unavailable when the IdP's keys or a group source
// cannot be reached, Internal for a misconfigured method. The response
// header carries the www-authenticate challenge the HTTP guard would send.
func (g *Guard) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, _, e := g.grpcAdmit(ctx, info.Server, info.FullMethod)
		if e != nil {
			if c := g.challenge(e); c != "" {
				_ = grpc.SetHeader(ctx, metadata.Pairs("www-authenticate", c))
			}
			return nil, grpcStatus(e)
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor is [Guard.UnaryServerInterceptor] for streaming
// calls. The stream's Context carries the principal.
//
// A stream lives no longer than its token: when the validator would stop
// accepting the token — exp plus jwks.Options.Leeway, or iat plus
// jwks.Options.MaxAge plus the leeway if that comes first (a validator
// other than *jwks.Validator: exp plus jwks.DefaultLeeway, or its own
// Leeway() when it has one) — the stream's Context is cancelled with
// [ErrStreamTokenExpired] as its cause (context.Cause), SendMsg and
// RecvMsg fail from then on, and the call ends with Unauthenticated and a
// www-authenticate trailer saying error="invalid_token",
// error_description="expired", whatever the handler returns. A handler
// blocked in RecvMsg ends when the next message arrives; one that selects
// on Context().Done() ends at once. The client gets a new token and opens
// a new stream. Options.DisableStreamExpiry turns this off, and
// Options.StreamWatchers end streams on other signals the same way. The
// watch costs a timer per stream, not a goroutine.
func (g *Guard) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, p, e := g.grpcAdmit(ss.Context(), srv, info.FullMethod)
		if e != nil {
			if c := g.challenge(e); c != "" {
				_ = ss.SetHeader(metadata.Pairs("www-authenticate", c))
			}
			return grpcStatus(e)
		}
		ss, w := g.watch(ss, ctx, p)
		if w == nil {
			return handler(srv, ss)
		}
		defer w.release()
		return w.result(handler(srv, ss))
	}
}

// serverStream swaps the context of a stream, which grpc.ServerStream
// offers no other way to do.
type serverStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *serverStream) Context() context.Context { return s.ctx }

// grpcRoute picks the requirements of a method: the service's own, the
// exact method, the service wildcard, the defaults.
func (g *Guard) grpcRoute(srv any, fullMethod string) *route {
	if o, ok := srv.(MethodRequirements); ok {
		if rt, ok := g.overrides.Load(fullMethod); ok {
			return rt.(*route)
		}
		if reqs, ok := o.AuthRequirements(fullMethod); ok {
			rt, _ := g.overrides.LoadOrStore(fullMethod, g.compile(reqs))
			return rt.(*route)
		}
	}
	if rt := g.methods[fullMethod]; rt != nil {
		return rt
	}
	if svc, _, ok := splitMethod(fullMethod); ok {
		if rt := g.services[svc]; rt != nil {
			return rt
		}
	}
	return g.defRoute
}

func (g *Guard) grpcAdmit(ctx context.Context, srv any, fullMethod string) (context.Context, *Principal, *Error) {
	rt := g.grpcRoute(srv, fullMethod)
	if rt.skip {
		return ctx, nil, nil
	}
	var info *reqInfo
	if g.audit.Enabled(ctx) {
		info = &reqInfo{method: fullMethod, start: g.now()}
		if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
			info.remote = p.Addr.String()
		}
	}
	tok, err := bearerFromMetadata(ctx, g.maxSize)
	if err != nil {
		return ctx, nil, g.rejectEarly(ctx, err, info)
	}
	p, e := g.admit(ctx, rt, tok, info)
	if e != nil {
		return ctx, nil, e
	}
	return NewContext(ctx, p), p, nil
}

// bearerFromMetadata extracts the token from exactly one authorization
// metadata value, with the same grammar as the HTTP header.
func bearerFromMetadata(ctx context.Context, maxSize int) (string, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	vs := md.Get("authorization")
	switch len(vs) {
	case 0:
		return "", fmt.Errorf("%w: no authorization metadata", ErrNoToken)
	case 1:
		return parseAuthorization(vs[0], maxSize)
	default:
		return "", fmt.Errorf("%w: %d authorization metadata values", ErrMultipleTokens, len(vs))
	}
}

// grpcStatus maps a rejection to a status whose message is the error code
// and reason class only.
func grpcStatus(e *Error) error {
	if errors.Is(e.Err, context.Canceled) || errors.Is(e.Err, context.DeadlineExceeded) {
		return status.FromContextError(e.Err).Err()
	}
	var code codes.Code
	switch e.Status {
	case http.StatusBadRequest, http.StatusUnauthorized:
		code = codes.Unauthenticated
	case http.StatusForbidden:
		code = codes.PermissionDenied
	case http.StatusServiceUnavailable:
		code = codes.Unavailable
	default:
		code = codes.Internal
	}
	name, desc := e.describe()
	msg := name
	if desc != "" {
		msg += ": " + desc
	}
	return status.Error(code, msg)
}
