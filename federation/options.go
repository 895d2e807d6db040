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

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/option"
)

// Bounds applied by [NewProvider].
const (
	// MinDuration and MaxDuration bound DurationSeconds as STS does; the
	// role's own MaxSessionDuration (1h by default) may be lower, which STS
	// answers with a ValidationError ([ErrInvalidRequest]).
	MinDuration = 15 * time.Minute
	MaxDuration = 12 * time.Hour
)

// Defaults of the zero [Options] fields.
const (
	defaultNonRecoverableTTL = 30 * time.Second
	defaultMinBackoff        = time.Second
	defaultMaxBackoff        = 30 * time.Second
	defaultTimeout           = 30 * time.Second

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

	// RefreshWindow is how long before expiry the credentials are renewed
	// in the background, so that none is handed out about to expire; it
	// means what token.Renewal.RefreshWindow means, because the
	// credentials live in a [token.Cache]: zero is the larger of 5 minutes
	// and a tenth of the session, and the window is at most half the
	// session, so short sessions are not renewed on every call.
	RefreshWindow time.Duration
	// RefreshJitter renews up to this fraction of the window earlier, at
	// random, so that many processes do not call STS at the same moment.
	// Zero means 0.2, negative means none; at most 1.
	RefreshJitter float64
	// NonRecoverableTTL is how long a failure that no retry can fix
	// (AccessDenied, InvalidIdentityToken, ...) is answered from memory for
	// the same identity token, instead of calling STS again. A new token
	// is tried once the backoff (Options.MinBackoff) has passed, or at once
	// after Invalidate. Zero means 30s; negative means such failures are
	// not remembered.
	NonRecoverableTTL time.Duration
	// MinBackoff and MaxBackoff bound the exponential backoff after
	// transient failures (throttling, 5xx, network), like
	// token.Renewal's: zero or negative means 1s and 30s.
	MinBackoff, MaxBackoff time.Duration
	// Timeout bounds one exchange (token plus STS call), which runs
	// detached from the caller's cancellation and is cancelled by Close.
	// Zero or negative means 30s, as in token.Options.
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

// newOptions applies optFns to a copy of the zero Options, validates it
// and applies defaults and bounds.
func newOptions(optFns []func(*Options)) (*Options, error) {
	o := &Options{}
	option.Apply(o, optFns)
	o.PolicyARNs = slices.Clone(o.PolicyARNs)
	o.TransitiveTagKeys = slices.Clone(o.TransitiveTagKeys)
	o.SessionTags = maps.Clone(o.SessionTags)
	for _, check := range []func(*Options) string{checkSession, checkPolicy, checkTags} {
		if msg := check(o); msg != "" {
			return nil, fmt.Errorf("federation: %w: %s", idbridge.ErrInvalidOptions, msg)
		}
	}
	o.Duration = clampDuration(o.Duration)
	option.Limit(&o.NonRecoverableTTL, defaultNonRecoverableTTL, 0) // negative: not remembered
	option.Positive(&o.MinBackoff, defaultMinBackoff)
	option.Positive(&o.MaxBackoff, defaultMaxBackoff)
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
	option.Positive(&o.Timeout, defaultTimeout)
	if o.Now == nil {
		o.Now, o.systemClock = time.Now, true
	}
	return o, nil
}

// checkSession checks the session's name, duration, token kind and source
// identity; it returns what is wrong, or "".
func checkSession(o *Options) string {
	switch {
	case o.RoleSessionName != "" && !stsNameRe.MatchString(o.RoleSessionName):
		return fmt.Sprintf("RoleSessionName %q must match [\\w+=,.@-]{2,64} (see SessionName)", o.RoleSessionName)
	case o.Duration < 0:
		return fmt.Sprintf("negative Duration %s", o.Duration)
	case o.TokenKind != IDToken && o.TokenKind != AccessToken:
		return fmt.Sprintf("unknown %s", o.TokenKind)
	case o.SourceIdentity != "" && (!stsNameRe.MatchString(o.SourceIdentity) || strings.HasPrefix(strings.ToLower(o.SourceIdentity), "aws:")):
		return fmt.Sprintf("SourceIdentity %q must match [\\w+=,.@-]{2,64} and not start with aws:", o.SourceIdentity)
	}
	return ""
}

// checkPolicy checks the session policies against STS's limits.
func checkPolicy(o *Options) string {
	if len(o.Policy) > 2048 {
		return fmt.Sprintf("session Policy of %d characters exceeds STS's 2048", len(o.Policy))
	}
	if len(o.PolicyARNs) > 10 {
		return fmt.Sprintf("%d PolicyARNs, STS allows 10", len(o.PolicyARNs))
	}
	for _, a := range o.PolicyARNs {
		if !policyARN.MatchString(a) {
			return fmt.Sprintf("malformed policy ARN %q", a)
		}
	}
	return ""
}

// checkTags checks the session tags and transitive tag keys as STS would.
func checkTags(o *Options) string {
	if len(o.SessionTags) > maxTagKeys {
		return fmt.Sprintf("%d session tags, STS allows %d", len(o.SessionTags), maxTagKeys)
	}
	seen := make(map[string]bool, len(o.SessionTags))
	for k, v := range o.SessionTags {
		lk := strings.ToLower(k)
		switch {
		case k == "" || utf8.RuneCountInString(k) > 128 || !tagTextRe.MatchString(k) || strings.HasPrefix(lk, "aws:"):
			return fmt.Sprintf("invalid session tag key %q", k)
		case utf8.RuneCountInString(v) > 256 || !tagTextRe.MatchString(v):
			return fmt.Sprintf("invalid value for session tag %q", k)
		case seen[lk]:
			return fmt.Sprintf("session tag keys differ only in case: %q", k)
		}
		seen[lk] = true
	}
	for _, k := range o.TransitiveTagKeys {
		if !seen[strings.ToLower(k)] {
			return fmt.Sprintf("transitive tag key %q is not a session tag", k)
		}
	}
	return ""
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
