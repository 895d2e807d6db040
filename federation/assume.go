package federation

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/audit"
	"github.com/idbridge/idbridge/internal/backoff"
	"github.com/idbridge/idbridge/internal/reason"
	"github.com/idbridge/idbridge/token"
)

// assumer is the uncached provider: one Retrieve, one token, one STS call
// (two when STS finds the token expired and the source has a fresher one).
// aws.CredentialsCache serializes its Retrieve calls; the atomics make it
// safe even when it is shared by several caches.
type assumer struct {
	client     stscreds.AssumeRoleWithWebIdentityAPIClient
	roleARN    string
	o          *Options
	log        *audit.Logger
	fetch      func(context.Context) (string, error)
	invalidate func() // nil when the source cannot drop its token

	fail     atomic.Pointer[failure]         // the last failure, answered from memory until its time
	failures atomic.Int32                    // consecutive transient failures, for the backoff
	last     atomic.Pointer[aws.Credentials] // the last credentials STS issued, with their real expiry
	runs     atomic.Uint64                   // Retrieve calls, to tell a cache's answer from memory
	lastTI   atomic.Pointer[tokenInfo]       // the token of the last audited failure, for answers from memory
}

// failure is a remembered error: for the token with SHA-256 key when no
// retry can fix it, for every token when STS or the IdP was unreachable
// (a new token does not bring STS back).
type failure struct {
	key      [32]byte
	err      error
	until    time.Time
	anyToken bool
}

// identityToken is the token handed to stscreds. It is never formatted.
type identityToken string

func (t identityToken) GetIdentityToken() ([]byte, error) { return []byte(t), nil }

// String keeps the token out of any accidental %v or %s.
func (identityToken) String() string { return "[redacted]" }

// GoString keeps the token out of %#v.
func (identityToken) GoString() string { return "[redacted]" }

// capture records the full STS answer, which stscreds reduces to
// aws.Credentials, for the audit event.
type capture struct {
	stscreds.AssumeRoleWithWebIdentityAPIClient
	out *sts.AssumeRoleWithWebIdentityOutput
}

func (c *capture) AssumeRoleWithWebIdentity(ctx context.Context, in *sts.AssumeRoleWithWebIdentityInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error) {
	out, err := c.AssumeRoleWithWebIdentityAPIClient.AssumeRoleWithWebIdentity(ctx, in, optFns...)
	c.out = out
	return out, err
}

// fromSource returns the fetch function for a token.Source.
func (a *assumer) fromSource(src token.Source) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		t, err := src.Token(ctx)
		if err != nil {
			return "", &Error{Err: ErrTokenSource, RoleARN: a.roleARN, Detail: scrub(err.Error(), 300), Cause: err}
		}
		var s string
		if t != nil {
			if a.o.TokenKind == AccessToken {
				s = t.AccessToken
			} else {
				s = t.IDToken
			}
		}
		if s == "" {
			d := "the token has no ID token: request the openid scope, or set TokenKind to AccessToken for a token issued for AWS"
			if a.o.TokenKind == AccessToken {
				d = "the token has no access token"
			}
			return "", &Error{Err: ErrNoIdentityToken, RoleARN: a.roleARN, Detail: d}
		}
		return s, nil
	}
}

