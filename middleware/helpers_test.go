package middleware_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/jwkstest"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/rbac"
)

const audience = jwkstest.APIClientID // the API's client ID, as in Entra v2.0 tokens

// Scenario group object IDs used by the test policy.
const (
	groupRM       = "3f2a9c1e-0b7d-4e5a-8c6f-1d2e3f4a5b60"
	groupApprover = "c5d7e9f1-2a4b-4c6d-8e0f-3f4a5b6c7d82"
	groupLeavers  = "e2d94c07-1b5a-4f68-a3c9-7f0e8b2d5a46"
)

const policyYAML = `version: 1
issuers:
  - {name: test, issuer: %q}
groups:
  - {id: ` + groupRM + `, name: Lending_RM}
  - {id: ` + groupApprover + `, name: Loan_Approver}
  - {id: ` + groupLeavers + `, name: HR_Leavers}
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

// env is one fake IdP with a validator and a policy for it.
type env struct {
	idp    *jwkstest.Server
	v      *jwks.Validator
	policy *rbac.Policy
}

func newEnv(tb testing.TB, fns ...func(*jwks.Options)) *env {
	tb.Helper()
	idp := jwkstest.Start(tb)
	v, err := jwks.NewValidator(append([]func(*jwks.Options){func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: idp.Issuer(), JWKSURL: idp.JWKSURL()}}
		o.Audiences = []string{audience}
		o.Algorithms = []string{"RS256"}
		o.HTTPClient = idp.Client()
		o.Cache = &jwks.CacheOptions{}
	}}, fns...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { v.Close() })
	p, err := rbac.ParsePolicy(fmt.Appendf(nil, policyYAML, idp.Issuer()))
	if err != nil {
		tb.Fatal(err)
	}
	return &env{idp: idp, v: v, policy: p}
}

// mint signs a token for audience with the given extra claims.
func (e *env) mint(claims map[string]any) string {
	c := map[string]any{"aud": audience, "sub": "u1", "oid": "oid-1", "tid": "tid-1", "jti": "jti-1"}
	for k, v := range claims {
		c[k] = v
	}
	return e.idp.Mint(c)
}

func (e *env) guard(tb testing.TB, fns ...func(*middleware.Options)) *middleware.Guard {
	tb.Helper()
	g, err := middleware.New(e.v, append([]func(*middleware.Options){func(o *middleware.Options) {
		o.Policy = e.policy
		o.Realm = "lending"
	}}, fns...)...)
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

// recorder is a slog.Handler that keeps the audit events.
type recorder struct {
	mu     sync.Mutex
	events []map[string]any
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *recorder) WithGroup(string) slog.Handler            { return r }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
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

// names returns the event names recorded so far.
func (r *recorder) names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		out = append(out, e["event"].(string))
	}
	return out
}

func (r *recorder) all() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// clock is a settable clock.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock    { c := &clock{}; c.ns.Store(t.UnixNano()); return c }
func (c *clock) Now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *clock) Add(d time.Duration) { c.ns.Add(int64(d)) }
