package federation_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/idbridge/idbridge/federation"
	"github.com/idbridge/idbridge/rbac"
)

// TestRoleForDecisionAudited: RoleFor on a decision of a policy with
// rbac.Options.AuditDecisions leaves exactly one authz event, Decide's,
// for granted and refused roles alike, and no token ID in the clear.
func TestRoleForDecisionAudited(t *testing.T) {
	tests := []struct {
		name   string
		groups []string
		arn    string
		event  string
	}{
		{"granted", []string{gRM}, "", "authz.allowed"},
		{"role not granted: the decision allowed", []string{gRM}, otherRole, "authz.allowed"},
		{"leaver", []string{gRM, gLeaver}, "", "authz.denied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			p, err := rbac.ParsePolicy([]byte(bankPolicy), func(o *rbac.Options) {
				o.Audit, o.AuditDecisions = slog.NewJSONHandler(&buf, nil), true
			})
			if err != nil {
				t.Fatal(err)
			}
			buf.Reset() // policy.reloaded
			c := claimsFor(tc.groups...)
			c.ID = "jti-secret-value"
			federation.RoleFor(p.Decide(c), c, tc.arn)
			out := strings.TrimSpace(buf.String())
			if strings.Count(out, "\n") != 0 || !strings.Contains(out, `"event":"`+tc.event+`"`) {
				t.Fatalf("want exactly one %s event, got:\n%s", tc.event, out)
			}
			if strings.Contains(out, "jti-secret-value") || strings.Contains(out, "eyJ") {
				t.Errorf("the event carries the raw jti or a token: %s", out)
			}
		})
	}
}
