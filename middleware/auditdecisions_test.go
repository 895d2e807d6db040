package middleware_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/middleware/internal/guardtest"
	"github.com/idbridge/idbridge/rbac"
)

// TestAuditDecisionsOncePerRequest: a policy that records its decisions
// (rbac.Options.AuditDecisions) behind a guard that audits leaves one authz
// event per request, the guard's (with route and permission); behind a
// guard that does not audit, the policy's own event is the one. The raw
// token and jti appear in neither.
func TestAuditDecisionsOncePerRequest(t *testing.T) {
	tests := []struct {
		name        string
		guardAudits bool
		groups      []string
		want        []string
		route       bool // the authz event is the guard's
	}{
		{"guard audits, allowed", true, []string{groupRM}, []string{"token.validated", "authz.allowed"}, true},
		{"guard audits, denied", true, nil, []string{"token.validated", "authz.denied"}, true},
		{"policy alone, allowed", false, []string{groupRM}, []string{"authz.allowed"}, false},
		{"policy alone, denied", false, nil, []string{"authz.denied"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			e := newEnv(t)
			p, err := rbac.ParsePolicy(fmt.Appendf(nil, guardtest.PolicyYAML, e.IdP.Issuer()), func(o *rbac.Options) {
				o.Audit, o.AuditDecisions = rec, true
			})
			if err != nil {
				t.Fatal(err)
			}
			g := e.Guard(t, func(o *middleware.Options) {
				o.Policy = p
				if tt.guardAudits {
					o.Audit = rec
				}
			})
			mux := http.NewServeMux()
			mux.Handle("GET /loans/{id}", g.Handler(whoami, middleware.Require("loan:read")))
			tok := e.Mint(map[string]any{"groups": tt.groups})
			r := httptest.NewRequest("GET", "/loans/42", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			mux.ServeHTTP(httptest.NewRecorder(), r)

			skip := func(n string) bool { return strings.HasPrefix(n, "jwks.") || n == "policy.reloaded" }
			if got := slices.DeleteFunc(rec.Names(), skip); !slices.Equal(got, tt.want) {
				t.Fatalf("events %v, want %v", got, tt.want)
			}
			for _, ev := range rec.All() {
				name, _ := ev["event"].(string)
				if s := fmt.Sprint(ev); strings.Contains(s, tok) || strings.Contains(s, "jti-1") || strings.Contains(s, "eyJ") {
					t.Errorf("%s carries the token or its jti", name)
				}
				if !strings.HasPrefix(name, "authz.") {
					continue
				}
				if fromGuard := ev["route"] == "GET /loans/{id}" && ev["permission"] == "loan:read"; fromGuard != tt.route {
					t.Errorf("%s from the guard %v, want %v: %v", name, fromGuard, tt.route, ev)
				}
			}
		})
	}
}
