package federation_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/federation"
)

// slowSTS is an in-process STS for synctest bubbles: each call takes
// latency (on the bubble's clock) and issues credentials valid for life,
// or fails with the next scripted code. It records every key's real
// expiration, to check what callers are handed.
type slowSTS struct {
	latency, life time.Duration

	calls atomic.Int32
	mu    sync.Mutex
	exp   map[string]time.Time // guarded by mu
	fail  []string             // guarded by mu: codes to answer next, in order
	down  string               // guarded by mu: code to answer while set
}

func newSlowSTS(latency, life time.Duration) *slowSTS {
	return &slowSTS{latency: latency, life: life, exp: map[string]time.Time{}}
}

func (s *slowSTS) failNext(codes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = append(s.fail, codes...)
}

func (s *slowSTS) setDown(code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = code
}

func (s *slowSTS) AssumeRoleWithWebIdentity(ctx context.Context, _ *sts.AssumeRoleWithWebIdentityInput, _ ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error) {
	n := s.calls.Add(1)
	select {
	case <-time.After(s.latency):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if code := s.down; code != "" || len(s.fail) > 0 {
		if code == "" {
			code, s.fail = s.fail[0], s.fail[1:]
		}
		return nil, &smithy.GenericAPIError{Code: code, Message: "scripted", Fault: smithy.FaultServer}
	}
	key := fmt.Sprintf("ASIASLOW%012d", n)
	exp := time.Now().Add(s.life)
	s.exp[key] = exp
	return &sts.AssumeRoleWithWebIdentityOutput{
		Credentials: &types.Credentials{AccessKeyId: aws.String(key), SecretAccessKey: aws.String("secret"),
			SessionToken: aws.String("session"), Expiration: aws.Time(exp)},
		AssumedRoleUser: &types.AssumedRoleUser{Arn: aws.String("arn:aws:sts::111122223333:assumed-role/Loan_ReadOnly/x")},
	}, nil
}

// left is how long the credentials with key really had to live at now.
func (s *slowSTS) left(key string, now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exp[key].Sub(now)
}

// bubbleToken is an ID token shape for the synctest clock (which starts in
// 2000): the fake STS does not verify it, the Provider only reads it.
func bubbleToken() string {
	enc := base64.RawURLEncoding.EncodeToString
	payload := fmt.Sprintf(`{"iss":"https://login.microsoftonline.com/%s/v2.0","aud":%q,"sub":%q,"oid":%q,"tid":%q,"exp":%d}`,
		tenantID, clientID, amitOID, amitOID, tenantID, time.Now().Add(24*time.Hour).Unix())
	return enc([]byte(`{"alg":"RS256","typ":"JWT","kid":"k1"}`)) + "." + enc([]byte(payload)) + "." + enc([]byte("signature-bytes-not-checked"))
}

// TestNoCallerWaitsAfterWarmUp is the load case: 64 callers, 3 s
// credentials, a 200 ms STS, for 10 s. After each caller's first call none
// waits (renewal is in the background), and none is handed credentials
// with less than 100 ms to live.
func TestNoCallerWaitsAfterWarmUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSlowSTS(200*time.Millisecond, 3*time.Second)
		p, err := federation.NewProvider(s, roleARN, idSource(bubbleToken()))
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		var slow, short, total atomic.Int32
		var minLeft atomic.Int64
		minLeft.Store(int64(time.Hour))
		end := time.Now().Add(10 * time.Second)
		var wg sync.WaitGroup
		for i := range 64 {
			wg.Go(func() {
				for first := true; time.Now().Before(end); first = false {
					start := time.Now()
					c, err := p.Retrieve(context.Background())
					if err != nil {
						t.Error(err)
						return
					}
					total.Add(1)
					if !first && time.Since(start) > 100*time.Millisecond {
						slow.Add(1)
					}
					left := s.left(c.AccessKeyID, time.Now())
					if left < 100*time.Millisecond {
						short.Add(1)
					}
					if int64(left) < minLeft.Load() {
						minLeft.Store(int64(left)) // a racy minimum is fine for a report
					}
					time.Sleep(time.Duration(3+i%7) * time.Millisecond)
				}
			})
		}
		wg.Wait()
		t.Logf("%d calls, %d STS calls, %d waited over 100 ms after the first, %d handed out with under 100 ms left (least left %v)",
			total.Load(), s.calls.Load(), slow.Load(), short.Load(), time.Duration(minLeft.Load()))
		if slow.Load() != 0 {
			t.Errorf("%d calls waited over 100 ms after the caller's first, want 0", slow.Load())
		}
		if short.Load() != 0 {
			t.Errorf("%d credentials handed out with under 100 ms left, want 0", short.Load())
		}
		// One call per renewal: about one every 1.5 s, not one per caller.
		if n := s.calls.Load(); n < 5 || n > 12 {
			t.Errorf("%d STS calls in 10 s, want one per renewal (5..12)", n)
		}
	})
}