// Retrieve implements aws.CredentialsProvider for the cache.
func (a *assumer) Retrieve(ctx context.Context) (aws.Credentials, error) {
	a.runs.Add(1)
	ctx, cancel := context.WithTimeout(ctx, a.o.Timeout)
	defer cancel()
	start := time.Now()
	now := a.o.Now()
	if f := a.fail.Load(); f != nil && f.anyToken && now.Before(f.until) {
		// Backing off: neither the source nor STS is asked.
		a.emitRemembered(ctx, nil, f.err, time.Since(start))
		return aws.Credentials{}, f.err
	}
	tok, ti, err := a.token(ctx)
	key := sha256.Sum256([]byte(tok))
	if f := a.fail.Load(); tok != "" && f != nil && f.key == key && now.Before(f.until) {
		a.emitRemembered(ctx, &ti, f.err, time.Since(start))
		return aws.Credentials{}, f.err
	}
	if err != nil {
		return aws.Credentials{}, a.fetchFailed(ctx, tok, &ti, err, start)
	}

	// An expired token is not worth a round trip: ask the source for a
	// fresh one first.
	refreshed := false
	if expired(&ti, now) && a.invalidate != nil {
		a.invalidate()
		refreshed = true
		if tok, ti, err = a.token(ctx); err != nil {
			return aws.Credentials{}, a.fetchFailed(ctx, tok, &ti, err, start)
		}
		key = sha256.Sum256([]byte(tok))
	}
	name := a.sessionName(&ti, now)
	if err := a.check(&ti, now); err != nil {
		a.remember(key, err)
		a.emit(ctx, &ti, name, nil, aws.Credentials{}, err, time.Since(start))
		return aws.Credentials{}, err
	}

	out, creds, err := a.assume(ctx, tok, name)
	if err != nil && errors.Is(err, ErrTokenExpired) && a.invalidate != nil && !refreshed {
		// STS's clock says the token expired before ours does.
		a.invalidate()
		tok2, ti2, err2 := a.token(ctx)
		if err2 == nil && tok2 != tok {
			tok, ti, key = tok2, ti2, sha256.Sum256([]byte(tok2))
			name = a.sessionName(&ti, now)
			out, creds, err = a.assume(ctx, tok, name)
		}
	}
	if err != nil {
		a.remember(key, err)
		a.emit(ctx, &ti, name, out, aws.Credentials{}, err, time.Since(start))
		return aws.Credentials{}, err
	}
	a.failures.Store(0)
	a.fail.Store(nil)
	a.last.Store(&creds)
	a.emit(ctx, &ti, name, out, creds, nil, time.Since(start))
	return creds, nil
}

// check refuses, before any call, a token that has expired although the
// source had no fresher one, or that lacks the configured session
// attributes.
func (a *assumer) check(ti *tokenInfo, now time.Time) error {
	if expired(ti, now) {
		return &Error{Err: ErrTokenExpired, RoleARN: a.roleARN, Detail: "exp " + ti.exp.UTC().Format(time.RFC3339) + " has passed and the source has no fresher token"}
	}
	if msg := missingAttributes(a.o, ti); msg != "" {
		return &Error{Err: ErrSessionAttributes, RoleARN: a.roleARN, Detail: msg}
	}
	return nil
}

func expired(ti *tokenInfo, now time.Time) bool {
	return !ti.exp.IsZero() && !now.Before(ti.exp)
}

// token fetches and parses the identity token. On a parse failure it still
// returns the token, so that the failure is remembered for it alone.
func (a *assumer) token(ctx context.Context) (string, tokenInfo, error) {
	tok, err := a.fetch(ctx)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			err = &Error{Err: ErrTokenSource, RoleARN: a.roleARN, Detail: scrub(err.Error(), 300), Cause: err}
		}
		return "", tokenInfo{}, err
	}
	ti, err := parseToken(tok)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.RoleARN = a.roleARN
		}
		return tok, ti, err
	}
	return tok, ti, nil
}

// fetchFailed handles a failure of a.token: a token that cannot be sent is
// remembered for that token; a source that could not supply one is not
// (the source has its own backoff, and a new sign-in must work at once).
func (a *assumer) fetchFailed(ctx context.Context, tok string, ti *tokenInfo, err error, start time.Time) error {
	if tok != "" {
		key := sha256.Sum256([]byte(tok))
		a.remember(key, err)
	}
	a.emit(ctx, ti, "", nil, aws.Credentials{}, err, time.Since(start))
	return err
}

func (a *assumer) sessionName(ti *tokenInfo, now time.Time) string {
	switch {
	case a.o.RoleSessionName != "":
		return a.o.RoleSessionName
	case ti.oid != "":
		return SessionName(ti.oid)
	case ti.sub != "":
		return SessionName(ti.sub)
	}
	return "idbridge-" + strconv.FormatInt(now.UnixNano(), 10)
}

