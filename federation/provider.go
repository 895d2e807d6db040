package federation

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/idbridge/idbridge/internal/audit"
	"github.com/idbridge/idbridge/token"
)

// AssumeRoleWithWebIdentityAPIClient is the one STS operation a [Provider]
// needs. *sts.Client satisfies it, and so does any test double; it has the
// method set of stscreds.AssumeRoleWithWebIdentityAPIClient, so the same
// value serves both.
type AssumeRoleWithWebIdentityAPIClient interface {
	AssumeRoleWithWebIdentity(ctx context.Context, params *sts.AssumeRoleWithWebIdentityInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error)
}

// TokenSource is what a [Provider] needs of the identity token's source:
// the token package's Source (a [token.Cache] over any flow) satisfies it.
// Token must be safe for concurrent use. When the source also has an
// Invalidate() method, as [token.Cache] does, the provider calls it when
// the token turns out to be expired and asks once more.
type TokenSource interface {
	Token(ctx context.Context) (*token.Token, error)
}

// invalidator is the optional interface of a source that can drop its
// cached token.
type invalidator interface{ Invalidate() }

// Provider is an aws.CredentialsProvider that exchanges an identity token
// for temporary AWS credentials with STS AssumeRoleWithWebIdentity, and
// caches them.
//
// It composes the SDK rather than rewriting it: each exchange is one
// stscreds.WebIdentityRoleProvider call (which builds the request, retries
// InvalidIdentityToken as AWS advises and checks the answer), and the
// result is kept in an aws.CredentialsCache, which merges concurrent
// callers into one STS call that runs detached from their cancellation.
// What the Provider adds, through the cache's optional strategies:
//
//   - renewal ahead of expiry: Options.ExpiryWindow with jitter, never more
//     than half the session's lifetime;
//   - failures classed by the STS code (see the sentinels); those no retry
//     can fix are answered from memory for Options.NonRecoverableTTL for
//     the same token, instead of calling STS in a loop;
//   - transient failures (throttling, 5xx, network, IDPCommunicationError)
//     back off exponentially; meanwhile, credentials that still have more
//     than a minute to live keep being served;
//   - one audit event (sts.assumed or sts.failed) per STS call, without the
//     token or the secret key.
//
// A Provider is safe for concurrent use by multiple goroutines. It has no
// background work and so no Close: it renews only when Retrieve is called.
// The one goroutine it may leave behind is an exchange whose callers all
// gave up, which the cache lets finish so the next caller gets its result;
// Options.Timeout bounds it.
type Provider struct {
	cache *aws.CredentialsCache
	a     *assumer
}

// NewProvider returns a Provider assuming roleARN with tokens from src,
// sent through client. It checks its options and calls nothing: the first
// Retrieve fetches the token and calls STS.
func NewProvider(client AssumeRoleWithWebIdentityAPIClient, roleARN string, src TokenSource, optFns ...func(*Options)) (*Provider, error) {
	if src == nil {
		return nil, fmt.Errorf("%w: nil token source", ErrInvalidOptions)
	}
	a, err := newAssumer(client, roleARN, optFns)
	if err != nil {
		return nil, err
	}
	a.fetch = a.fromSource(src)
	if inv, ok := src.(invalidator); ok {
		a.invalidate = inv.Invalidate
	}
	return a.provider(), nil
}

func newAssumer(client AssumeRoleWithWebIdentityAPIClient, roleARN string, optFns []func(*Options)) (*assumer, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: nil STS client", ErrInvalidOptions)
	}
	if !roleARNRe.MatchString(roleARN) {
		return nil, fmt.Errorf("%w: malformed IAM role ARN %q (want arn:aws:iam::<12-digit account>:role/<name>)", ErrInvalidOptions, roleARN)
	}
	o, err := newOptions(optFns)
	if err != nil {
		return nil, err
	}
	return &assumer{client: client, roleARN: roleARN, o: o, log: audit.New(o.Audit)}, nil
}

func (a *assumer) provider() *Provider {
	cache := aws.NewCredentialsCache(a, func(co *aws.CredentialsCacheOptions) {
		co.ExpiryWindow = a.o.ExpiryWindow
		co.ExpiryWindowJitterFrac = a.o.ExpiryWindowJitterFrac
	})
	return &Provider{cache: cache, a: a}
}

// Retrieve returns cached credentials, or assumes the role when there are
// none or they are inside the renewal window. Errors match the package's
// sentinels with errors.Is; a caller whose ctx ends first gets
// *aws.RequestCanceledError while the exchange goes on for the others.
func (p *Provider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	return p.cache.Retrieve(ctx)
}

// Invalidate drops the cached credentials and any remembered failure, so
// that the next Retrieve calls STS. Use it when AWS rejects the credentials
// (for example after the role's policy changed) or after fixing the trust
// policy.
func (p *Provider) Invalidate() {
	p.cache.Invalidate()
	p.a.fail.Store(nil)
	p.a.failures.Store(0)
}

// RoleARN returns the role the provider assumes.
func (p *Provider) RoleARN() string { return p.a.roleARN }

// ProviderSources reports web identity as the credentials' source, for the
// SDK's user agent metrics.
func (p *Provider) ProviderSources() []aws.CredentialSource {
	return p.a.ProviderSources()
}

// ProviderSources implements aws.CredentialProviderSource.
func (a *assumer) ProviderSources() []aws.CredentialSource {
	return []aws.CredentialSource{aws.CredentialSourceSTSAssumeRoleWebID}
}

// AdjustExpiresBy moves the cached credentials' expiry earlier by the
// cache's window (dur is negative), but never by more than half their
// remaining life: a fixed window longer than a short session would renew
// on every call.
func (a *assumer) AdjustExpiresBy(c aws.Credentials, dur time.Duration) (aws.Credentials, error) {
	if !c.CanExpire || dur >= 0 {
		return c, nil
	}
	w := -dur
	if half := c.Expires.Sub(a.o.Now()) / 2; w > half {
		w = max(half, 0)
	}
	c.Expires = c.Expires.Add(-w)
	return c, nil
}

// HandleFailToRefresh keeps serving the last credentials while STS or the
// IdP is unreachable, as long as they have more than a minute to live; the
// cache then tries again after the backoff. Failures a retry cannot fix
// (denied, untrusted token) are returned: access that AWS now refuses is
// not extended from memory.
func (a *assumer) HandleFailToRefresh(_ context.Context, _ aws.Credentials, err error) (aws.Credentials, error) {
	if !transient(err) {
		return aws.Credentials{}, err
	}
	last := a.last.Load()
	if last == nil {
		return aws.Credentials{}, err
	}
	now := a.o.Now()
	if last.Expires.Sub(now) <= staleFloor {
		return aws.Credentials{}, err
	}
	retry := a.o.MinBackoff
	if f := a.fail.Load(); f != nil && f.until.Sub(now) > retry {
		retry = f.until.Sub(now)
	}
	c := *last
	// AdjustExpiresBy then takes at most half of this off: the next
	// attempt comes after the backoff, and never after the real expiry.
	if until := now.Add(2 * retry); until.Before(c.Expires) {
		c.Expires = until
	}
	return c, nil
}