// TestColdCallersMakeOneCall: 1,000 callers arriving before any
// credentials exist share one STS call.
func TestColdCallersMakeOneCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSlowSTS(200*time.Millisecond, time.Hour)
		p, err := federation.NewProvider(s, roleARN, idSource(bubbleToken()))
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		var wg sync.WaitGroup
		keys := make([]string, 1000)
		for i := range keys {
			wg.Go(func() {
				c, err := p.Retrieve(context.Background())
				if err != nil {
					t.Error(err)
				}
				keys[i] = c.AccessKeyID
			})
		}
		wg.Wait()
		if n := s.calls.Load(); n != 1 {
			t.Errorf("%d STS calls for 1,000 cold callers, want 1", n)
		}
		for _, k := range keys {
			if k != keys[0] {
				t.Fatal("callers got different credentials")
			}
		}
	})
}

// TestRenewsWhenNobodyAsks: an idle service finds fresh credentials, and
// Close stops the renewals and leaves no goroutine (synctest fails the
// test if one is left blocked).
func TestRenewsWhenNobodyAsks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSlowSTS(200*time.Millisecond, 3*time.Second)
		p, err := federation.NewProvider(s, roleARN, idSource(bubbleToken()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Retrieve(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Second) // nobody asks
		renewed := s.calls.Load()
		if renewed < 5 {
			t.Errorf("%d STS calls in 10 idle seconds, want the background to renew", renewed)
		}
		start := time.Now()
		c, err := p.Retrieve(context.Background())
		if err != nil || time.Since(start) != 0 || s.left(c.AccessKeyID, time.Now()) < time.Second {
			t.Errorf("after idling: %v, waited %v, %v left", err, time.Since(start), s.left(c.AccessKeyID, time.Now()))
		}

		time.Sleep(time.Second)
		p.Close()
		p.Close() // idempotent
		after := s.calls.Load()
		time.Sleep(time.Minute)
		if n := s.calls.Load(); n != after {
			t.Errorf("%d STS calls after Close", n-after)
		}
		if _, err := p.Retrieve(context.Background()); !errors.Is(err, idbridge.ErrClosed) {
			t.Errorf("Retrieve after Close and expiry: %v, want ErrClosed", err)
		}
	})
}

