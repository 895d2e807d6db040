package samlsts

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/federation"
	"github.com/idbridge/idbridge/federation/internal/stsclass"
	"github.com/idbridge/idbridge/federation/saml"
	"github.com/idbridge/idbridge/internal/audit"
	"github.com/idbridge/idbridge/internal/option"
	"github.com/idbridge/idbridge/internal/reason"
	"github.com/idbridge/idbridge/rbac"
)

// AWS's SAML service provider, as Entra's "Amazon Web Services (AWS)"
// enterprise application is configured: the assertion's Audience and
// Recipient.
const (
	Audience  = "urn:amazon:webservices"
	Recipient = "https://signin.aws.amazon.com/saml"
)

// The attributes AWS reads from the assertion.
const (
	AttrRole            = "https://aws.amazon.com/SAML/Attributes/Role"
	AttrRoleSessionName = "https://aws.amazon.com/SAML/Attributes/RoleSessionName"
	AttrSessionDuration = "https://aws.amazon.com/SAML/Attributes/SessionDuration"
)

// maxAssertionLength is STS's limit on SAMLAssertion (base64 characters).
const maxAssertionLength = 100000

// ErrNoRole: the assertion lists no role/provider pair, or not the one the
// options or the rbac grant ask for, or several and none was chosen. STS
// would refuse a pair the assertion does not list, and a grant the IdP
// does not vouch for must not be asked for.
var ErrNoRole = reason.New(reason.InsufficientRole, "samlsts: the assertion grants no such AWS role")

// AssumeRoleWithSAMLAPIClient is the one STS operation a [Provider] needs;
// *sts.Client satisfies it.
type AssumeRoleWithSAMLAPIClient interface {
	AssumeRoleWithSAML(ctx context.Context, params *sts.AssumeRoleWithSAMLInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleWithSAMLOutput, error)
}

// AssertionSource supplies a fresh SAMLResponse (base64, as the HTTP-POST
// binding carries it) for AWS whenever credentials must be renewed: a
// sign-in at the IdP, typically IdP-initiated for the AWS application. It
// must be safe for concurrent use. Each assertion is accepted once.
type AssertionSource interface {
	Assertion(ctx context.Context) (string, error)
}

// AssertionSourceFunc adapts a function to an AssertionSource.
type AssertionSourceFunc func(ctx context.Context) (string, error)

// Assertion implements AssertionSource.
func (f AssertionSourceFunc) Assertion(ctx context.Context) (string, error) { return f(ctx) }

// Options configure a [Provider]. NewProvider copies them.
type Options struct {
	// RoleARN chooses the role: one of the assertion's pairs must name it.
	// Empty takes the grant of Policy when set, else the assertion's only
	// pair.
	RoleARN string
	// Policy, when set, decides on the assertion's claims; the role is the
	// decision's AWS grant (federation.RoleFor), and the assertion must
	// list it too. Its Duration bounds the session.
	Policy *rbac.Policy
	// Duration is the session to ask for. Zero takes the grant's, else the
	// assertion's SessionDuration; each bound present (this, the grant's,
	// the attribute) caps it, then federation's [MinDuration, MaxDuration].
	Duration time.Duration
	// SessionPolicy is an inline session policy (JSON) narrowing the role.
	SessionPolicy string
	// RefreshWindow is how long before expiry the next Retrieve renews
	// the credentials, as token.Renewal.RefreshWindow: zero is the larger
	// of 5 minutes and a tenth of the session, never more than half the
	// session; negative renews only at expiry.
	RefreshWindow time.Duration
	// RefreshJitter renews up to this fraction of the window earlier, at
	// random. Zero means 0.2, negative means none; at most 1.
	RefreshJitter float64
	// Timeout bounds one retrieval (assertion plus STS call); zero or
	// negative means 30s, as in token.Options.
	Timeout time.Duration
	// Now is the clock for the renewal window; nil means time.Now.
	Now func() time.Time
	// Audit receives sts.assumed and sts.failed events.
	Audit slog.Handler
}

// Provider is an aws.CredentialsProvider that exchanges SAML assertions
// for temporary credentials with STS AssumeRoleWithSAML, caches them in an
// aws.CredentialsCache (concurrent callers share one call) and renews them
// ahead of expiry with a new assertion from its source. Every assertion is
// validated locally first (signature, audience urn:amazon:webservices,
// recipient, times, one-time use) so that the role is chosen only from what
// the IdP signed. Safe for concurrent use by multiple goroutines; no
// background work, so no Close.
type Provider struct {
	cache *aws.CredentialsCache
	r     *retriever
}

