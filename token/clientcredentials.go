package token

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/idbridge/idbridge/internal/audit"
)

// ClientCredentials obtains tokens for the client itself (RFC 6749 section
// 4.4): the grant for service-to-service calls where no user is involved.
// Each call to Token makes one request; wrap it in a [Cache], or use
// [NewCachedClientCredentials].
//
// With Options.Audit each request records token.issued or
// token.refresh_failed, unless a [Cache] that audits wraps it (the Cache
// records them then).
//
// A ClientCredentials is safe for concurrent use by multiple goroutines.
type ClientCredentials struct {
	r      *requester
	scopes string
	sourceAudit
}

// NewClientCredentials returns a source of tokens for client c with the
// given scopes (for Entra, the resource's "api://…/.default").
func NewClientCredentials(c Client, scopes []string, optFns ...func(*Options)) (*ClientCredentials, error) {
	o, err := resolve(optFns)
	if err != nil {
		return nil, err
	}
	return newClientCredentials(c, scopes, o)
}

func newClientCredentials(c Client, scopes []string, o *config) (*ClientCredentials, error) {
	r, err := newRequester(c, o)
	if err != nil {
		return nil, err
	}
	return &ClientCredentials{r: r, scopes: strings.Join(scopes, " "), sourceAudit: sourceAudit{log: audit.New(o.Audit)}}, nil
}

// NewCachedClientCredentials is [NewClientCredentials] wrapped in a
// [Cache]: the usual way to call an API as a service. Close the result.
func NewCachedClientCredentials(c Client, scopes []string, optFns ...func(*CachedOptions)) (*Cache, error) {
	o, err := resolve(optFns)
	if err != nil {
		return nil, err
	}
	return newCachedClientCredentials(c, scopes, o)
}

func newCachedClientCredentials(c Client, scopes []string, o *config) (*Cache, error) {
	cc, err := newClientCredentials(c, scopes, o)
	if err != nil {
		return nil, err
	}
	return newCache(cc, o)
}

// Token requests a new token from the token endpoint.
func (c *ClientCredentials) Token(ctx context.Context) (*Token, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	if c.scopes != "" {
		form.Set("scope", c.scopes)
	}
	start := time.Now()
	tok, err := c.r.token(ctx, form)
	c.emit(ctx, audit.TokenIssued, tok, err, time.Since(start))
	return tok, err
}