// TestServesLastCredentialsWhileSTSIsDown: a renewal that fails for a
// reason a retry can fix keeps the valid credentials in service (and says
// so in the audit event); one a retry cannot fix (AccessDenied) withdraws
// them; credentials inside their margin are never served.
func TestServesLastCredentialsWhileSTSIsDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSlowSTS(200*time.Millisecond, 20*time.Minute)
		var log, ops auditLog
		p, err := federation.NewProvider(s, roleARN, idSource(bubbleToken()), func(o *federation.Options) {
			o.Audit = log.handler()
			o.Logger = slog.New(ops.handler())
			o.MinBackoff, o.MaxBackoff = time.Minute, time.Minute
			o.RefreshJitter = -1 // renew exactly 5 minutes before expiry (the default window of a 20-minute session)
		})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		first, err := p.Retrieve(context.Background())
		if err != nil {
			t.Fatal(err)
		}

		// Into the renewal window (5 min): the background renewal fails,
		// the old credentials are served.
		s.failNext("ServiceUnavailable")
		time.Sleep(15*time.Minute + time.Second)
		synctest.Wait()
		c, err := p.Retrieve(context.Background())
		if err != nil || c.AccessKeyID != first.AccessKeyID {
			t.Fatalf("while STS is down: %v, key %s (want the last one)", err, c.AccessKeyID)
		}
		if n := s.calls.Load(); n != 2 {
			t.Errorf("%d STS calls, want 2", n)
		}
		evs := log.events(t)
		if ev := evs[len(evs)-1]; ev["event"] != "sts.failed" || ev["reason"] != "idp_unavailable" || ev["previous_valid_until"] == nil {
			t.Errorf("audit %v", ev)
		}

		// STS stays down until expiry: nothing within the margin is served.
		s.setDown("ServiceUnavailable")
		time.Sleep(time.Until(first.Expires.Add(time.Millisecond)))
		if _, err := p.Retrieve(context.Background()); !errors.Is(err, federation.ErrSTSUnavailable) {
			t.Fatalf("past the margin with STS down: %v", err)
		}

		// Denied is not papered over with the old credentials.
		s.setDown("")
		p.Invalidate()
		if _, err := p.Retrieve(context.Background()); err != nil {
			t.Fatal(err)
		}
		s.failNext("AccessDenied")
		time.Sleep(15*time.Minute + time.Second)
		synctest.Wait()
		if _, err := p.Retrieve(context.Background()); !errors.Is(err, federation.ErrAccessDenied) {
			t.Fatalf("after AccessDenied: %v", err)
		}

		// Each failed exchange reached the operator's logger, audit or not.
		recs := ops.events(t)
		if len(recs) < 3 {
			t.Fatalf("%d log records, want one per failed exchange", len(recs))
		}
		down, denied := recs[0], recs[len(recs)-1]
		for _, c := range []struct {
			rec  map[string]any
			want map[string]any
		}{
			{down, map[string]any{"level": "WARN", "msg": "federation: STS exchange failed; serving the current credentials meanwhile",
				"reason": "idp_unavailable", "error_code": "ServiceUnavailable", "role_arn": roleARN}},
			{denied, map[string]any{"level": "WARN", "msg": "federation: STS exchange failed; no valid credentials to serve",
				"reason": "forbidden", "error_code": "AccessDenied", "role_arn": roleARN}},
		} {
			for k, v := range c.want {
				if c.rec[k] != v {
					t.Errorf("%s = %v, want %v (%v)", k, c.rec[k], v, c.rec)
				}
			}
		}
		if down["valid_until"] == nil || down["retry_in"] == nil {
			t.Errorf("valid_until or retry_in missing: %v", down)
		}
		if strings.Contains(ops.String(), "secret") || strings.Contains(ops.String(), "session") || strings.Contains(ops.String(), "eyJ") {
			t.Error("the log carries a key or token")
		}
	})
}

// TestForgottenProviderStopsItsGoroutine: a Provider dropped without
// Close (built per request by mistake) must not leave its renewal
// goroutine behind forever.
func TestForgottenProviderStopsItsGoroutine(t *testing.T) {
	renewers := func() int {
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		return strings.Count(string(buf[:n]), "idbridge/token.(*entry).loop")
	}
	before := renewers()
	func() {
		p, err := federation.NewProvider(newSlowSTS(0, time.Hour), roleARN, idSource(bubbleToken()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Retrieve(context.Background()); err != nil {
			t.Fatal(err)
		}
	}()
	for deadline := time.Now().Add(5 * time.Second); renewers() > before; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the forgotten provider's renewal goroutine is still running")
		}
		runtime.GC()
	}
}