type retriever struct {
	client AssumeRoleWithSAMLAPIClient
	v      *saml.Validator
	src    AssertionSource
	o      Options
	log    *audit.Logger
}

// NewProvider returns a Provider validating assertions from src with v
// (built for [Audience] and [Recipient], with AllowIdPInitiated for the
// usual IdP-initiated flow) and sending them through client.
func NewProvider(client AssumeRoleWithSAMLAPIClient, v *saml.Validator, src AssertionSource, optFns ...func(*Options)) (*Provider, error) {
	if client == nil || v == nil || src == nil {
		return nil, fmt.Errorf("samlsts: %w: nil STS client, validator or assertion source", idbridge.ErrInvalidOptions)
	}
	o := option.New(optFns)
	if o.RoleARN != "" && !roleRe.MatchString(o.RoleARN) {
		return nil, fmt.Errorf("samlsts: %w: malformed IAM role ARN %q", idbridge.ErrInvalidOptions, o.RoleARN)
	}
	if o.Duration < 0 {
		return nil, fmt.Errorf("samlsts: %w: negative Duration", idbridge.ErrInvalidOptions)
	}
	if len(o.SessionPolicy) > 2048 {
		return nil, fmt.Errorf("samlsts: %w: session policy exceeds STS's 2048 characters", idbridge.ErrInvalidOptions)
	}
	option.Limit(&o.RefreshJitter, defaultJitter, 1) // negative: no jitter
	option.Positive(&o.Timeout, defaultTimeout)
	if o.Now == nil {
		o.Now = time.Now
	}
	r := &retriever{client: client, v: v, src: src, o: o, log: audit.New(o.Audit)}
	cache := aws.NewCredentialsCache(r, func(co *aws.CredentialsCacheOptions) {
		// AdjustExpiresBy computes the window; the cache only has to ask
		// for it (a positive ExpiryWindow), or not when renewal ahead of
		// expiry is off.
		co.ExpiryWindow = time.Second
		if o.RefreshWindow < 0 {
			co.ExpiryWindow = 0
		}
	})
	return &Provider{cache: cache, r: r}, nil
}

// Retrieve returns cached credentials, or validates a new assertion and
// assumes its role when there are none or they are inside the renewal
// window. Errors match the sentinels of saml (a bad assertion), federation
// (STS's answer: federation.ErrAccessDenied, ...) and this package.
func (p *Provider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	return p.cache.Retrieve(ctx)
}

// Invalidate drops the cached credentials.
func (p *Provider) Invalidate() { p.cache.Invalidate() }

// ProviderSources reports SAML as the credentials' source.
func (r *retriever) ProviderSources() []aws.CredentialSource {
	return []aws.CredentialSource{aws.CredentialSourceSTSAssumeRoleSaml}
}

// AdjustExpiresBy moves the credentials' Expires, as the cache sees them,
// to the start of the refresh window.
func (r *retriever) AdjustExpiresBy(c aws.Credentials, _ time.Duration) (aws.Credentials, error) {
	if !c.CanExpire {
		return c, nil
	}
	c.Expires = c.Expires.Add(-r.window(c.Expires.Sub(r.o.Now())))
	return c, nil
}

// window is the refresh window of credentials valid for life, with
// token.Renewal's meaning of RefreshWindow and RefreshJitter.
func (r *retriever) window(life time.Duration) time.Duration {
	life = max(life, 0)
	w := r.o.RefreshWindow
	if w == 0 {
		w = max(defaultWindow, life/10)
	}
	w = min(w, life/2)
	return w + time.Duration(float64(w)*r.o.RefreshJitter*rand.Float64())
}

const (
	defaultWindow  = 5 * time.Minute
	defaultJitter  = 0.2
	defaultTimeout = 30 * time.Second
)

var (
	roleRe     = regexp.MustCompile(`^arn:aws(-cn|-us-gov|-iso|-iso-[a-z])?:iam::[0-9]{12}:role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}$`)
	providerRe = regexp.MustCompile(`^arn:aws(-cn|-us-gov|-iso|-iso-[a-z])?:iam::[0-9]{12}:saml-provider/[\w+=,.@-]{1,128}$`)
)