// assume makes one STS call through stscreds.
func (a *assumer) assume(ctx context.Context, tok, name string) (*sts.AssumeRoleWithWebIdentityOutput, aws.Credentials, error) {
	c := &capture{AssumeRoleWithWebIdentityAPIClient: a.client}
	p := stscreds.NewWebIdentityRoleProvider(c, a.roleARN, identityToken(tok), func(wo *stscreds.WebIdentityRoleOptions) {
		wo.RoleSessionName = name
		wo.Duration = a.o.Duration
		if a.o.Policy != "" {
			wo.Policy = aws.String(a.o.Policy)
		}
		for _, arn := range a.o.PolicyARNs {
			wo.PolicyARNs = append(wo.PolicyARNs, types.PolicyDescriptorType{Arn: aws.String(arn)})
		}
	})
	creds, err := p.Retrieve(ctx)
	if err != nil {
		return c.out, aws.Credentials{}, a.classify(err)
	}
	now := a.o.Now()
	switch {
	case !creds.HasKeys():
		return c.out, aws.Credentials{}, &Error{Err: ErrSTSUnavailable, RoleARN: a.roleARN, Detail: "STS answered without complete credentials"}
	case creds.Expires.IsZero():
		return c.out, aws.Credentials{}, &Error{Err: ErrSTSUnavailable, RoleARN: a.roleARN, Detail: "STS answered credentials without an expiration"}
	case !creds.Expires.After(now):
		return c.out, aws.Credentials{}, &Error{Err: ErrSTSUnavailable, RoleARN: a.roleARN,
			Detail: "STS answered credentials that expired at " + creds.Expires.UTC().Format(time.RFC3339) + " (is the local clock right?)"}
	}
	creds.CanExpire = true
	return c.out, creds, nil
}

// classify turns an SDK error into a package error by its STS code.
func (a *assumer) classify(err error) error {
	e := &Error{Err: ErrSTSUnavailable, RoleARN: a.roleARN, Cause: err}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		e.RequestID = re.ServiceRequestID()
		if re.ResponseError != nil && re.Response != nil {
			e.Status = re.HTTPStatusCode()
		}
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		// No STS answer: network, timeout, an unparsable body.
		e.Detail = scrub(err.Error(), 300)
		return e
	}
	e.Code, e.Message = ae.ErrorCode(), scrub(ae.ErrorMessage(), 256)
	switch e.Code {
	case "InvalidIdentityToken":
		e.Err = ErrInvalidIdentityToken
	case "ExpiredTokenException", "ExpiredToken":
		e.Err = ErrTokenExpired
	case "IDPRejectedClaim":
		e.Err = ErrClaimRejected
	case "AccessDenied", "AccessDeniedException":
		e.Err = ErrAccessDenied
	case "RegionDisabledException":
		e.Err = ErrRegionDisabled
	case "IDPCommunicationError":
		e.Err = ErrIdPUnavailable
	case "PackedPolicyTooLarge", "JWTPayloadSizeExceededException":
		e.Err = ErrTooLarge
	case "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException",
		"InternalFailure", "InternalError", "ServiceUnavailable", "RequestTimeout":
		e.Err = ErrSTSUnavailable
	default:
		// MalformedPolicyDocument, ValidationError, InvalidAction, and any
		// code this package does not know: a 4xx is the request's fault.
		e.Err = ErrInvalidRequest
		if e.Status >= 500 || e.Status == 429 {
			e.Err = ErrSTSUnavailable
		}
	}
	return e
}

// remember stores a failure so that the next Retrieve answers it from
// memory: with the same token for NonRecoverableTTL when no retry can fix
// it, with any token for a growing, jittered backoff when it is transient.
func (a *assumer) remember(key [32]byte, err error) {
	now := a.o.Now()
	f := &failure{key: key, err: err}
	if transient(err) {
		f.anyToken = true
		n := a.failures.Add(1)
		// Equal jitter: at least half the step, so that a crowd of
		// processes spreads out without retrying at once.
		b := backoff.Policy{Min: a.o.MinBackoff, Max: a.o.MaxBackoff}
		f.until = now.Add(b.Delay(int(n), 0))
	} else {
		f.until = now.Add(a.o.NonRecoverableTTL)
	}
	a.fail.Store(f)
}

