package middleware

import (
	"context"
	"fmt"

	"google.golang.org/grpc/credentials"

	"github.com/idbridge/idbridge/token"
)

// PerRPCCredentials is a gRPC credentials.PerRPCCredentials that sends
// "authorization: Bearer" metadata from a token.Source with every call,
// like grpc-go's credentials/oauth.TokenSource. It demands transport
// security twice: RequireTransportSecurity makes grpc refuse to dial
// without it, and each call checks that the connection provides privacy
// and integrity, so a token never crosses the network in clear text.
//
// It is safe for concurrent use by multiple goroutines; give the source a
// cache (token.Cache) so that calls do not each fetch a token.
type PerRPCCredentials struct {
	src token.Source
}

// NewPerRPCCredentials returns credentials attaching tokens from src; pass
// them with grpc.WithPerRPCCredentials.
func NewPerRPCCredentials(src token.Source) (*PerRPCCredentials, error) {
	if src == nil {
		return nil, fmt.Errorf("%w: a token source is required", ErrInvalidOptions)
	}
	return &PerRPCCredentials{src: src}, nil
}

// GetRequestMetadata returns the authorization metadata for one call. It
// refuses connections below credentials.PrivacyAndIntegrity.
func (c *PerRPCCredentials) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	ri, _ := credentials.RequestInfoFromContext(ctx)
	if err := credentials.CheckSecurityLevel(ri.AuthInfo, credentials.PrivacyAndIntegrity); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInsecureTransport, err)
	}
	tok, err := c.src.Token(ctx)
	if err != nil {
		return nil, fmt.Errorf("middleware: token for gRPC call: %w", err)
	}
	if !usable(tok) {
		return nil, ErrNoAccessToken
	}
	return map[string]string{"authorization": "Bearer " + tok.AccessToken}, nil
}

// RequireTransportSecurity reports true: bearer tokens need TLS.
func (c *PerRPCCredentials) RequireTransportSecurity() bool { return true }