// pair is one role the assertion's Role attribute lets the user assume,
// with the IAM SAML provider that trusts the IdP.
type pair struct{ RoleARN, ProviderARN string }

// pairs parses the Role attribute values ("role ARN,provider ARN" in
// either order, as AWS accepts). Malformed values are skipped: STS would
// refuse them.
func pairs(values []string) []pair {
	var out []pair
	for _, v := range values {
		a, b, ok := strings.Cut(strings.TrimSpace(v), ",")
		if !ok {
			continue
		}
		a, b = strings.TrimSpace(a), strings.TrimSpace(b)
		if providerRe.MatchString(a) {
			a, b = b, a
		}
		if roleRe.MatchString(a) && providerRe.MatchString(b) {
			out = append(out, pair{RoleARN: a, ProviderARN: b})
		}
	}
	return out
}

// choice is the role and duration chosen for one assertion.
type choice struct {
	pair     pair
	duration time.Duration
	mapping  string
}

func (r *retriever) choose(a *saml.Assertion) (choice, error) {
	listed := pairs(a.Attributes[AttrRole])
	want := r.o.RoleARN
	var bound []time.Duration
	var ch choice
	if r.o.Policy != nil {
		role, err := federation.RoleFor(r.o.Policy.Decide(a.Claims), a.Claims, want)
		if err != nil {
			return ch, err
		}
		want, ch.mapping = role.ARN, role.Mapping
		if role.Duration > 0 {
			bound = append(bound, role.Duration)
		}
	}
	switch {
	case len(listed) == 0:
		return ch, fmt.Errorf("%w: no %s attribute with a role and SAML provider ARN", ErrNoRole, AttrRole)
	case want == "" && len(listed) > 1:
		return ch, fmt.Errorf("%w: the assertion lists %d roles; set Options.RoleARN or Options.Policy", ErrNoRole, len(listed))
	case want == "":
		ch.pair = listed[0]
	default:
		found := false
		for _, p := range listed {
			if p.RoleARN == want {
				ch.pair, found = p, true
				break
			}
		}
		if !found {
			return ch, fmt.Errorf("%w: %s is not among the assertion's roles", ErrNoRole, want)
		}
	}
	if r.o.Duration > 0 {
		bound = append(bound, r.o.Duration)
	}
	if vs := a.Attributes[AttrSessionDuration]; len(vs) > 0 {
		if s, err := strconv.Atoi(strings.TrimSpace(vs[0])); err == nil && s > 0 && s <= math.MaxInt32 {
			bound = append(bound, time.Duration(s)*time.Second)
		}
	}
	if len(bound) > 0 {
		d := bound[0]
		for _, b := range bound[1:] {
			d = min(d, b)
		}
		ch.duration = min(max(d, federation.MinDuration), federation.MaxDuration).Truncate(time.Second)
	}
	return ch, nil
}