// emit writes one sts.assumed or sts.failed event. The token appears only
// as token_id, the SHA-256 prefix of its jti; the secret key and session
// token never appear.
func (a *assumer) emit(ctx context.Context, ti *tokenInfo, name string, out *sts.AssumeRoleWithWebIdentityOutput, creds aws.Credentials, err error, d time.Duration) {
	if err != nil && a.o.Logger != nil {
		a.warn(ctx, err)
	}
	if !a.log.Enabled(ctx) {
		return
	}
	if err != nil {
		c := *ti
		a.lastTI.Store(&c)
	}
	ev := audit.Event{
		Name: audit.STSAssumed, Outcome: audit.Success,
		Issuer: ti.iss, TenantID: ti.tid, Subject: ti.sub, ObjectID: ti.oid, Client: ti.azp,
		TokenID: audit.TokenID(ti.jti), Duration: d,
	}
	ev.Attrs = append(ev.Attrs, slog.String("role_arn", a.roleARN))
	if name != "" {
		ev.Attrs = append(ev.Attrs, slog.String("session_name", name))
	}
	if out != nil {
		if out.AssumedRoleUser != nil && out.AssumedRoleUser.Arn != nil {
			ev.Attrs = append(ev.Attrs, slog.String("assumed_role_arn", *out.AssumedRoleUser.Arn))
		}
		if out.SourceIdentity != nil {
			ev.Attrs = append(ev.Attrs, slog.String("source_identity", *out.SourceIdentity))
		}
		if out.Provider != nil {
			ev.Attrs = append(ev.Attrs, slog.String("provider", *out.Provider))
		}
	}
	if err != nil {
		ev.Name, ev.Outcome = audit.STSFailed, audit.Failure
		ev.Reason = reason.Of(err)
		var e *Error
		if errors.As(err, &e) {
			if e.Code != "" {
				ev.Attrs = append(ev.Attrs, slog.String("error_code", e.Code))
			}
			if e.RequestID != "" {
				ev.Attrs = append(ev.Attrs, slog.String("request_id", e.RequestID))
			}
		}
		if last := a.last.Load(); last != nil && last.Expires.After(a.o.Now()) {
			ev.Attrs = append(ev.Attrs, slog.Time("previous_valid_until", last.Expires.UTC()))
		}
	} else {
		if out != nil {
			if id, ok := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata); ok {
				ev.Attrs = append(ev.Attrs, slog.String("request_id", id))
			}
		}
		ev.Attrs = append(ev.Attrs,
			slog.String("access_key_id", creds.AccessKeyID),
			slog.Time("expiration", creds.Expires.UTC()))
		if creds.AccountID != "" {
			ev.Attrs = append(ev.Attrs, slog.String("account_id", creds.AccountID))
		}
	}
	a.log.Emit(ctx, ev)
}

// emitRemembered records a refusal answered from memory (cached: true), so
// the audit trail shows every Retrieve that got no credentials, not only
// the ones STS saw. Operators were warned when the failure was first met.
func (a *assumer) emitRemembered(ctx context.Context, ti *tokenInfo, err error, d time.Duration) {
	if !a.log.Enabled(ctx) {
		return
	}
	ev := audit.Event{Name: audit.STSFailed, Outcome: audit.Failure, Reason: reason.Of(err), Duration: d,
		Attrs: []slog.Attr{slog.String(idbridge.FieldRoleARN, a.roleARN), slog.Bool(idbridge.FieldCached, true)}}
	if ti == nil {
		ti = a.lastTI.Load()
	}
	if ti != nil {
		ev.Issuer, ev.TenantID, ev.Subject, ev.ObjectID, ev.Client = ti.iss, ti.tid, ti.sub, ti.oid, ti.azp
		ev.TokenID = audit.TokenID(ti.jti)
	}
	var e *Error
	if errors.As(err, &e) && e.Code != "" {
		ev.Attrs = append(ev.Attrs, slog.String(idbridge.FieldErrorCode, e.Code))
	}
	a.log.Emit(ctx, ev)
}

// warn logs a failed exchange for operators, who need to see STS or the
// IdP failing before the credentials run out, audit or not. It runs after
// remember, so the backoff is known.
func (a *assumer) warn(ctx context.Context, err error) {
	now := a.o.Now()
	attrs := []slog.Attr{
		slog.String("role_arn", a.roleARN),
		slog.String("reason", string(reason.Of(err))),
		slog.String("error", err.Error()),
	}
	var e *Error
	if errors.As(err, &e) {
		if e.Code != "" {
			attrs = append(attrs, slog.String("error_code", e.Code))
		}
		if e.Status != 0 {
			attrs = append(attrs, slog.Int("status", e.Status))
		}
		if e.RequestID != "" {
			attrs = append(attrs, slog.String("request_id", e.RequestID))
		}
	}
	if f := a.fail.Load(); f != nil && f.until.After(now) {
		attrs = append(attrs, slog.Duration("retry_in", f.until.Sub(now)))
	}
	msg := "federation: STS exchange failed; no valid credentials to serve"
	if last := a.last.Load(); last != nil && last.Expires.After(now) && transient(err) {
		msg = "federation: STS exchange failed; serving the current credentials meanwhile"
		attrs = append(attrs, slog.Time("valid_until", last.Expires.UTC()))
	}
	a.o.Logger.LogAttrs(ctx, slog.LevelWarn, msg, attrs...)
}
