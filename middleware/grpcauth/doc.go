// Package grpcauth guards gRPC services with a middleware.Guard and
// attaches tokens to gRPC calls. It is a package of its own so that a
// program using only the HTTP side of middleware links no gRPC or
// protobuf code.
//
// # Server
//
// [NewServer] wraps a guard built with middleware.New; its
// [Server.UnaryServerInterceptor] and [Server.StreamServerInterceptor] read
// "authorization: Bearer ..." metadata and run the guard's steps with its
// validator, policy, audit and answers. Per-method requirements come from
// ServerOptions.Methods or from a service implementing
// [MethodRequirements]; methods without any get the guard's
// Options.Default. 401 becomes codes.Unauthenticated, 403
// codes.PermissionDenied, 503 codes.Unavailable. These requirements are
// checked against the policy at start (a service's own ones at its first
// call, or at start with [Server.CheckService]) and, like the guard's
// routes, at every later rbac.Policy.Reload or Update, which is refused if
// it would no longer declare them. A service's own requirement that the
// policy does not declare at its first call fails its calls until a
// reload declares it; then the method works.
//
//	g, _ := middleware.New(validator, func(o *middleware.Options) { o.Policy = policy })
//	srv, err := grpcauth.NewServer(g, func(o *grpcauth.ServerOptions) {
//		o.Methods = map[string][]middleware.Requirement{
//			"/bank.loans.v1.Loans/*": {middleware.Require("loan:read")},
//		}
//	})
//	if err != nil {
//		return err
//	}
//	s := grpc.NewServer(
//		grpc.UnaryInterceptor(srv.UnaryServerInterceptor()),
//		grpc.StreamInterceptor(srv.StreamServerInterceptor()))
//
// A stream lives no longer than its token: when the validator would stop
// accepting it (exp plus leeway, or iat plus MaxAge) its Context is
// cancelled with [ErrStreamTokenExpired] as the cause and the call ends
// with Unauthenticated (error="invalid_token", error_description="expired");
// ServerOptions.DisableStreamExpiry turns it off. A [StreamWatcher] in
// ServerOptions.StreamWatchers ends streams on other signals, such as a
// revocation, the same way.
//
// # Client
//
// [PerRPCCredentials] attach tokens from a token.Source to every call and
// refuse to send one without transport security except to loopback (and,
// with PerRPCOptions.InsecureAllowPlaintextToSidecar, to a mesh sidecar
// that encrypts on the caller's behalf). Its
// [PerRPCCredentials.UnaryClientInterceptor] and
// [PerRPCCredentials.StreamClientInterceptor] retry a call refused with
// Unauthenticated and error="invalid_token" once with a new token, as
// middleware.Transport does for HTTP.
package grpcauth
