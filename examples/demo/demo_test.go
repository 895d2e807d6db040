package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/idbridge/idbridge/integration/idp"
	"github.com/idbridge/idbridge/integration/ldaptest"
	"github.com/idbridge/idbridge/integration/testenv"
)

// runDemo runs the command in-process with args and returns its exit status
// and output.
func runDemo(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// secrets are values that must never appear in the output. Tokens are
// checked by their shape: every JWT starts with "eyJ" (base64 of `{"`).
var secrets = []string{
	"eyJ",
	idp.AmitPassword, idp.LeoPassword, idp.LendingWebSecret, idp.AnalyticsSvcSecret, idp.LendingAPISecret,
	ldaptest.PasswordAmit, ldaptest.PasswordLeo, ldaptest.ReaderPassword,
}

// squash collapses runs of spaces, so that checks do not depend on column
// widths.
func squash(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	return strings.Join(lines, "\n")
}

func checkNoSecrets(t *testing.T, where, s string) {
	t.Helper()
	for _, secret := range secrets {
		if strings.Contains(s, secret) {
			t.Errorf("%s contains a secret or token (%.3s…)", where, secret)
		}
	}
}

// TestStory runs the whole story, as README's first command does, and
// checks what each step must show.
func TestStory(t *testing.T) {
	code, out, errOut := runDemo(t)
	if code != 0 {
		t.Fatalf("exit status %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	checkNoSecrets(t, "stdout", out)
	checkNoSecrets(t, "stderr", errOut)

	for _, want := range []struct{ step, text string }{
		{"policy self-test", "inline tests 13/13 passed"},
		{"1 ID token claims", "name Amit R · oid " + idp.AmitObjectID + " · tid " + bankTenantID},
		{"1 groups and MFA", "groups Lending_RM · amr pwd, mfa"},
		{"2 roles granted", "GET  lending-api /loans/L-1001                  → 200  roles LoanViewer, KYC_ReadOnly"},
		{"2 explanation", "mapping rm-view (line"},
		{"2 write denied", `POST lending-api /loans                         → 403  Bearer realm="lending-api", error="insufficient_scope", error_description="insufficient_scope"`},
		{"2 denial explained", `rbac: insufficient scope "rm-originate": permission "loan:create" needs more scopes`},
		{"3 same token", "GET  analytics-api /reports/loan-book          → 200  roles LoanViewer, KYC_ReadOnly"},
		{"3 no provider calls", "3 more calls: token endpoint requests 0"},
		{"4 own identity", "analytics-svc token: idtyp app · azp analytics-svc"},
		{"4 cached", "two Token calls, 1 request to the token endpoint"},
		{"4 service's S3 role", "S3 credentials arn:aws:sts::111122223333:assumed-role/analytics-s3/"},
		{"4 AWS grant", "policy: mapping rm-view grants Amit arn:aws:iam::111122223333:role/Loan_ReadOnly for 1h0m0s"},
		{"4 session tags checked", "with the grant's session tags: refused before calling STS (missing_claim)"},
		{"4 Amit's role", "Amit's ID token → arn:aws:sts::111122223333:assumed-role/Loan_ReadOnly/" + idp.AmitObjectID},
		{"4 SAML road", "Amit's SAML assertion → arn:aws:sts::111122223333:assumed-role/Loan_ReadOnly/amit.r@bank.example"},
		{"4 SAML one-time", "the same assertion again: refused before STS (revoked)"},
		{"6 rotation", "refresh token rotated: true · it went to the token endpoint only (1 request)"},
		{"7 mover", "POST lending-api /loans/L-1001/approve          → 200  roles LoanApprover"},
		{"7 mover loses KYC", `error_description="insufficient_role"`},
		{"7 leaver denied by policy", `rbac: denied by rule "leaver"`},
		{"7 leaver cannot refresh", "refresh fails, sign-in required (idbridge.Reason: revoked)"},
	} {
		// Columns are padded for reading; compare with single spaces.
		if !strings.Contains(squash(out), squash(want.text)) {
			t.Errorf("step %s: output lacks %q", want.step, want.text)
		}
	}

	switch {
	case strings.Contains(out, "slapd is not installed"):
		if testenv.Required() {
			t.Errorf("the on-prem step was skipped, but %s=1: install slapd", testenv.RequireEnv)
		}
	case !strings.Contains(out, "cbs decision: roles CBS_Viewer, BranchPortalUser") ||
		!strings.Contains(out, "leo.v, a leaver, binds with his correct password → refused"):
		t.Errorf("step 5: the directory's decisions are missing")
	}

	// The audit trail: every line is one JSON event, and the story's
	// decisive moments are all in it.
	_, trail, ok := strings.Cut(out, "Audit trail:")
	if !ok {
		t.Fatal("no audit trail at the end")
	}
	checkOneTrace(t, out, trail) // trace_test.go
	seen := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(trail))
	sc.Buffer(nil, 1<<20)
	sc.Scan() // the heading
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("audit line is not JSON: %v: %s", err, sc.Text())
		}
		name, _ := ev["event"].(string)
		if name == "" || ev["service"] == nil {
			t.Errorf("audit line without event or service: %s", sc.Text())
		}
		seen[name]++
	}
	for _, ev := range []string{"jwks.refreshed", "token.validated", "token.issued", "authz.allowed", "authz.denied",
		"sts.assumed", "token.refresh_failed"} {
		if seen[ev] == 0 {
			t.Errorf("audit trail lacks %s (saw %v)", ev, seen)
		}
	}
}

// TestFlags checks the other audit modes and the refusals; the on-prem step
// is left out to keep them fast.
func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		name       string
		args       []string
		code       int
		stdoutHas  string
		stdoutLack string
		stderrHas  string
	}{
		{name: "audit off", args: []string{"-audit=off", "-ldap=false"}, code: 0, stdoutHas: "7. Mover and leaver", stdoutLack: "Audit trail"},
		{name: "audit on stderr", args: []string{"-audit=stderr", "-ldap=false"}, code: 0, stdoutLack: "Audit trail", stderrHas: `"event":"authz.denied"`},
		{name: "ldap off", args: []string{"-audit=off", "-ldap=false"}, code: 0, stdoutHas: "skipped (-ldap=false)"},
		{name: "bad audit mode", args: []string{"-audit=loud"}, code: 2, stderrHas: "-audit must be end, stderr or off"},
		{name: "unknown flag", args: []string{"-issuer=https://login.example"}, code: 2, stderrHas: "flag provided but not defined"},
		{name: "stray argument", args: []string{"amit"}, code: 2},
		{name: "help", args: []string{"-h"}, code: 0, stderrHas: "Usage of demo:"},
		{name: "policy missing", args: []string{"-policy=no-such.yaml", "-audit=off"}, code: 1, stdoutHas: "pass -policy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runDemo(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, out, errOut)
			}
			checkNoSecrets(t, "stdout", out)
			checkNoSecrets(t, "stderr", errOut)
			if tc.stdoutHas != "" && !strings.Contains(out, tc.stdoutHas) {
				t.Errorf("stdout lacks %q:\n%s", tc.stdoutHas, out)
			}
			if tc.stdoutLack != "" && strings.Contains(out, tc.stdoutLack) {
				t.Errorf("stdout has %q", tc.stdoutLack)
			}
			if strings.Contains(errOut, "help requested") {
				t.Errorf("stderr reports -h as an error:\n%s", errOut)
			}
			if tc.stderrHas != "" && !strings.Contains(errOut, tc.stderrHas) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderrHas, errOut)
			}
		})
	}
}
