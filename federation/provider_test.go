package federation_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/federation"
	"github.com/idbridge/idbridge/federation/ststest"
	"github.com/idbridge/idbridge/token"
)

func TestRetrieveAssumesRole(t *testing.T) {
	e := newEnv(t)
	tok := e.idToken(nil)
	var log auditLog
	p := e.provider(t, idSource(tok), func(o *federation.Options) {
		o.Duration = 15 * time.Minute
		o.Audit = log.handler()
	})
	creds, err := p.Retrieve(testContext(t))
	if err != nil {
		t.Fatalf("Retrieve: %v", err)
	}
	if !creds.HasKeys() || !creds.CanExpire || creds.AccountID != "111122223333" || creds.Source != "WebIdentityCredentials" {
		t.Errorf("credentials %+v", creds)
	}
	sess, ok := e.sts.Session(creds.AccessKeyID)
	if !ok {
		t.Fatalf("the fake issued no session for %s", creds.AccessKeyID)
	}
	if creds.SecretAccessKey != sess.SecretAccessKey || creds.SessionToken != sess.SessionToken {
		t.Error("the credentials are not the ones STS issued")
	}
	// Handed out with the expiry margin taken off (30s), so that a cache
	// in front stops using them in time.
	if early := sess.Expiration.Sub(creds.Expires); early != 30*time.Second {
		t.Errorf("expiry moved %s earlier, want 30s", early)
	}
	if got := time.Until(sess.Expiration); got < 14*time.Minute || got > 15*time.Minute {
		t.Errorf("session lasts %s, want 15m", got)
	}
	if sess.SessionName != amitOID || sess.Subject != amitOID || sess.Audience != clientID ||
		sess.AssumedRoleARN != "arn:aws:sts::111122223333:assumed-role/Loan_ReadOnly/"+amitOID {
		t.Errorf("session %+v", sess)
	}

	reqs := e.sts.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d STS requests, want 1", len(reqs))
	}
	r := reqs[0]
	want := map[string]string{"Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15", "RoleArn": roleARN,
		"RoleSessionName": amitOID, "DurationSeconds": "900"}
	for k, v := range want {
		if r.Form.Get(k) != v {
			t.Errorf("form %s = %q, want %q", k, r.Form.Get(k), v)
		}
	}
	if r.Authorization {
		t.Error("AssumeRoleWithWebIdentity must be unsigned")
	}
	if !strings.HasPrefix(r.ContentType, "application/x-www-form-urlencoded") {
		t.Errorf("content type %q", r.ContentType)
	}

	// Cached: no second call.
	again, err := p.Retrieve(testContext(t))
	if err != nil || again.AccessKeyID != creds.AccessKeyID {
		t.Errorf("second Retrieve: %v, %s", err, again.AccessKeyID)
	}
	if n := e.stsCalls(); n != 1 {
		t.Errorf("%d STS calls after a cached Retrieve", n)
	}

	evs := log.events(t)
	if len(evs) != 1 {
		t.Fatalf("%d audit events, want 1", len(evs))
	}
	ev := evs[0]
	wantEv := map[string]any{"event": "sts.assumed", "outcome": "success", "iss": e.idp.Issuer(), "tid": tenantID,
		"sub": amitOID, "oid": amitOID, "role_arn": roleARN, "session_name": amitOID,
		"assumed_role_arn": sess.AssumedRoleARN, "access_key_id": creds.AccessKeyID, "request_id": r.RequestID,
		"account_id": "111122223333", "provider": e.sts.ProviderARN(e.idp.Issuer())}
	for k, v := range wantEv {
		if ev[k] != v {
			t.Errorf("audit %s = %v, want %v", k, ev[k], v)
		}
	}
	for _, k := range []string{"token_id", "expiration", "duration_ms"} {
		if _, ok := ev[k]; !ok {
			t.Errorf("audit event lacks %s", k)
		}
	}
	for _, secret := range []string{tok, creds.SecretAccessKey, creds.SessionToken} {
		if strings.Contains(log.String(), secret) {
			t.Error("the audit log contains a secret")
		}
	}
}

