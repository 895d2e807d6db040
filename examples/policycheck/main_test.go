package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const bank = "../policies/bank.yaml"

const amit = `{"iss":"https://login.microsoftonline.com/9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c/v2.0",
 "preferred_username":"amit.r@bank.example","amr":["pwd"],"scp":"Loans.ReadWrite",
 "groups":["4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13"]}`

func write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRun(t *testing.T) {
	policy, err := os.ReadFile(bank)
	if err != nil {
		t.Fatal(err)
	}
	broken := write(t, "broken.yaml", strings.Replace(string(policy), "roles: [LoanViewer, KYC_ReadOnly]", "roles: [LoanViewr, KYC_ReadOnly]", 1))
	failing := write(t, "failing.yaml", strings.Replace(string(policy), "reason: revoked\n    when:", "reason: forbidden\n    when:", 1))
	claims := write(t, "amit.json", amit)
	jwt := write(t, "amit.jwt", "eyJhbGciOiJSUzI1NiJ9."+base64.RawURLEncoding.EncodeToString([]byte(amit))+".c2ln")
	tests := []struct {
		name  string
		args  []string
		stdin string
		code  int
		out   []string
	}{
		{"no command", nil, "", 2, nil},
		{"unknown command", []string{"lint"}, "", 2, nil},
		{"no policy", []string{"test"}, "", 2, nil},
		{"bank tests pass", []string{"test", "-policy", bank}, "", 0, []string{"13 passed, 0 failed", "ok   line 195  Leaver keeps a stale group but is revoked"}},
		{"verbose explains", []string{"test", "-policy", bank, "-v"}, "", 0, []string{"| DENY revoked"}},
		{"broken policy", []string{"test", "-policy", broken}, "", 2, []string{"broken.yaml:57:15:", `undeclared role "LoanViewr"`}},
		{"failing test", []string{"test", "-policy", failing}, "", 1, []string{"FAIL line 195", "reason forbidden, want revoked", "12 passed, 1 failed"}},
		{"decide allowed", []string{"decide", "-policy", bank, "-claims", claims, "-can", "loan:read"}, "", 0, []string{"ALLOW", "mapping rm-view (line 52)", "can loan:read: yes"}},
		{"decide step-up", []string{"decide", "-policy", bank, "-claims", claims, "-can", "loan:create"}, "", 1, []string{"can loan:create: no (step_up_required)"}},
		{"decide from stdin", []string{"decide", "-policy", bank, "-claims", "-", "-can", "loan:approve"}, amit, 1, []string{"can loan:approve: no (insufficient_role)"}},
		{"decide from a JWT", []string{"decide", "-policy", bank, "-claims", jwt}, "", 0, []string{"ALLOW"}},
		{"decide denied", []string{"decide", "-policy", bank, "-claims", "-"}, `{"iss":"https://evil.example"}`, 1, []string{"DENY issuer"}},
		{"decide garbage", []string{"decide", "-policy", bank, "-claims", "-"}, `not claims`, 2, nil},
		{"decide without claims", []string{"decide", "-policy", bank}, "", 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, strings.NewReader(tt.stdin), &stdout, &stderr)
			all := stdout.String() + stderr.String()
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%s", code, tt.code, all)
			}
			for _, want := range tt.out {
				if !strings.Contains(all, want) {
					t.Errorf("output lacks %q:\n%s", want, all)
				}
			}
		})
	}
}

func TestDecideJSON(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run([]string{"decide", "-policy", bank, "-claims", "-", "-json", "-can", "loan:read"}, strings.NewReader(amit), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var out struct {
		Allowed  bool `json:"allowed"`
		AWSRoles []struct {
			RoleARN         string `json:"role_arn"`
			DurationSeconds int    `json:"duration_seconds"`
			SourceIdentity  string `json:"source_identity"`
		} `json:"aws_roles"`
		Checks []struct {
			Permission string `json:"permission"`
			Allowed    bool   `json:"allowed"`
		} `json:"checks"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	if !out.Allowed || len(out.AWSRoles) != 1 || out.AWSRoles[0].DurationSeconds != 3600 ||
		out.AWSRoles[0].SourceIdentity != "amit.r@bank.example" || len(out.Checks) != 1 || !out.Checks[0].Allowed {
		t.Errorf("%s", stdout.String())
	}
}
