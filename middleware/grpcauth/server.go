package grpcauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/option"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/middleware/internal/guardcore"
)

// ServerOptions configure a [Server]. [NewServer] copies them.
type ServerOptions struct {
	// Methods are the requirements of gRPC methods, keyed by full method
	// name ("/bank.loans.v1.Loans/Approve") or by service with a wildcard
	// ("/bank.loans.v1.Loans/*"); the exact name wins. A service that
	// implements [MethodRequirements] overrides both for its methods.
	// Methods listed in neither get the guard's middleware.Options.Default.
	Methods map[string][]middleware.Requirement
	// DisableStreamExpiry lets streams run past their token's expiry. By
	// default a stream ends with Unauthenticated when the validator would
	// stop accepting its token, at exp plus the leeway (see
	// [Server.StreamServerInterceptor]), so a token that is no longer
	// valid does not keep a subscription open for hours. Turn it off only
	// for streams whose clients cannot reconnect.
	DisableStreamExpiry bool
	// StreamWatchers end admitted streams on their own signals, such as a
	// revocation; see [StreamWatcher].
	StreamWatchers []StreamWatcher
}

// Server puts a middleware.Guard in front of gRPC services: its
// interceptors admit a call only with a valid bearer token in its
// authorization metadata that meets the method's requirements, with the
// guard's validator, policy, audit and answers. Build one with
// [NewServer]; it is safe for concurrent use by multiple goroutines.
type Server struct {
	core      guardcore.Guard
	methods   map[string]guardcore.Route
	services  map[string]guardcore.Route
	overrides sync.Map // full method → guardcore.Route from a MethodRequirements service

	streamExpiry bool
	watchers     []StreamWatcher
}

// NewServer returns the gRPC side of g. It refuses, with an error wrapping
// idbridge.ErrInvalidOptions, a nil guard, a Methods key that is not a
// full method name or service wildcard, and method requirements that are
// empty, cannot be evaluated or name a permission, role or scope the
// guard's policy does not declare.
func NewServer(g *middleware.Guard, optFns ...func(*ServerOptions)) (*Server, error) {
	o := option.New(optFns)
	if g == nil {
		return nil, invalidOptions("a guard is required")
	}
	s := &Server{
		core:         guardcore.Of(g),
		methods:      map[string]guardcore.Route{},
		services:     map[string]guardcore.Route{},
		streamExpiry: !o.DisableStreamExpiry,
	}
	for i, w := range o.StreamWatchers {
		if w == nil {
			return nil, invalidOptions("StreamWatchers[%d] is nil", i)
		}
		s.watchers = append(s.watchers, w)
	}
	for name, reqs := range o.Methods {
		if err := s.addMethod(name, reqs); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// addMethod compiles the requirements of one Methods entry.
func (s *Server) addMethod(name string, reqs []middleware.Requirement) error {
	svc, method, ok := splitMethod(name)
	if !ok {
		return invalidOptions("Methods key %q is not /package.Service/Method or /package.Service/*", name)
	}
	if len(reqs) == 0 {
		return invalidOptions("Methods[%q] is empty; omit the key to use Default", name)
	}
	rt := s.core.Route(reqs)
	if err := rt.Err(); err != nil {
		return invalidOptions("Methods[%q]: %v", name, err)
	}
	if method == "*" {
		s.services[svc] = rt
	} else {
		s.methods[name] = rt
	}
	return nil
}

// invalidOptions is the error of a constructor refusing its options.
func invalidOptions(format string, args ...any) error {
	return fmt.Errorf("grpcauth: %w: "+format, append([]any{idbridge.ErrInvalidOptions}, args...)...)
}

// splitMethod splits "/pkg.Service/Method" into "pkg.Service" and "Method".
func splitMethod(full string) (svc, method string, ok bool) {
	if !strings.HasPrefix(full, "/") {
		return "", "", false
	}
	svc, method, ok = strings.Cut(full[1:], "/")
	if !ok || svc == "" || method == "" || strings.Contains(method, "/") {
		return "", "", false
	}
	return svc, method, true
}

// MethodRequirements is an optional interface for gRPC service
// implementations that declare their own requirements, found by type
// assertion on the service (as go-grpc-middleware's
// ServiceAuthFuncOverride is). When the service implements it and returns
// ok, its requirements replace ServerOptions.Methods and the guard's
// Options.Default for fullMethod; the token is still validated unless they
// are middleware.SkipAuth. An empty list denies. The server asks once per
// method and keeps the answer, so it must not change.
type MethodRequirements interface {
	AuthRequirements(fullMethod string) (reqs []middleware.Requirement, ok bool)
}

// UnaryServerInterceptor returns a unary interceptor that admits a call
// only with a valid bearer token in its authorization metadata that meets
// the method's requirements; the handler finds the middleware.Principal
// with middleware.FromContext. Rejections are status errors:
// Unauthenticated for a missing, malformed or invalid token,
// PermissionDenied for a valid token that lacks permission, Unavailable
// when the IdP's keys or a group source cannot be reached, Internal for a
// misconfigured method. The response header carries the www-authenticate
// challenge the HTTP guard would send.
func (s *Server) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, _, e := s.admit(ctx, info.Server, info.FullMethod)
		if e != nil {
			if c := s.core.Challenge(e); c != "" {
				_ = grpc.SetHeader(ctx, metadata.Pairs("www-authenticate", c))
			}
			return nil, statusOf(s.core, e)
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor is [Server.UnaryServerInterceptor] for streaming
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
// a new stream. ServerOptions.DisableStreamExpiry turns this off, and
// ServerOptions.StreamWatchers end streams on other signals the same way.
// The watch costs a timer per stream, not a goroutine.
func (s *Server) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, claims, e := s.admit(ss.Context(), srv, info.FullMethod)
		if e != nil {
			if c := s.core.Challenge(e); c != "" {
				_ = ss.SetHeader(metadata.Pairs("www-authenticate", c))
			}
			return statusOf(s.core, e)
		}
		ss, w := s.watch(ss, ctx, claims)
		if w == nil {
			return handler(srv, ss)
		}
		defer w.release()
		return w.result(handler(srv, ss))
	}
}

// CheckService checks, at start, the requirements of every method of a
// gRPC service as the server will apply them: srv's own
// ([MethodRequirements]), else ServerOptions.Methods, else the guard's
// Options.Default. It returns an error (errors.Join of one per method,
// each matching middleware.ErrMisconfigured) for requirements that cannot
// be evaluated or that name a permission, role or scope the policy does
// not declare — failures that would otherwise surface as Internal at each
// method's first call. ServerOptions.Methods and Options.Default are
// checked by the constructors already; call CheckService for each service
// that declares its own requirements, with the descriptor and
// implementation passed to RegisterService.
func (s *Server) CheckService(desc *grpc.ServiceDesc, srv any) error {
	var errs []error
	check := func(name string) {
		full := "/" + desc.ServiceName + "/" + name
		if err := s.route(srv, full).Err(); err != nil && !errors.Is(err, middleware.ErrNoRequirement) {
			errs = append(errs, fmt.Errorf("%s: %w", full, err))
		}
	}
	for _, m := range desc.Methods {
		check(m.MethodName)
	}
	for _, st := range desc.Streams {
		check(st.StreamName)
	}
	return errors.Join(errs...)
}

// serverStream swaps the context of a stream, which grpc.ServerStream
// offers no other way to do.
type serverStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *serverStream) Context() context.Context { return s.ctx }

