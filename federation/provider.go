package federation

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"weak"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/audit"
	"github.com/idbridge/idbridge/token"
)

// invalidator is the optional interface of a source that can drop its
// cached token.
type invalidator interface{ Invalidate() }

// Provider is an aws.CredentialsProvider that exchanges an identity token
// for temporary AWS credentials with STS AssumeRoleWithWebIdentity, and
// caches them.
//
// It composes the SDK rather than rewriting it: each exchange is one
// stscreds.WebIdentityRoleProvider call (which builds the request, retries
// InvalidIdentityToken as AWS advises and checks the answer). The result
// is kept in a [token.Cache], idbridge's one renewing cache, so credentials
// behave like tokens:
//
//   - Retrieve of fresh credentials takes no lock and allocates nothing;
//   - renewal starts Options.RefreshWindow (with jitter, never more than
//     half the session's lifetime) before expiry, in the background, also
//     when nobody asks: after the first call no caller waits on STS;
//   - however many callers ask for missing or expired credentials, STS is
//     called once, detached from their cancellation;
//   - credentials are never handed out within their expiry margin (30s,
//     at most a tenth of their lifetime), and the Expires they carry is
//     STS's expiration less that margin, so that a cache in front of the
//     Provider (aws.Config wraps providers in aws.CredentialsCache) stops
//     using them in time as well;
//   - failures are classed by the STS code (see the sentinels); those no
//     retry can fix are answered from memory for Options.NonRecoverableTTL
//     for the same token, and drop the cached credentials: access AWS now
//     refuses is not extended from memory;
//   - transient failures (throttling, 5xx, network, IDPCommunicationError)
//     back off exponentially with jitter; meanwhile credentials that are
//     still valid keep being served;
//   - one audit event (sts.assumed or sts.failed) per STS call, without the
//     token or the secret key.
//
// A Provider is safe for concurrent use by multiple goroutines. Call Close
// when done: it stops the background renewal and waits for it. A Provider
// dropped without Close stops its renewal once the garbage collector finds
// it.
type Provider struct {
	a     *assumer
	x     *exchanger
	cache *token.Cache
}

// A Provider is what the SDK's clients take as their Credentials, and
// names its source for the SDK's user agent metrics.
var (
	_ aws.CredentialsProvider      = (*Provider)(nil)
	_ aws.CredentialProviderSource = (*Provider)(nil)
)

// exchanger is the cache's source. It refers to the cache only weakly:
// the cache's goroutine holds the exchanger, and a strong reference back
// would keep a forgotten Provider's cache, and that goroutine, alive.
type exchanger struct {
	a     *assumer
	cache weak.Pointer[token.Cache]

	mu     sync.Mutex
	closed bool           // guarded by mu
	wg     sync.WaitGroup // exchanges in flight; Close waits for them
}

// NewProvider returns a Provider assuming roleARN with tokens from src,
// sent through client: an *sts.Client, or any value with its
// AssumeRoleWithWebIdentity method (the SDK's
// stscreds.AssumeRoleWithWebIdentityAPIClient), such as a test double. src is any token source (a [token.Cache] over any
// flow); it must be safe for concurrent use. When it also has an
// Invalidate() method, as [token.Cache] does, the provider calls it when
// the token turns out to be expired and asks once more. It checks its options and calls nothing: the first
// Retrieve fetches the token and calls STS. It starts the goroutine that
// renews in the background; call Close when done.
func NewProvider(client stscreds.AssumeRoleWithWebIdentityAPIClient, roleARN string, src token.Source, optFns ...func(*Options)) (*Provider, error) {
	if src == nil {
		return nil, fmt.Errorf("federation: %w: nil token source", idbridge.ErrInvalidOptions)
	}
	a, err := newAssumer(client, roleARN, optFns)
	if err != nil {
		return nil, err
	}
	a.fetch = a.fromSource(src)
	if inv, ok := src.(invalidator); ok {
		a.invalidate = inv.Invalidate
	}
	return a.provider()
}

func newAssumer(client stscreds.AssumeRoleWithWebIdentityAPIClient, roleARN string, optFns []func(*Options)) (*assumer, error) {
	if client == nil {
		return nil, fmt.Errorf("federation: %w: nil STS client", idbridge.ErrInvalidOptions)
	}
	if !roleARNRe.MatchString(roleARN) {
		return nil, fmt.Errorf("federation: %w: malformed IAM role ARN %q (want arn:aws:iam::<12-digit account>:role/<name>)", idbridge.ErrInvalidOptions, roleARN)
	}
	o, err := newOptions(optFns)
	if err != nil {
		return nil, err
	}
	return &assumer{client: client, roleARN: roleARN, o: o, log: audit.New(o.Audit)}, nil
}

