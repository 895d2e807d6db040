package main

import (
	"strings"
	"testing"

	"github.com/idbridge/idbridge/integration/testenv"
)

// TestLeaverRevoked checks step 8: both replicas refuse the token Leo
// still holds once governance's SSF event arrived, his open gRPC stream
// ends, he gets no new AWS credentials, and the audit trail names each
// step.
func TestLeaverRevoked(t *testing.T) {
	code, out, errOut := runDemo(t)
	if code != 0 {
		t.Fatalf("exit status %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	step, _, _ := strings.Cut(out[strings.Index(out, "\n8. "):], "Audit trail:")
	for _, want := range []string{
		"GET lending-api-2 /loans/L-1001 → 200 roles LoanViewer, KYC_ReadOnly",
		"pushes RISC account-disabled (a signed SET) to lending-api-1 → 202 Accepted",
		"lending-api-2 has the revocation",
		`GET lending-api-1 /loans/L-1001 → 401 Bearer realm="lending-api-1", error="invalid_token", error_description="revoked"`,
		`GET lending-api-2 /loans/L-1001 → 401 Bearer realm="lending-api-2", error="invalid_token", error_description="revoked"`,
		"lending-api-2 log: 401 GET /loans/L-1001: revocation: token revoked (subject)",
		"Leo opens the analytics stream WatchLoans (gRPC, replica 2's list) → first update for L-1001",
		"Leo's AWS access: his ID token → arn:aws:sts::111122223333:assumed-role/Loan_ReadOnly/",
		"his open analytics stream has ended: invalid_token: revoked",
		"no new AWS credentials for Leo: his token source refuses before STS is called (1 STS calls in all)",
		"Amit, who did not leave, is unaffected",
	} {
		if !strings.Contains(squash(step), squash(want)) {
			t.Errorf("step 8 lacks %q:\n%s", want, step)
		}
	}
	audit := []string{
		`"event":"revocation.added","outcome":"success","tid":"` + bankTenantID,
		`"service":"lending-api-1","event":"token.rejected","outcome":"failure","reason":"revoked"`,
		`"service":"lending-api-2","event":"token.rejected","outcome":"failure","reason":"revoked"`,
		`"revocation":"subject","stream":"ended"`,
	}
	if strings.Contains(step, "redis-server is not installed") {
		if testenv.Required() {
			t.Errorf("step 8 ran without Redis, but %s=1: install redis-server", testenv.RequireEnv)
		}
		audit = audit[:1] // one list, audited as one service
	}
	for _, want := range audit {
		if !strings.Contains(out, want) {
			t.Errorf("audit trail lacks %s", want)
		}
	}
}