func TestConcurrentRetrieveMakesOneCall(t *testing.T) {
	e := newEnv(t)
	src := idSource(e.idToken(nil))
	p := e.provider(t, src)
	var wg sync.WaitGroup
	keys := make([]string, 64)
	for i := range keys {
		wg.Go(func() {
			c, err := p.Retrieve(testContext(t))
			if err != nil {
				t.Errorf("Retrieve: %v", err)
			}
			keys[i] = c.AccessKeyID
		})
	}
	wg.Wait()
	if n := e.stsCalls(); n != 1 {
		t.Errorf("%d STS calls for 64 concurrent callers, want 1", n)
	}
	for _, k := range keys {
		if k != keys[0] {
			t.Fatal("callers got different credentials")
		}
	}
}

// The STS error codes, as the fake answers them with AWS's statuses, map to
// sentinels and reason classes; non-recoverable ones are answered from
// memory until NonRecoverableTTL, transient ones until the backoff.
func TestSTSErrorCodes(t *testing.T) {
	tests := []struct {
		code      string
		status    int
		sentinel  error
		reason    idbridge.Reason
		transient bool
	}{
		{"InvalidIdentityToken", 400, federation.ErrInvalidIdentityToken, "forbidden", false},
		{"ExpiredTokenException", 400, federation.ErrTokenExpired, "expired", false},
		{"IDPRejectedClaim", 403, federation.ErrClaimRejected, "forbidden", false},
		{"AccessDenied", 403, federation.ErrAccessDenied, "forbidden", false},
		{"RegionDisabledException", 403, federation.ErrRegionDisabled, "forbidden", false},
		{"MalformedPolicyDocument", 400, federation.ErrInvalidRequest, "malformed", false},
		{"ValidationError", 400, federation.ErrInvalidRequest, "malformed", false},
		{"PackedPolicyTooLarge", 400, federation.ErrTooLarge, "too_large", false},
		{"IDPCommunicationError", 400, federation.ErrIdPUnavailable, "idp_unavailable", true},
		{"Throttling", 400, federation.ErrSTSUnavailable, "idp_unavailable", true},
		{"InternalFailure", 500, federation.ErrSTSUnavailable, "idp_unavailable", true},
		{"ServiceUnavailable", 503, federation.ErrSTSUnavailable, "idp_unavailable", true},
		{"SomethingNew", 400, federation.ErrInvalidRequest, "malformed", false},
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			tok := e.idToken(nil)
			var log auditLog
			// plainSource: no Invalidate, so ExpiredTokenException is final.
			p := e.provider(t, plainSource{idSource(tok)}, func(o *federation.Options) { o.Audit = log.handler() })
			e.sts.FailNext(tc.code, 1)
			_, err := p.Retrieve(testContext(t))
			if !errors.Is(err, tc.sentinel) {
				t.Fatalf("error %v, want %v", err, tc.sentinel)
			}
			if r := idbridge.ReasonOf(err); r != tc.reason {
				t.Errorf("reason %q, want %q", r, tc.reason)
			}
			var fe *federation.Error
			if !errors.As(err, &fe) {
				t.Fatalf("%T is not a *federation.Error", err)
			}
			reqs := e.sts.Requests()
			if fe.Code != tc.code || fe.Status != tc.status || fe.RequestID != reqs[0].RequestID || reqs[0].Status != tc.status {
				t.Errorf("code %q status %d request ID %q; fake answered %d %s", fe.Code, fe.Status, fe.RequestID, reqs[0].Status, reqs[0].RequestID)
			}
			for _, s := range []string{err.Error(), fmt.Sprintf("%v %+v %#v", err, err, err), log.String()} {
				if strings.Contains(s, tok) {
					t.Fatal("the token leaked into an error or the audit log")
				}
			}
			ev := log.events(t)[0]
			if ev["event"] != "sts.failed" || ev["reason"] != string(tc.reason) || ev["error_code"] != tc.code || ev["request_id"] != fe.RequestID {
				t.Errorf("audit event %v", ev)
			}

			// Answered from memory: no second call.
			_, err2 := p.Retrieve(testContext(t))
			if !errors.Is(err2, tc.sentinel) || e.stsCalls() != 1 {
				t.Errorf("second Retrieve: %v after %d calls", err2, e.stsCalls())
			}
			// Once the memory lapses, STS is asked again (and now succeeds).
			wait := 30 * time.Second
			if tc.transient {
				wait = time.Second
			}
			e.clock.Advance(wait)
			if _, err := p.Retrieve(testContext(t)); err != nil || e.stsCalls() != 2 {
				t.Errorf("after %s: %v after %d calls", wait, err, e.stsCalls())
			}
		})
	}
}