// Retrieve implements aws.CredentialsProvider for the cache: one
// assertion, one validation, one STS call.
func (r *retriever) Retrieve(ctx context.Context) (aws.Credentials, error) {
	ctx, cancel := context.WithTimeout(ctx, r.o.Timeout)
	defer cancel()
	start := time.Now()
	resp, err := r.src.Assertion(ctx)
	if err != nil {
		err = &federation.Error{Err: federation.ErrTokenSource, Detail: "assertion source failed", Cause: err}
		r.emit(ctx, nil, choice{}, nil, aws.Credentials{}, err, time.Since(start))
		return aws.Credentials{}, err
	}
	if len(resp) > maxAssertionLength {
		err := &federation.Error{Err: federation.ErrTooLarge, Detail: fmt.Sprintf("SAML response of %d characters exceeds STS's %d", len(resp), maxAssertionLength)}
		r.emit(ctx, nil, choice{}, nil, aws.Credentials{}, err, time.Since(start))
		return aws.Credentials{}, err
	}
	a, err := r.v.Validate(ctx, resp)
	if err != nil {
		r.emit(ctx, nil, choice{}, nil, aws.Credentials{}, err, time.Since(start))
		return aws.Credentials{}, err
	}
	ch, err := r.choose(a)
	if err != nil {
		r.emit(ctx, a, ch, nil, aws.Credentials{}, err, time.Since(start))
		return aws.Credentials{}, err
	}
	in := &sts.AssumeRoleWithSAMLInput{
		RoleArn: aws.String(ch.pair.RoleARN), PrincipalArn: aws.String(ch.pair.ProviderARN),
		SAMLAssertion: aws.String(resp),
	}
	if ch.duration > 0 {
		in.DurationSeconds = aws.Int32(int32(ch.duration / time.Second))
	}
	if r.o.SessionPolicy != "" {
		in.Policy = aws.String(r.o.SessionPolicy)
	}
	out, err := r.client.AssumeRoleWithSAML(ctx, in)
	if err != nil {
		err = stsclass.Classify(err, ch.pair.RoleARN)
		r.emit(ctx, a, ch, out, aws.Credentials{}, err, time.Since(start))
		return aws.Credentials{}, err
	}
	c := out.Credentials
	if c == nil || c.AccessKeyId == nil || c.SecretAccessKey == nil || c.SessionToken == nil || c.Expiration == nil {
		err := &federation.Error{Err: federation.ErrSTSUnavailable, RoleARN: ch.pair.RoleARN, Detail: "STS answered without complete credentials"}
		r.emit(ctx, a, ch, out, aws.Credentials{}, err, time.Since(start))
		return aws.Credentials{}, err
	}
	creds := aws.Credentials{
		AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretAccessKey, SessionToken: *c.SessionToken,
		Source: "samlsts", CanExpire: true, Expires: *c.Expiration,
	}
	if out.AssumedRoleUser != nil && out.AssumedRoleUser.Arn != nil {
		if parts := strings.Split(*out.AssumedRoleUser.Arn, ":"); len(parts) > 4 {
			creds.AccountID = parts[4]
		}
	}
	if !creds.Expires.After(r.o.Now()) {
		err := &federation.Error{Err: federation.ErrSTSUnavailable, RoleARN: ch.pair.RoleARN, Detail: "STS answered expired credentials (is the local clock right?)"}
		r.emit(ctx, a, ch, out, aws.Credentials{}, err, time.Since(start))
		return aws.Credentials{}, err
	}
	r.emit(ctx, a, ch, out, creds, nil, time.Since(start))
	return creds, nil
}

// emit writes sts.assumed or sts.failed as the web-identity provider does;
// the assertion appears only as token_id (a hash of its ID).
func (r *retriever) emit(ctx context.Context, a *saml.Assertion, ch choice, out *sts.AssumeRoleWithSAMLOutput, creds aws.Credentials, err error, d time.Duration) {
	if !r.log.Enabled(ctx) {
		return
	}
	ev := audit.Event{Name: audit.STSAssumed, Outcome: audit.Success, Duration: d, Algorithm: "SAML2"}
	if a != nil {
		c := a.Claims
		ev.Issuer, ev.TenantID, ev.Subject, ev.ObjectID = issuerOf(c), c.TenantID, c.Subject, c.ObjectID
		ev.TokenID = audit.TokenID(a.ID)
	}
	if ch.pair.RoleARN != "" {
		ev.Attrs = append(ev.Attrs, slog.String("role_arn", ch.pair.RoleARN), slog.String("principal_arn", ch.pair.ProviderARN))
	}
	if ch.mapping != "" {
		ev.Attrs = append(ev.Attrs, slog.String("mapping", ch.mapping))
	}
	if ch.duration > 0 {
		ev.Attrs = append(ev.Attrs, slog.Int("duration_seconds", int(ch.duration/time.Second)))
	}
	if out != nil {
		if out.AssumedRoleUser != nil && out.AssumedRoleUser.Arn != nil {
			ev.Attrs = append(ev.Attrs, slog.String("assumed_role_arn", *out.AssumedRoleUser.Arn))
		}
		if id, ok := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata); ok {
			ev.Attrs = append(ev.Attrs, slog.String("request_id", id))
		}
	}
	if err != nil {
		ev.Name, ev.Outcome, ev.Reason = audit.STSFailed, audit.Failure, reason.Of(err)
		if fe, ok := err.(*federation.Error); ok {
			if fe.Code != "" {
				ev.Attrs = append(ev.Attrs, slog.String("error_code", fe.Code))
			}
			if fe.RequestID != "" {
				ev.Attrs = append(ev.Attrs, slog.String("request_id", fe.RequestID))
			}
		}
	} else {
		ev.Attrs = append(ev.Attrs, slog.String("access_key_id", creds.AccessKeyID), slog.Time("expiration", creds.Expires.UTC()))
	}
	r.log.Emit(ctx, ev)
}

func issuerOf(c *idbridge.Claims) string { return c.Issuer }
