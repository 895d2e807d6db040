package federation_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/idbridge/idbridge/federation"
	"github.com/idbridge/idbridge/federation/ststest"
	"github.com/idbridge/idbridge/jwks/jwkstest"
	"github.com/idbridge/idbridge/token"
)

// The scenario: Amit, a relationship manager in Lending_RM, is mapped to
// the IAM role Loan_ReadOnly.
const (
	roleARN   = "arn:aws:iam::111122223333:role/Loan_ReadOnly"
	otherRole = "arn:aws:iam::111122223333:role/Loan_Approver"
	clientID  = "lending-web"                          // the app Amit signs in to: aud of his ID token
	apiAud    = "3c6e1a2b-7d4f-4e8a-9b0c-1d2e3f4a5b61" // the lending API's client ID: aud of an access token for it
	tenantID  = "9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c"
	amitOID   = "a1b2c3d4-0001-4a5b-8c6d-000000000001"
	priyaOID  = "a1b2c3d4-0002-4a5b-8c6d-000000000002"
)

// env is a fake IdP and a fake STS that trusts it: Loan_ReadOnly trusts
// Amit's sub for the lending-web client, Loan_Approver (12h max) trusts
// anyone of the client.
type env struct {
	idp    *jwkstest.Server
	sts    *ststest.Server
	client *sts.Client
	clock  *clock
}

func newEnv(t testing.TB, stsOpts ...func(*ststest.Options)) *env {
	t.Helper()
	e := &env{idp: jwkstest.Start(t), clock: newClock(time.Now())}
	e.sts = ststest.Start(t, stsOpts...)
	e.sts.AddOIDCProvider(ststest.OIDCProvider{URL: e.idp.Issuer(), ClientIDs: []string{clientID}, JWKSURL: e.idp.JWKSURL()})
	e.sts.AddRole(ststest.Role{ARN: roleARN, Trust: []ststest.Condition{
		{Op: ststest.StringEquals, Key: ststest.ClaimKey(e.idp.Issuer(), "oaud"), Values: []string{clientID}},
		{Op: ststest.StringEquals, Key: ststest.ClaimKey(e.idp.Issuer(), "sub"), Values: []string{amitOID}},
	}})
	e.sts.AddRole(ststest.Role{ARN: otherRole, MaxSessionDuration: 12 * time.Hour})
	e.client = e.sts.Client()
	return e
}

// idToken mints an ID token for Amit; claims override or (with nil) drop
// the defaults.
func (e *env) idToken(claims map[string]any) string {
	c := map[string]any{
		"aud": clientID, "sub": amitOID, "oid": amitOID, "tid": tenantID,
		"jti": randomHex(8), "preferred_username": "amit.r@bank.example",
	}
	for k, v := range claims {
		c[k] = v
	}
	return e.idp.Mint(c)
}

// provider builds a Provider on the env's clock.
func (e *env) provider(t testing.TB, src token.Source, optFns ...func(*federation.Options)) *federation.Provider {
	t.Helper()
	fns := append([]func(*federation.Options){func(o *federation.Options) { o.Now = e.clock.Now }}, optFns...)
	p, err := federation.NewProvider(e.client, roleARN, src, fns...)
	if err != nil {
		t.Fatalf("NewProvider: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// clock is a settable clock.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *clock) Now() time.Time            { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration)   { c.ns.Add(int64(d)) }
func (c *clock) Set(t time.Time)           { c.ns.Store(t.UnixNano()) }
func (c *clock) Since(t time.Time) float64 { return c.Now().Sub(t).Seconds() }

// source is a token source serving a queue of tokens: each Invalidate moves
// to the next one. It counts calls.
type source struct {
	mu            sync.Mutex
	toks          []*token.Token
	err           error
	calls         atomic.Int32
	invalidations atomic.Int32
}

func idSource(ids ...string) *source {
	s := &source{}
	for _, id := range ids {
		s.toks = append(s.toks, &token.Token{IDToken: id, AccessToken: "opaque-access-token"})
	}
	return s
}

func (s *source) Token(context.Context) (*token.Token, error) {
	s.calls.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	return s.toks[0], nil
}

func (s *source) Invalidate() {
	s.invalidations.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.toks) > 1 {
		s.toks = s.toks[1:]
	}
}

// plainSource has no Invalidate.
type plainSource struct{ s *source }

func (p plainSource) Token(ctx context.Context) (*token.Token, error) { return p.s.Token(ctx) }

// auditLog collects JSON audit records.
type auditLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (a *auditLog) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.buf.Write(p)
}

func (a *auditLog) handler() slog.Handler { return slog.NewJSONHandler(a, nil) }

func (a *auditLog) String() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.buf.String()
}

func (a *auditLog) events(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(a.String()), "\n") {
		if line == "" {
			continue
		}
		m := map[string]any{}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("audit line is not JSON: %v", err)
		}
		out = append(out, m)
	}
	return out
}

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// stsCalls counts the requests the fake STS received.
func (e *env) stsCalls() int { return len(e.sts.Requests()) }