// route picks the requirements of a method: the service's own, the exact
// method, the service wildcard, the defaults.
func (s *Server) route(srv any, fullMethod string) guardcore.Route {
	if o, ok := srv.(MethodRequirements); ok {
		old, cached := s.overrides.Load(fullMethod)
		if cached && !old.(guardcore.Route).Stale() {
			return old.(guardcore.Route)
		}
		reqs, ok := o.AuthRequirements(fullMethod)
		switch {
		case ok && cached:
			// It failed on a name the policy did not declare, and the
			// policy has been reloaded since: compile it again, once
			// per reload.
			rt := s.core.Route(reqs)
			s.overrides.CompareAndSwap(fullMethod, old, rt)
			return rt
		case ok:
			rt, _ := s.overrides.LoadOrStore(fullMethod, s.core.Route(reqs))
			return rt.(guardcore.Route)
		case cached:
			return old.(guardcore.Route)
		}
	}
	if rt := s.methods[fullMethod]; rt != nil {
		return rt
	}
	if svc, _, ok := splitMethod(fullMethod); ok {
		if rt := s.services[svc]; rt != nil {
			return rt
		}
	}
	return s.core.DefaultRoute()
}

// admit runs the guard for a call; it returns the context with the
// principal and the principal's claims (nil on a SkipAuth method), or a
// *middleware.Error.
func (s *Server) admit(ctx context.Context, srv any, fullMethod string) (context.Context, *idbridge.Claims, error) {
	rt := s.route(srv, fullMethod)
	if rt.Skip() {
		return ctx, nil, nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	return s.core.Admit(ctx, rt, fullMethod, peerAddr, md.Get("authorization"))
}

// peerAddr is the remote address of the call in ctx, for audit events.
func peerAddr(ctx context.Context) string {
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return p.Addr.String()
	}
	return ""
}

// statusOf maps a rejection to a status whose message is the error code
// and reason class only.
func statusOf(core guardcore.Guard, err error) error {
	var e *middleware.Error
	if !errors.As(err, &e) {
		return status.Error(codes.Internal, "server_error")
	}
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
	name, desc := core.Describe(e)
	msg := name
	if desc != "" {
		msg += ": " + desc
	}
	return status.Error(code, msg)
}
