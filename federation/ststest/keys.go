package ststest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/idbridge/idbridge/jwks"
)

// keyTTL is how long fetched keys are used without asking the IdP again.
const keyTTL = 5 * time.Minute

// remoteKeys fetches an OIDC provider's JWKS when a token needs it, as STS
// does: on first use, after keyTTL, and whenever a token names a kid it
// does not have (so a rotation is seen at once — the fake does not model
// AWS's own caching). A failed fetch is a key set error, which the fake
// answers with IDPCommunicationError.
type remoteKeys struct {
	issuer  string
	jwksURL string // "" means discover it from the issuer
	client  *http.Client
	now     func() time.Time

	mu      sync.Mutex // serializes fetches; guards the fields below
	keys    *jwks.StaticKeySet
	fetched time.Time
}

// Key implements jwks.KeySet.
func (r *remoteKeys) Key(ctx context.Context, kid, iss string) (*jwks.Key, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.keys != nil && r.now().Sub(r.fetched) < keyTTL {
		if k, err := r.keys.Key(ctx, kid, iss); err == nil {
			return k, nil
		}
	}
	if err := r.fetch(ctx); err != nil {
		return nil, err
	}
	return r.keys.Key(ctx, kid, iss)
}

func (r *remoteKeys) fetch(ctx context.Context) error {
	u := r.jwksURL
	if u == "" {
		var doc struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		b, err := r.get(ctx, strings.TrimSuffix(r.issuer, "/")+"/.well-known/openid-configuration")
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &doc); err != nil || doc.Issuer != r.issuer || doc.JWKSURI == "" {
			return fmt.Errorf("ststest: discovery document of %s is unusable", r.issuer)
		}
		u = doc.JWKSURI
	}
	b, err := r.get(ctx, u)
	if err != nil {
		return err
	}
	keys, _, err := jwks.ParseJWKS(b)
	if err != nil {
		return err
	}
	r.keys, r.fetched = jwks.NewStaticKeySet(keys...), r.now()
	return nil
}

func (r *remoteKeys) get(ctx context.Context, u string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("ststest: GET %s: HTTP %d", u, resp.StatusCode)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 1<<20))
}