func (a *assumer) provider() (*Provider, error) {
	x := &exchanger{a: a}
	p := &Provider{a: a, x: x}
	cache, err := token.NewCache(token.SourceFunc(x.exchange), func(o *token.CacheOptions) {
		if !a.o.systemClock {
			o.Now = a.o.Now
		}
		o.RefreshWindow, o.RefreshJitter = a.o.RefreshWindow, a.o.RefreshJitter
		o.ExpiryMargin = expiryMargin
		o.MinBackoff, o.MaxBackoff = a.o.MinBackoff, a.o.MaxBackoff
		o.Timeout = a.o.Timeout
	})
	if err != nil {
		return nil, fmt.Errorf("federation: %w: %w", idbridge.ErrInvalidOptions, err)
	}
	p.cache = cache
	x.cache = weak.Make(cache)
	return p, nil
}

// The cache keeps credentials in the fields of a token.Token, so that
// Retrieve rebuilds them from the token the cache hands out without a
// lookup or an allocation; such a token never leaves this file:
//
//	AccessToken     AccessKeyID
//	RefreshToken    SecretAccessKey
//	IDToken         SessionToken
//	IssuedTokenType AccountID
//	Expiry          STS's expiration, which the cache schedules on
//	ExtExpiry       Expires as handed out: the expiration less the margin
//
// Token redacts the secret fields under fmt, JSON and slog.
const credentialsType = "aws-credentials"

// exchange is the cache's source: one STS exchange.
func (x *exchanger) exchange(ctx context.Context) (*token.Token, error) {
	x.mu.Lock()
	if x.closed {
		x.mu.Unlock()
		return nil, idbridge.ErrClosed
	}
	x.wg.Add(1)
	x.mu.Unlock()
	defer x.wg.Done()

	c, err := x.a.Retrieve(ctx)
	if err != nil {
		if cache := x.cache.Value(); cache != nil && !transient(err) {
			// Access AWS refuses is not extended from memory: callers
			// get the error, not the old credentials.
			cache.Invalidate()
		}
		return nil, err
	}
	margin := min(expiryMargin, c.Expires.Sub(x.a.o.Now())/10)
	return &token.Token{
		TokenType:       credentialsType,
		AccessToken:     c.AccessKeyID,
		RefreshToken:    c.SecretAccessKey,
		IDToken:         c.SessionToken,
		IssuedTokenType: c.AccountID,
		Expiry:          c.Expires,
		ExtExpiry:       c.Expires.Add(-margin),
	}, nil
}

// Retrieve returns the cached credentials, or waits for STS when there are
// none or they are within their margin of expiry. Errors match the
// package's sentinels with errors.Is; a caller whose ctx ends first gets
// *aws.RequestCanceledError while the exchange goes on for the others.
func (p *Provider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	runs := p.a.runs.Load()
	t, err := p.cache.Token(ctx)
	if err != nil {
		err = p.failed(ctx, err)
		if e := (*Error)(nil); p.a.runs.Load() == runs && errors.As(err, &e) {
			// The cache answered a remembered failure without asking STS.
			p.a.emitRemembered(ctx, nil, err, 0)
		}
		return aws.Credentials{}, err
	}
	return aws.Credentials{
		AccessKeyID:     t.AccessToken,
		SecretAccessKey: t.RefreshToken,
		SessionToken:    t.IDToken,
		Source:          stscreds.WebIdentityProviderName,
		CanExpire:       true,
		Expires:         t.ExtExpiry,
		AccountID:       t.IssuedTokenType,
	}, nil
}

// failed turns the cache's error back into this package's.
func (p *Provider) failed(ctx context.Context, err error) error {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return &aws.RequestCanceledError{Err: err}
	case errors.Is(err, idbridge.ErrClosed):
		return &Error{Err: idbridge.ErrClosed, RoleARN: p.a.roleARN, Detail: "the provider is closed"}
	}
	// The cache refused what STS gave: credentials already inside their
	// margin (a wrong local clock, a session shorter than a second).
	return &Error{Err: ErrSTSUnavailable, RoleARN: p.a.roleARN, Detail: scrub(err.Error(), 300), Cause: err}
}

// Invalidate drops the cached credentials and any remembered failure, so
// that the next Retrieve calls STS. Use it when AWS rejects the credentials
// (for example after the role's policy changed) or after fixing the trust
// policy.
func (p *Provider) Invalidate() {
	p.a.fail.Store(nil)
	p.a.failures.Store(0)
	p.cache.Invalidate()
}

// Close stops the background renewal, cancels an exchange in flight and
// waits for it to end. Retrieve then serves credentials still cached and
// otherwise fails with idbridge.ErrClosed. Close is idempotent and returns nil.
func (p *Provider) Close() error {
	p.x.mu.Lock()
	p.x.closed = true
	p.x.mu.Unlock()
	p.cache.Close()
	p.x.wg.Wait()
	return nil
}

// RoleARN returns the role the provider assumes.
func (p *Provider) RoleARN() string { return p.a.roleARN }

// ProviderSources reports web identity as the credentials' source, for the
// SDK's user agent metrics.
func (p *Provider) ProviderSources() []aws.CredentialSource {
	return []aws.CredentialSource{aws.CredentialSourceSTSAssumeRoleWebID}
}
