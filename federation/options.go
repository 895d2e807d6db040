package federation

import (
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Bounds and defaults applied by [NewProvider].
const (
	// MinDuration and MaxDuration bound DurationSeconds as STS does; the
	// role's own MaxSessionDuration (1h by default) may be lower, which STS
	// answers with a ValidationError ([ErrInvalidRequest]).
	MinDuration = 15 * time.Minute
	MaxDuration = 12 * time.Hour

	DefaultExpiryWindow      = 5 * time.Minute
	DefaultJitterFrac        = 0.2
	DefaultNonRecoverableTTL = 30 * time.Second
	DefaultMinBackoff        = time.Second
	DefaultMaxBackoff        = 30 * time.Second
	DefaultTimeout           = 30 * time.Second

	// maxTokenLength is STS's limit on WebIdentityToken.
	maxTokenLength = 20000
	// expiryMargin is how long before STS's expiration credentials stop
	// being handed out, for clock skew and the request's transit; at most
	// a tenth of the session's lifetime.
	expiryMargin = 30 * time.Second
)

// TokenKind selects which token of a [token.Token] is sent to STS.
//
// AWS trusts a token whose iss has an IAM OIDC provider and whose aud is in
// that provider's client list. For a user, that is normally the OpenID
// Connect ID token: its aud is the client ID of the app the user signed in
// to, which is what you register as the provider's audience, and it is
// meant to prove who the user is to that app. An access token is meant for
// a resource API: its aud is that API (its client ID), and handing it to
// AWS means AWS accepts tokens minted for another service. Use
// [AccessToken] only when the token was requested for AWS itself (a scope
// whose resource is registered in the IAM provider's client list) — as in
// client credentials flows, which return no ID token.
type TokenKind int

const (
	// IDToken sends Token.IDToken (the default).
	IDToken TokenKind = iota
	// AccessToken sends Token.AccessToken.
	AccessToken
)

// String returns "id_token" or "access_token".
func (k TokenKind) String() string {
	switch k {
	case IDToken:
		return "id_token"
	case AccessToken:
		return "access_token"
	}
	return fmt.Sprintf("TokenKind(%d)", int(k))
}

// Options configure a [Provider]. NewProvider copies them (maps and slices
// too), applies defaults and bounds, and validates them; changing the
// struct afterwards has no effect.
//
// There is no HTTPClient: requests go through the STS client you pass,
// which carries its own.
type Options struct {
	// RoleSessionName names the session; it appears in the assumed role's
	// ARN and in every CloudTrail record of the session. Empty derives it
	// from each token: its oid (Entra's immutable user ID), else its sub,
	// made valid with [SessionName].
	RoleSessionName string
	// Duration is the session duration to request. Zero leaves it to STS
	// (one hour); otherwise it is clamped to [MinDuration, MaxDuration].
	Duration time.Duration
	// Policy is an inline session policy (JSON) that narrows the role.
	Policy string
	// PolicyARNs are managed session policies that narrow the role.
	PolicyARNs []string
	// TokenKind selects the ID token (default) or the access token; see
	// [TokenKind] for which one AWS should see.
	TokenKind TokenKind

	// SessionTags, TransitiveTagKeys and SourceIdentity are what the
	// session must carry. AssumeRoleWithWebIdentity has no parameter for
	// them: STS reads them from the token's claims
	// https://aws.amazon.com/tags ({"principal_tags": {"K": ["v"]},
	// "transitive_tag_keys": ["K"]}) and https://aws.amazon.com/source_identity,
	// so the IdP has to emit them. When set, Retrieve checks the token
	// carries them (tag keys case-insensitively, values exactly) and fails
	// with [ErrSessionAttributes] before calling STS otherwise. When your
	// IdP cannot emit them, chain a second hop instead: see
	// [Role.AssumeRoleOptions].
	SessionTags       map[string]string
	TransitiveTagKeys []string
	SourceIdentity    string

	// ExpiryWindow is how long before expiry the credentials are renewed,
	// so that none is handed out about to expire. Zero means
	// DefaultExpiryWindow; it never exceeds half the credentials' lifetime,
	// so short sessions are not renewed on every call.
	ExpiryWindow time.Duration
	// ExpiryWindowJitterFrac renews up to this fraction of the window
	// earlier, at random, so that many processes do not call STS at the
	// same moment.
	// Zero means DefaultJitterFrac, negative means none; at most 1.
	ExpiryWindowJitterFrac float64
	// NonRecoverableTTL is how long a failure that no retry can fix
	// (AccessDenied, InvalidIdentityToken, ...) is answered from memory for
	// the same identity token, instead of calling STS again. A new token
	// is tried once the backoff (Options.MinBackoff) has passed, or at once
	// after Invalidate. Zero means DefaultNonRecoverableTTL.
	NonRecoverableTTL time.Duration
	// MinBackoff and MaxBackoff bound the exponential backoff after
	// transient failures (throttling, 5xx, network). Defaults
	// DefaultMinBackoff and DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// Timeout bounds one exchange (token plus STS call), which runs
	// detached from the caller's cancellation and is cancelled by Close.
	// Zero means DefaultTimeout.
	Timeout time.Duration

	// Now is the clock for token and credential expiry, backoff and the
	// renewal window; nil means time.Now.
	Now func() time.Time
	// Audit receives sts.assumed and sts.failed events; nil means none.
	Audit slog.Handler
	// Logger receives operational problems at warning level, whether or
	// not Audit is set: each failed exchange (STS throttling or down, the
	// IdP unreachable behind STS, the token source failing, a refusal),
	// with the role, reason class, STS code, HTTP status, request ID, when
	// the next attempt is due and until when the current credentials are
	// still served. Nil means none. No record carries a token or key.
	Logger *slog.Logger

	// systemClock records that Now was left nil, so that the cache's hot
	// path can time itself with the monotonic clock alone.
	systemClock bool
}

var (
	roleARNRe  = regexp.MustCompile(`^arn:aws(-cn|-us-gov|-iso|-iso-[a-z])?:iam::[0-9]{12}:role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}$`)
	policyARN  = regexp.MustCompile(`^arn:aws(-cn|-us-gov|-iso|-iso-[a-z])?:iam::([0-9]{12}|aws):policy/`)
	stsNameRe  = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	tagTextRe  = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
	maxTagKeys = 50
)

// newOptions applies optFns to a defaulted copy, validates and clamps it.
func newOptions(optFns []func(*Options)) (*Options, error) {
	o := &Options{}
	for _, fn := range optFns {
		if fn != nil {
			fn(o)
		}
	}
	o.PolicyARNs = slices.Clone(o.PolicyARNs)
	o.TransitiveTagKeys = slices.Clone(o.TransitiveTagKeys)
	o.SessionTags = maps.Clone(o.SessionTags)

	bad := func(format string, args ...any) (*Options, error) {
		return nil, fmt.Errorf("%w: "+format, append([]any{ErrInvalidOptions}, args...)...)
	}
	if o.RoleSessionName != "" && !stsNameRe.MatchString(o.RoleSessionName) {
		return bad("RoleSessionName %q must match [\\w+=,.@-]{2,64} (see SessionName)", o.RoleSessionName)
	}
	if o.Duration < 0 {
		return bad("negative Duration %s", o.Duration)
	}
	o.Duration = clampDuration(o.Duration)
	if len(o.Policy) > 2048 {
		return bad("session Policy of %d characters exceeds STS's 2048", len(o.Policy))
	}
	if len(o.PolicyARNs) > 10 {
		return bad("%d PolicyARNs, STS allows 10", len(o.PolicyARNs))
	}
	for _, a := range o.PolicyARNs {
		if !policyARN.MatchString(a) {
			return bad("malformed policy ARN %q", a)
		}
	}
	if o.TokenKind != IDToken && o.TokenKind != AccessToken {
		return bad("unknown %s", o.TokenKind)
	}
	if len(o.SessionTags) > maxTagKeys {
		return bad("%d session tags, STS allows %d", len(o.SessionTags), maxTagKeys)
	}
	seen := map[string]bool{}
	for k, v := range o.SessionTags {
		if k == "" || utf8.RuneCountInString(k) > 128 || !tagTextRe.MatchString(k) || strings.HasPrefix(strings.ToLower(k), "aws:") {
			return bad("invalid session tag key %q", k)
		}
		if utf8.RuneCountInString(v) > 256 || !tagTextRe.MatchString(v) {
			return bad("invalid value for session tag %q", k)
		}
		if seen[strings.ToLower(k)] {
			return bad("session tag keys differ only in case: %q", k)
		}
		seen[strings.ToLower(k)] = true
	}
	for _, k := range o.TransitiveTagKeys {
		if !seen[strings.ToLower(k)] {
			return bad("transitive tag key %q is not a session tag", k)
		}
	}
	if o.SourceIdentity != "" && (!stsNameRe.MatchString(o.SourceIdentity) || strings.HasPrefix(strings.ToLower(o.SourceIdentity), "aws:")) {
		return bad("SourceIdentity %q must match [\\w+=,.@-]{2,64} and not start with aws:", o.SourceIdentity)
	}

	if o.ExpiryWindow <= 0 {
		o.ExpiryWindow = DefaultExpiryWindow
	}
	switch {
	case o.ExpiryWindowJitterFrac == 0:
		o.ExpiryWindowJitterFrac = DefaultJitterFrac
	case o.ExpiryWindowJitterFrac < 0:
		o.ExpiryWindowJitterFrac = 0
	case o.ExpiryWindowJitterFrac > 1:
		o.ExpiryWindowJitterFrac = 1
	}
	if o.NonRecoverableTTL <= 0 {
		o.NonRecoverableTTL = DefaultNonRecoverableTTL
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = o.MinBackoff
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Now == nil {
		o.Now, o.systemClock = time.Now, true
	}
	return o, nil
}

// clampDuration keeps a requested session duration within what STS
// accepts; zero stays zero (STS's default of one hour).
func clampDuration(d time.Duration) time.Duration {
	switch {
	case d <= 0:
		return 0
	case d < MinDuration:
		return MinDuration
	case d > MaxDuration:
		return MaxDuration
	}
	return d.Truncate(time.Second)
}
