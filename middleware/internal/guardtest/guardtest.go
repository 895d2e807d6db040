// Package guardtest holds the fixtures the tests of middleware and
// grpcauth share: a fake IdP with a validator and a policy, an audit
// recorder, a settable clock and token sources. It is for tests only.
package guardtest

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/jwkstest"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/rbac"
	"github.com/idbridge/idbridge/token"
)

// Audience is the API's client ID, as in Entra v2.0 tokens.
const Audience = jwkstest.APIClientID

// Scenario group object IDs used by the test policy.
const (
	GroupRM       = "3f2a9c1e-0b7d-4e5a-8c6f-1d2e3f4a5b60"
	GroupApprover = "c5d7e9f1-2a4b-4c6d-8e0f-3f4a5b6c7d82"
	GroupLeavers  = "e2d94c07-1b5a-4f68-a3c9-7f0e8b2d5a46"
)

// PolicyYAML is the test policy, with %q for the issuer.
const PolicyYAML = `version: 1
issuers:
  - {name: test, issuer: %q}
groups:
  - {id: ` + GroupRM + `, name: Lending_RM}
  - {id: ` + GroupApprover + `, name: Loan_Approver}
  - {id: ` + GroupLeavers + `, name: HR_Leavers}
roles:
  - {name: LoanViewer, permissions: [loan:read]}
  - {name: LoanApprover, permissions: [loan:read, loan:approve]}
mappings:
  - id: rm
    when: {group: Lending_RM}
    grant: {roles: [LoanViewer]}
  - id: approver
    when: {group: Loan_Approver, mfa: true}
    grant: {roles: [LoanApprover]}
deny:
  - {id: leaver, reason: revoked, when: {group: HR_Leavers}}
`

// Env is one fake IdP with a validator and a policy for it.
type Env struct {
	IdP    *jwkstest.Server
	V      *jwks.Validator
	Policy *rbac.Policy
}

// NewEnv starts a fake IdP and builds a validator (with fns) and the test
// policy for it.
func NewEnv(tb testing.TB, fns ...func(*jwks.Options)) *Env {
	tb.Helper()
	idp := jwkstest.Start(tb)
	v, err := jwks.NewValidator(append([]func(*jwks.Options){func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: idp.Issuer(), JWKSURL: idp.JWKSURL()}}
		o.Audiences = []string{Audience}
		o.Algorithms = []string{"RS256"}
		o.HTTPClient = idp.Client()
		o.Cache = &jwks.CacheOptions{}
	}}, fns...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { v.Close() })
	p, err := rbac.ParsePolicy(fmt.Appendf(nil, PolicyYAML, idp.Issuer()))
	if err != nil {
		tb.Fatal(err)
	}
	return &Env{IdP: idp, V: v, Policy: p}
}

// ExampleSetup starts a fake IdP and returns it with a validator and the
// test policy, for examples, which have no testing.TB; the caller closes
// both.
func ExampleSetup() (*jwkstest.Server, *jwks.Validator, *rbac.Policy) {
	idp := jwkstest.NewServer()
	v, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: idp.Issuer(), JWKSURL: idp.JWKSURL()}}
		o.Audiences = []string{jwkstest.APIClientID}
		o.Algorithms = []string{"RS256"}
		o.Cache = &jwks.CacheOptions{}
	})
	if err != nil {
		panic(err)
	}
	p, err := rbac.ParsePolicy(fmt.Appendf(nil, PolicyYAML, idp.Issuer()))
	if err != nil {
		panic(err)
	}
	return idp, v, p
}

// Mint signs a token for Audience with the given extra claims.
func (e *Env) Mint(claims map[string]any) string {
	c := map[string]any{"aud": Audience, "sub": "u1", "oid": "oid-1", "tid": "tid-1", "jti": "jti-1"}
	for k, v := range claims {
		c[k] = v
	}
	return e.IdP.Mint(c)
}

// Guard builds a guard with the test policy and realm "lending", then fns.
func (e *Env) Guard(tb testing.TB, fns ...func(*middleware.Options)) *middleware.Guard {
	tb.Helper()
	g, err := middleware.New(e.V, append([]func(*middleware.Options){func(o *middleware.Options) {
		o.Policy = e.Policy
		o.Realm = "lending"
	}}, fns...)...)
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

// Recorder is a slog.Handler that keeps the audit events.
type Recorder struct {
	mu     sync.Mutex
	events []map[string]any
}

func (r *Recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *Recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *Recorder) WithGroup(string) slog.Handler            { return r }
func (r *Recorder) Handle(_ context.Context, rec slog.Record) error {
	m := map[string]any{}
	rec.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.Any()
		return true
	})
	r.mu.Lock()
	r.events = append(r.events, m)
	r.mu.Unlock()
	return nil
}

// Names returns the event names recorded so far.
func (r *Recorder) Names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		out = append(out, e["event"].(string))
	}
	return out
}

// All returns the events recorded so far.
func (r *Recorder) All() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// Clock is a settable clock.
type Clock struct{ ns atomic.Int64 }

// NewClock returns a clock set to t.
func NewClock(t time.Time) *Clock    { c := &Clock{}; c.ns.Store(t.UnixNano()); return c }
func (c *Clock) Now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *Clock) Add(d time.Duration) { c.ns.Add(int64(d)) }

// StubValidator answers every token with the same result.
type StubValidator struct {
	C   *idbridge.Claims
	Err error
}

func (s StubValidator) Validate(context.Context, string) (*idbridge.Claims, error) { return s.C, s.Err }

// CountingSource hands out a fixed token and counts calls.
type CountingSource struct {
	Tok   *token.Token
	Err   error
	Calls atomic.Int32
}

func (s *CountingSource) Token(context.Context) (*token.Token, error) {
	s.Calls.Add(1)
	return s.Tok, s.Err
}

// RotatingSource hands out Tokens[I] and moves to the next token when
// invalidated, as a token.Cache would fetch a new one.
type RotatingSource struct {
	Mu          sync.Mutex
	Tokens      []string
	I           int
	Calls       int
	Invalidated int
}

func (s *RotatingSource) Token(context.Context) (*token.Token, error) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	s.Calls++
	return &token.Token{AccessToken: s.Tokens[min(s.I, len(s.Tokens)-1)]}, nil
}

func (s *RotatingSource) Invalidate() {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	s.Invalidated++
	s.I++
}
