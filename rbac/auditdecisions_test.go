package rbac

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/idbridge/idbridge"
)

// TestAuditDecisions: with Options.AuditDecisions, every decision leaves
// exactly one authz event, whichever way it was asked for; without it
// (the default), only Authorize records one. No event carries the raw
// jti or any token.
func TestAuditDecisions(t *testing.T) {
	withMFA := func(c *idbridge.Claims) *idbridge.Claims { c.AMR = []string{"pwd", "mfa"}; return c }
	rm := func() *idbridge.Claims {
		c := withMFA(claims(lendingRM))
		c.ID, c.AuthorizedParty = "jti-secret-value", "client-app"
		return c
	}
	leaver := func() *idbridge.Claims {
		c := withMFA(claims(lendingRM, leavers))
		c.ID = "jti-secret-value"
		return c
	}
	tests := []struct {
		name      string
		on        bool // Options.AuditDecisions
		decide    func(p *Policy)
		event     string // "" = none
		reason    string
		perm      string
		rule      string
		wantRoles bool
	}{
		{"Decide allowed", true, func(p *Policy) { p.Decide(rm()) }, "authz.allowed", "", "", "", true},
		{"DecideContext allowed", true, func(p *Policy) { p.DecideContext(context.Background(), rm()) }, "authz.allowed", "", "", "", true},
		{"Decide leaver denied", true, func(p *Policy) { p.Decide(leaver()) }, "authz.denied", "revoked", "", "leaver", false},
		{"Decide nil claims denied", true, func(p *Policy) { p.Decide(nil) }, "authz.denied", "missing_claim", "", "", false},
		{"Authorize: one event, with permission", true, func(p *Policy) { p.Authorize(context.Background(), rm(), "loan:read") }, "authz.allowed", "", "loan:read", "", true},
		{"Authorize denied: one event", true, func(p *Policy) { p.Authorize(context.Background(), rm(), "loan:approve") }, "authz.denied", "insufficient_role", "loan:approve", "", true},
		{"DecideJSON records nothing", true, func(p *Policy) { p.DecideJSON([]byte(`{"groups":["` + lendingRM + `"]}`)) }, "", "", "", "", false},
		{"Test records nothing", true, func(p *Policy) { p.Test(context.Background()) }, "", "", "", "", false},
		{"off: Decide records nothing", false, func(p *Policy) { p.Decide(rm()) }, "", "", "", "", false},
		{"off: Authorize still records", false, func(p *Policy) { p.Authorize(context.Background(), rm(), "loan:read") }, "authz.allowed", "", "loan:read", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			var mu sync.Mutex
			h := slog.NewJSONHandler(&lockedWriter{w: &buf, mu: &mu}, nil)
			p := loadBank(t, func(o *Options) { o.Audit, o.AuditDecisions = h, tt.on })
			mu.Lock()
			buf.Reset() // policy.reloaded of the load
			mu.Unlock()
			tt.decide(p)
			mu.Lock()
			out := buf.String()
			mu.Unlock()
			if strings.Contains(out, "jti-secret-value") || strings.Contains(out, "eyJ") {
				t.Errorf("an event carries the raw jti or a token: %s", out)
			}
			var lines []string
			if s := strings.TrimSpace(out); s != "" {
				lines = strings.Split(s, "\n")
			}
			if tt.event == "" {
				if len(lines) != 0 {
					t.Fatalf("%d events, want none: %s", len(lines), out)
				}
				return
			}
			if len(lines) != 1 {
				t.Fatalf("%d events, want exactly one: %s", len(lines), out)
			}
			var ev map[string]any
			if err := json.Unmarshal([]byte(lines[0]), &ev); err != nil {
				t.Fatal(err)
			}
			str := func(k string) string { s, _ := ev[k].(string); return s }
			if str("event") != tt.event || str("reason") != tt.reason || str("permission") != tt.perm || str("rule") != tt.rule {
				t.Errorf("event %s reason %q permission %q rule %q; want %s %q %q %q",
					str("event"), str("reason"), str("permission"), str("rule"), tt.event, tt.reason, tt.perm, tt.rule)
			}
			if str("policy_version") != p.Version() {
				t.Errorf("policy_version %q, want %q", str("policy_version"), p.Version())
			}
			if _, ok := ev["roles"]; ok != tt.wantRoles {
				t.Errorf("roles present %v, want %v: %s", ok, tt.wantRoles, lines[0])
			}
			if tt.name != "Decide nil claims denied" && (str("oid") == "" || len(str("token_id")) != 16) {
				t.Errorf("event lacks oid or hashed token_id: %s", lines[0])
			}
		})
	}
}

// BenchmarkDecideAudited measures Decide with Options.AuditDecisions: with
// no Audit handler (the check only), and recording each decision as JSON.
func BenchmarkDecideAudited(b *testing.B) {
	for _, tc := range []struct {
		name string
		h    slog.Handler
	}{{"audit=nil", nil}, {"audit=json", slog.NewJSONHandler(io.Discard, nil)}} {
		p, err := ParsePolicy([]byte(benchYAML(1000)), func(o *Options) { o.Audit, o.AuditDecisions = tc.h, true })
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name, func(b *testing.B) { benchDecide(b, p, benchClaims(1000)) })
	}
}