// Failures the fake produces by really validating the token and the role.
func TestSTSRefusals(t *testing.T) {
	tests := []struct {
		name     string
		claims   map[string]any
		role     string
		opts     func(*federation.Options)
		setup    func(e *env)
		sentinel error
		code     string
	}{
		{name: "access token for another API", claims: map[string]any{"aud": apiAud},
			sentinel: federation.ErrInvalidIdentityToken, code: "InvalidIdentityToken"},
		{name: "issuer without IAM OIDC provider", claims: map[string]any{"iss": "https://login.example.net/other/v2.0"},
			sentinel: federation.ErrInvalidIdentityToken, code: "InvalidIdentityToken"},
		{name: "forged payload", claims: map[string]any{"forge": true},
			sentinel: federation.ErrInvalidIdentityToken, code: "InvalidIdentityToken"},
		{name: "trust policy: another user", claims: map[string]any{"sub": priyaOID, "oid": priyaOID},
			sentinel: federation.ErrAccessDenied, code: "AccessDenied"},
		{name: "role that does not exist", role: "arn:aws:iam::111122223333:role/Nope",
			sentinel: federation.ErrAccessDenied, code: "AccessDenied"},
		{name: "duration above the role's maximum", opts: func(o *federation.Options) { o.Duration = 2 * time.Hour },
			sentinel: federation.ErrInvalidRequest, code: "ValidationError"},
		{name: "malformed session policy", opts: func(o *federation.Options) { o.Policy = `{"Version":` },
			sentinel: federation.ErrInvalidRequest, code: "MalformedPolicyDocument"},
		{name: "packed policy too large", opts: func(o *federation.Options) {
			o.Policy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"` + strings.Repeat("x", 1950) + `"}]}`
			o.PolicyARNs = []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}
		}, sentinel: federation.ErrTooLarge, code: "PackedPolicyTooLarge"},
		{name: "IdP keys unreachable", setup: func(e *env) { e.idp.SetStatus(http.StatusInternalServerError) },
			sentinel: federation.ErrIdPUnavailable, code: "IDPCommunicationError"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			tok := e.idToken(tc.claims)
			if tc.claims["forge"] == true {
				// Amit's signature on a payload naming Priya.
				parts := strings.Split(tok, ".")
				other := strings.Split(e.idToken(map[string]any{"sub": priyaOID}), ".")
				tok = parts[0] + "." + other[1] + "." + parts[2]
			}
			if tc.setup != nil {
				tc.setup(e)
			}
			arn := roleARN
			if tc.role != "" {
				arn = tc.role
			}
			fns := []func(*federation.Options){func(o *federation.Options) { o.Now = e.clock.Now }}
			if tc.opts != nil {
				fns = append(fns, tc.opts)
			}
			p, err := federation.NewProvider(e.client, arn, idSource(tok), fns...)
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Retrieve(testContext(t))
			var fe *federation.Error
			if !errors.Is(err, tc.sentinel) || !errors.As(err, &fe) || fe.Code != tc.code {
				t.Fatalf("error %v, want %v with code %s", err, tc.sentinel, tc.code)
			}
			if fe.RoleARN != arn {
				t.Errorf("RoleARN %q", fe.RoleARN)
			}
		})
	}
}

func TestTokenKind(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name     string
		tok      *token.Token
		kind     federation.TokenKind
		sentinel error
	}{
		{"ID token (aud = client ID) is trusted", &token.Token{IDToken: e.idToken(nil), AccessToken: e.idToken(map[string]any{"aud": apiAud})}, federation.IDToken, nil},
		{"access token for the API is not", &token.Token{IDToken: e.idToken(nil), AccessToken: e.idToken(map[string]any{"aud": apiAud})}, federation.AccessToken, federation.ErrInvalidIdentityToken},
		{"access token issued for AWS is", &token.Token{AccessToken: e.idToken(nil)}, federation.AccessToken, nil},
		{"no ID token in a client credentials token", &token.Token{AccessToken: e.idToken(nil)}, federation.IDToken, federation.ErrNoIdentityToken},
		{"nil token", nil, federation.IDToken, federation.ErrNoIdentityToken},
		{"not a JWT", &token.Token{IDToken: "opaque"}, federation.IDToken, federation.ErrMalformedToken},
		{"too large for STS", &token.Token{IDToken: strings.Repeat("a", 20001)}, federation.IDToken, federation.ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := e.stsCalls()
			src := token.SourceFunc(func(context.Context) (*token.Token, error) { return tc.tok, nil })
			p := e.provider(t, src, func(o *federation.Options) { o.TokenKind = tc.kind })
			_, err := p.Retrieve(testContext(t))
			if !errors.Is(err, tc.sentinel) && !(tc.sentinel == nil && err == nil) {
				t.Fatalf("error %v, want %v", err, tc.sentinel)
			}
			local := errors.Is(err, federation.ErrNoIdentityToken) || errors.Is(err, federation.ErrMalformedToken) || errors.Is(err, federation.ErrTooLarge)
			if calls := e.stsCalls() - before; local && calls != 0 {
				t.Errorf("a token refused locally still cost %d STS calls", calls)
			}
		})
	}
}

func TestTokenSourceFailure(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name   string
		err    error
		reason idbridge.Reason
	}{
		{"sign-in required", fmt.Errorf("refresh: %w", token.ErrSignInRequired), "revoked"},
		{"IdP down", fmt.Errorf("refresh: %w", token.ErrIdPUnavailable), "idp_unavailable"},
		{"unclassified", errors.New("disk on fire"), "idp_unavailable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := idSource("unused")
			src.err = tc.err
			p := e.provider(t, src)
			_, err := p.Retrieve(testContext(t))
			if !errors.Is(err, federation.ErrTokenSource) || !errors.Is(err, tc.err) {
				t.Fatalf("error %v", err)
			}
			if r := idbridge.ReasonOf(err); r != tc.reason {
				t.Errorf("reason %q, want %q", r, tc.reason)
			}
		})
	}
	if n := e.stsCalls(); n != 0 {
		t.Errorf("%d STS calls without a token", n)
	}
}

// An expired token is replaced through the source's Invalidate before any
// STS call; STS's own ExpiredTokenException gets one more try too.
func TestExpiredTokenIsRefreshed(t *testing.T) {
	e := newEnv(t)
	expired := e.idToken(map[string]any{"exp": time.Now().Add(-time.Minute).Unix()})
	fresh := e.idToken(nil)

	t.Run("seen locally", func(t *testing.T) {
		src := idSource(expired, fresh)
		before := e.stsCalls()
		if _, err := e.provider(t, src).Retrieve(testContext(t)); err != nil {
			t.Fatal(err)
		}
		if src.invalidations.Load() != 1 || e.stsCalls()-before != 1 {
			t.Errorf("%d invalidations, %d STS calls", src.invalidations.Load(), e.stsCalls()-before)
		}
	})
	t.Run("no fresher token", func(t *testing.T) {
		before := e.stsCalls()
		_, err := e.provider(t, idSource(expired)).Retrieve(testContext(t))
		if !errors.Is(err, federation.ErrTokenExpired) || idbridge.ReasonOf(err) != "expired" {
			t.Fatalf("error %v", err)
		}
		if e.stsCalls() != before {
			t.Error("an expired token was sent to STS")
		}
	})
	t.Run("STS says expired", func(t *testing.T) {
		src := idSource(e.idToken(nil), fresh)
		e.sts.FailNext("ExpiredTokenException", 1)
		before := e.stsCalls()
		if _, err := e.provider(t, src).Retrieve(testContext(t)); err != nil {
			t.Fatal(err)
		}
		reqs := e.sts.Requests()[before:]
		if len(reqs) != 2 || reqs[0].TokenSHA256 == reqs[1].TokenSHA256 {
			t.Errorf("%d calls; the retry must carry the fresh token", len(reqs))
		}
	})
}

// A non-recoverable failure is remembered for one token only: a new token
// (the user signed in again, or was added to the group) is tried at once.
func TestNonRecoverableIsPerToken(t *testing.T) {
	e := newEnv(t)
	denied := e.idToken(map[string]any{"sub": priyaOID, "oid": priyaOID})
	src := idSource(denied, e.idToken(nil))
	p := e.provider(t, plainSource{src})
	for range 3 {
		if _, err := p.Retrieve(testContext(t)); !errors.Is(err, federation.ErrAccessDenied) {
			t.Fatalf("error %v", err)
		}
	}
	if n := e.stsCalls(); n != 1 {
		t.Errorf("%d STS calls for one denied token, want 1", n)
	}
	src.Invalidate() // the source now has Amit's token
	// tried after the provider's backoff, long before NonRecoverableTTL
	e.clock.Advance(2 * time.Second)
	if _, err := p.Retrieve(testContext(t)); err != nil {
		t.Fatalf("new token: %v", err)
	}
	if n := e.stsCalls(); n != 2 {
		t.Errorf("%d STS calls, want 2", n)
	}
}

func TestSessionAttributes(t *testing.T) {
	e := newEnv(t)
	tagged := map[string]any{
		federation.TagsClaim: map[string]any{
			"principal_tags":      map[string]any{"Department": []string{"Lending"}, "Function": []string{"RelationshipManager"}},
			"transitive_tag_keys": []string{"Department"},
		},
		federation.SourceIdentityClaim: "amit.r@bank.example",
	}
	want := func(o *federation.Options) {
		o.SessionTags = map[string]string{"department": "Lending", "Function": "RelationshipManager"}
		o.TransitiveTagKeys = []string{"Department"}
		o.SourceIdentity = "amit.r@bank.example"
	}
	tests := []struct {
		name   string
		claims map[string]any
		ok     bool
	}{
		{"token carries them", tagged, true},
		{"no tags claim", map[string]any{federation.SourceIdentityClaim: "amit.r@bank.example"}, false},
		{"no source identity", map[string]any{federation.TagsClaim: tagged[federation.TagsClaim]}, false},
		{"another tag value", map[string]any{federation.SourceIdentityClaim: "amit.r@bank.example", federation.TagsClaim: map[string]any{
			"principal_tags": map[string]any{"Department": []string{"Credit"}, "Function": []string{"RelationshipManager"}}, "transitive_tag_keys": []string{"Department"}}}, false},
		{"tag not transitive", map[string]any{federation.SourceIdentityClaim: "amit.r@bank.example", federation.TagsClaim: map[string]any{
			"principal_tags": map[string]any{"Department": []string{"Lending"}, "Function": []string{"RelationshipManager"}}}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := e.stsCalls()
			creds, err := e.provider(t, idSource(e.idToken(tc.claims)), want).Retrieve(testContext(t))
			if !tc.ok {
				if !errors.Is(err, federation.ErrSessionAttributes) || idbridge.ReasonOf(err) != "missing_claim" || e.stsCalls() != before {
					t.Fatalf("error %v after %d calls", err, e.stsCalls()-before)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			s, _ := e.sts.Session(creds.AccessKeyID)
			if s.SourceIdentity != "amit.r@bank.example" || s.Tags["Department"] != "Lending" || len(s.TransitiveTagKeys) != 1 {
				t.Errorf("session %+v", s)
			}
		})
	}
}

func TestSessionName(t *testing.T) {
	e := newEnv(t)
	e.sts.AddRole(ststest.Role{ARN: roleARN}) // trust anyone of the client
	tests := []struct {
		name   string
		claims map[string]any
		opt    string
		want   string
	}{
		{"Entra oid", nil, "", amitOID},
		{"sub without oid", map[string]any{"oid": nil, "sub": "repo:bank/lending:ref:refs/heads/main"}, "", "repo_bank_lending_ref_refs_heads_main-"},
		{"configured", nil, "batch-nightly", "batch-nightly"},
		{"long sub", map[string]any{"oid": nil, "sub": strings.Repeat("x", 100)}, "", strings.Repeat("x", 47) + "-"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			creds, err := e.provider(t, idSource(e.idToken(tc.claims)), func(o *federation.Options) { o.RoleSessionName = tc.opt }).Retrieve(testContext(t))
			if err != nil {
				t.Fatal(err)
			}
			s, _ := e.sts.Session(creds.AccessKeyID)
			if !strings.HasPrefix(s.SessionName, tc.want) || len(s.SessionName) > 64 {
				t.Errorf("session name %q, want %q", s.SessionName, tc.want)
			}
		})
	}
}

// stubClient is a consumer-side STS double.
type stubClient func(ctx context.Context, in *sts.AssumeRoleWithWebIdentityInput) (*sts.AssumeRoleWithWebIdentityOutput, error)

func (f stubClient) AssumeRoleWithWebIdentity(ctx context.Context, in *sts.AssumeRoleWithWebIdentityInput, _ ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error) {
	return f(ctx, in)
}

func output(exp time.Time) *sts.AssumeRoleWithWebIdentityOutput {
	return &sts.AssumeRoleWithWebIdentityOutput{
		Credentials: &types.Credentials{AccessKeyId: aws.String("ASIASTUB"), SecretAccessKey: aws.String("secret"),
			SessionToken: aws.String("session"), Expiration: aws.Time(exp)},
		AssumedRoleUser: &types.AssumedRoleUser{Arn: aws.String("arn:aws:sts::111122223333:assumed-role/Loan_ReadOnly/x")},
	}
}

// A caller whose context ends stops waiting; the exchange goes on and the
// next caller gets its result.
func TestCallerCancellation(t *testing.T) {
	e := newEnv(t)
	release := make(chan struct{})
	var calls sync.WaitGroup
	calls.Add(1)
	client := stubClient(func(ctx context.Context, in *sts.AssumeRoleWithWebIdentityInput) (*sts.AssumeRoleWithWebIdentityOutput, error) {
		defer calls.Done()
		select {
		case <-release:
			return output(time.Now().Add(time.Hour)), nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
	p, err := federation.NewProvider(client, roleARN, idSource(e.idToken(nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := p.Retrieve(ctx)
		done <- err
	}()
	cancel()
	var rc *aws.RequestCanceledError
	if err := <-done; !errors.As(err, &rc) {
		t.Fatalf("canceled caller got %v", err)
	}
	close(release)
	calls.Wait()
	c, err := p.Retrieve(testContext(t))
	if err != nil || c.AccessKeyID != "ASIASTUB" {
		t.Fatalf("after the exchange: %v %+v", err, c)
	}
}

// A hung STS call ends at Options.Timeout as a transient failure.
func TestTimeout(t *testing.T) {
	e := newEnv(t)
	client := stubClient(func(ctx context.Context, _ *sts.AssumeRoleWithWebIdentityInput) (*sts.AssumeRoleWithWebIdentityOutput, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	p, err := federation.NewProvider(client, roleARN, idSource(e.idToken(nil)), func(o *federation.Options) { o.Timeout = 20 * time.Millisecond })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Retrieve(testContext(t)); !errors.Is(err, federation.ErrSTSUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v", err)
	}
}

// STS answers that cannot be used are refused as transient failures.
func TestUnusableAnswers(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name string
		out  *sts.AssumeRoleWithWebIdentityOutput
	}{
		{"no credentials", &sts.AssumeRoleWithWebIdentityOutput{}},
		{"no keys", &sts.AssumeRoleWithWebIdentityOutput{Credentials: &types.Credentials{Expiration: aws.Time(time.Now().Add(time.Hour))}}},
		{"no expiration", func() *sts.AssumeRoleWithWebIdentityOutput {
			o := output(time.Time{})
			o.Credentials.Expiration = nil
			return o
		}()},
		{"already expired", output(time.Now().Add(-time.Minute))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client := stubClient(func(context.Context, *sts.AssumeRoleWithWebIdentityInput) (*sts.AssumeRoleWithWebIdentityOutput, error) {
				return tc.out, nil
			})
			p, err := federation.NewProvider(client, roleARN, idSource(e.idToken(nil)))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Retrieve(testContext(t)); !errors.Is(err, federation.ErrSTSUnavailable) {
				t.Fatalf("error %v", err)
			}
		})
	}
}

func TestNewProviderRefuses(t *testing.T) {
	e := newEnv(t)
	src := idSource("x")
	tests := []struct {
		name   string
		client stscreds.AssumeRoleWithWebIdentityAPIClient
		arn    string
		src    token.Source
		opt    func(*federation.Options)
	}{
		{"nil client", nil, roleARN, src, nil},
		{"nil source", e.client, roleARN, nil, nil},
		{"user ARN", e.client, "arn:aws:iam::111122223333:user/amit", src, nil},
		{"short account", e.client, "arn:aws:iam::1111:role/x", src, nil},
		{"bad session name", e.client, roleARN, src, func(o *federation.Options) { o.RoleSessionName = "amit r" }},
		{"negative duration", e.client, roleARN, src, func(o *federation.Options) { o.Duration = -time.Second }},
		{"policy too long", e.client, roleARN, src, func(o *federation.Options) { o.Policy = strings.Repeat("x", 2049) }},
		{"bad policy ARN", e.client, roleARN, src, func(o *federation.Options) { o.PolicyARNs = []string{"arn:aws:s3:::bucket"} }},
		{"eleven policy ARNs", e.client, roleARN, src, func(o *federation.Options) {
			for range 11 {
				o.PolicyARNs = append(o.PolicyARNs, "arn:aws:iam::aws:policy/ReadOnlyAccess")
			}
		}},
		{"unknown token kind", e.client, roleARN, src, func(o *federation.Options) { o.TokenKind = 7 }},
		{"aws: tag", e.client, roleARN, src, func(o *federation.Options) { o.SessionTags = map[string]string{"aws:x": "y"} }},
		{"tags differing in case", e.client, roleARN, src, func(o *federation.Options) { o.SessionTags = map[string]string{"Dept": "a", "dept": "b"} }},
		{"transitive key not a tag", e.client, roleARN, src, func(o *federation.Options) { o.TransitiveTagKeys = []string{"Dept"} }},
		{"bad source identity", e.client, roleARN, src, func(o *federation.Options) { o.SourceIdentity = "aws:me" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := federation.NewProvider(tc.client, tc.arn, tc.src, tc.opt)
			if !errors.Is(err, idbridge.ErrInvalidOptions) || idbridge.ReasonOf(err) != idbridge.ReasonInvalidOptions {
				t.Fatalf("error %v", err)
			}
		})
	}
}

// Options are copied: changing the caller's maps afterwards changes nothing.
func TestOptionsAreCopied(t *testing.T) {
	e := newEnv(t)
	tags := map[string]string{"Department": "Lending"}
	tok := e.idToken(map[string]any{federation.TagsClaim: map[string]any{"principal_tags": map[string]any{"Department": []string{"Lending"}}}})
	p := e.provider(t, idSource(tok), func(o *federation.Options) { o.SessionTags = tags })
	tags["Department"] = "Credit"
	if _, err := p.Retrieve(testContext(t)); err != nil {
		t.Fatal(err)
	}
}

func TestDurationIsClamped(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		in   time.Duration
		want string
	}{{time.Minute, "900"}, {0, ""}, {30 * time.Hour, "43200"}, {20*time.Minute + 500*time.Millisecond, "1200"}} {
		before := e.stsCalls()
		p, err := federation.NewProvider(e.client, otherRole, idSource(e.idToken(nil)), func(o *federation.Options) { o.Duration = tc.in })
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Retrieve(testContext(t)); err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if got := e.sts.Requests()[before].Form.Get("DurationSeconds"); got != tc.want {
			t.Errorf("Duration %s sent as %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestInvalidateForcesNewCall(t *testing.T) {
	e := newEnv(t)
	p := e.provider(t, idSource(e.idToken(nil)))
	a, err := p.Retrieve(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	p.Invalidate()
	b, err := p.Retrieve(testContext(t))
	if err != nil || a.AccessKeyID == b.AccessKeyID || e.stsCalls() != 2 {
		t.Fatalf("after Invalidate: %v, same key %v, %d calls", err, a.AccessKeyID == b.AccessKeyID, e.stsCalls())
	}
	if p.RoleARN() != roleARN || len(p.ProviderSources()) != 1 || p.ProviderSources()[0] != aws.CredentialSourceSTSAssumeRoleWebID {
		t.Error("RoleARN or ProviderSources")
	}
}

// While STS is unreachable, the backoff holds for every token: a source
// that hands out a new token on each call (no cache in front of it) must
// not turn each Retrieve into an IdP call and an STS call.
func TestTransientBackoffIsNotPerToken(t *testing.T) {
	e := newEnv(t)
	var minted atomic.Int32
	src := token.SourceFunc(func(context.Context) (*token.Token, error) {
		minted.Add(1)
		return &token.Token{IDToken: e.idToken(nil)}, nil
	})
	p := e.provider(t, src, func(o *federation.Options) { o.MinBackoff = time.Minute })
	e.sts.FailNext("ServiceUnavailable", 1)
	for range 3 {
		if _, err := p.Retrieve(testContext(t)); !errors.Is(err, federation.ErrSTSUnavailable) {
			t.Fatalf("error %v", err)
		}
	}
	if n, m := e.stsCalls(), minted.Load(); n != 1 || m != 1 {
		t.Errorf("%d STS calls and %d tokens during the backoff, want 1 and 1", n, m)
	}
	e.clock.Advance(time.Minute)
	if _, err := p.Retrieve(testContext(t)); err != nil {
		t.Fatalf("after the backoff: %v", err)
	}
}

// A refusal answered from memory is audited too (cached: true), so every
// Retrieve that got no credentials is in the trail, not only those STS saw;
// the token appears only as its token_id.
func TestRememberedRefusalIsAudited(t *testing.T) {
	e := newEnv(t)
	denied := e.idToken(map[string]any{"sub": priyaOID, "oid": priyaOID})
	var log auditLog
	p := e.provider(t, plainSource{idSource(denied)}, func(o *federation.Options) { o.Audit = log.handler() })
	for range 3 {
		if _, err := p.Retrieve(testContext(t)); !errors.Is(err, federation.ErrAccessDenied) {
			t.Fatalf("error %v", err)
		}
	}
	if n := e.stsCalls(); n != 1 {
		t.Fatalf("%d STS calls, want 1", n)
	}
	evs := log.events(t)
	if len(evs) != 3 {
		t.Fatalf("%d events, want 3:\n%s", len(evs), log.String())
	}
	for i, ev := range evs {
		cached, _ := ev["cached"].(bool)
		if ev["event"] != "sts.failed" || ev["reason"] != "forbidden" || ev["oid"] != priyaOID || ev["token_id"] == nil || cached != (i > 0) {
			t.Errorf("event %d: %v", i, ev)
		}
	}
	if strings.Contains(log.String(), denied[len(denied)-20:]) {
		t.Fatal("the token reached the audit log")
	}
}
