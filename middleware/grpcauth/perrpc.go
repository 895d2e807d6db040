package grpcauth

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	"github.com/idbridge/idbridge/internal/loopback"
	"github.com/idbridge/idbridge/internal/option"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/middleware/internal/bearer"
	"github.com/idbridge/idbridge/token"
)

// PerRPCOptions configure [PerRPCCredentials]. [NewPerRPCCredentials]
// copies them.
type PerRPCOptions struct {
	// InsecureAllowPlaintextToSidecar sends the token over connections
	// without transport security to any address, for services in a mesh
	// whose sidecar proxy (Istio, Linkerd) takes the plaintext connection
	// and carries it on over mTLS. If the sidecar is missing, bypassed or
	// its mTLS is permissive, the token crosses the network in clear text
	// and anyone on the path can read and replay it. Loopback needs no
	// option.
	InsecureAllowPlaintextToSidecar bool
	// DisableRetry turns off the interceptors' one retry with a new token
	// after Unauthenticated with error="invalid_token" (see
	// [PerRPCCredentials.UnaryClientInterceptor]).
	DisableRetry bool
	// Now is the clock of the retry's rate limit; nil means time.Now.
	Now func() time.Time
}

// PerRPCCredentials is a gRPC credentials.PerRPCCredentials that sends
// "authorization: Bearer" metadata from a token.Source with every call,
// like grpc-go's credentials/oauth.TokenSource. Each call checks that the
// connection provides privacy and integrity (TLS, ALTS), or that both its
// peer and the channel's authority are on loopback (a loopback peer may be
// a local proxy or port forward to another host), where the token does
// not leave the host; with
// PerRPCOptions.InsecureAllowPlaintextToSidecar any plaintext peer is
// accepted. Otherwise the call fails with Unauthenticated and
// middleware.ErrInsecureTransport before a token is fetched.
//
// Its [PerRPCCredentials.UnaryClientInterceptor] and
// [PerRPCCredentials.StreamClientInterceptor] retry a call once with a new
// token when the server refuses the one sent as invalid_token, as
// middleware.Transport does for HTTP.
//
// It is safe for concurrent use by multiple goroutines; give the source a
// cache (token.Cache) so that calls do not each fetch a token.
type PerRPCCredentials struct {
	r       bearer.Renewer
	sidecar bool
}

// NewPerRPCCredentials returns credentials attaching tokens from src; pass
// them with grpc.WithPerRPCCredentials, and the interceptors with
// grpc.WithChainUnaryInterceptor and grpc.WithChainStreamInterceptor.
func NewPerRPCCredentials(src token.Source, optFns ...func(*PerRPCOptions)) (*PerRPCCredentials, error) {
	o := option.New(optFns)
	if src == nil {
		return nil, invalidOptions("a token source is required")
	}
	c := &PerRPCCredentials{sidecar: o.InsecureAllowPlaintextToSidecar}
	c.r.Init(src, o.DisableRetry, o.Now)
	return c, nil
}

// GetRequestMetadata returns the authorization metadata for one call. It
// refuses connections below credentials.PrivacyAndIntegrity unless their
// peer is on loopback or plaintext to a sidecar is allowed.
func (c *PerRPCCredentials) GetRequestMetadata(ctx context.Context, uri ...string) (map[string]string, error) {
	ri, _ := credentials.RequestInfoFromContext(ctx)
	if err := credentials.CheckSecurityLevel(ri.AuthInfo, credentials.PrivacyAndIntegrity); err != nil && !c.sidecar && !(loopbackPeer(ctx) && loopbackAuthority(uri)) {
		return nil, fmt.Errorf("%w: %w", middleware.ErrInsecureTransport, err)
	}
	tok, err := c.r.Src.Token(ctx)
	if err != nil {
		return nil, fmt.Errorf("grpcauth: token for gRPC call: %w", err)
	}
	if !bearer.Usable(tok) {
		return nil, middleware.ErrNoAccessToken
	}
	if s, ok := ctx.Value(sentKey{}).(*sentToken); ok {
		s.Store(&tok.AccessToken)
	}
	return map[string]string{"authorization": "Bearer " + tok.AccessToken}, nil
}

// RequireTransportSecurity reports false so that grpc lets the call reach
// GetRequestMetadata, which checks the connection itself: grpc cannot
// tell a loopback connection from any other.
func (c *PerRPCCredentials) RequireTransportSecurity() bool { return false }

// loopbackPeer reports whether the connection of the call in ctx goes to
// a loopback address or a Unix socket.
func loopbackPeer(ctx context.Context) bool {
	p, ok := peer.FromContext(ctx)
	if !ok || p.Addr == nil {
		return false
	}
	switch a := p.Addr.(type) {
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	case *net.UnixAddr:
		return true
	}
	host, _, err := net.SplitHostPort(p.Addr.String())
	return err == nil && loopback.Host(host)
}

// loopbackAuthority reports whether the call is meant for a loopback
// host: grpc passes "https://" + the channel's authority + the service as
// the first uri. A loopback peer alone does not keep the token on the host:
// it may be a local HTTP CONNECT proxy (grpc honours HTTPS_PROXY) or a
// port forward whose far end is the authority, reached in clear text.
func loopbackAuthority(uri []string) bool {
	if len(uri) == 0 {
		return false
	}
	u, err := url.Parse(uri[0])
	return err == nil && loopback.URL(u)
}

// sentToken records, for the retrying interceptors, the token
// GetRequestMetadata sent with a call.
type sentToken struct{ atomic.Pointer[string] }

type sentKey struct{}

func (s *sentToken) get() string {
	if p := s.Load(); p != nil {
		return *p
	}
	return ""
}
