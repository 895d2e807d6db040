package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
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
		{"help", []string{"-h"}, "", 0, []string{"usage: policycheck test"}},
		{"subcommand help", []string{"decide", "-h"}, "", 0, []string{"Usage of policycheck decide:"}},
		{"unknown flag", []string{"test", "-nope"}, "", 2, []string{"flag provided but not defined: -nope"}},
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
			if code != tt.code || strings.Contains(all, "help requested") {
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

// documented collects the policycheck command lines that the docs show
// (the policy's header, this command's doc comment and README), each with
// the output the README shows after it, if any.
func documented(t *testing.T) map[string]string {
	t.Helper()
	cmds := map[string]string{}
	const prefix = "go run ./examples/policycheck "
	for _, f := range []string{"../policies/bank.yaml", "main.go", "README.md"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(data), "\n")
		for i, l := range lines {
			l = strings.TrimSpace(strings.TrimLeft(l, "#/\t "))
			if !strings.HasPrefix(l, prefix) {
				continue
			}
			cmds[l] = ""
			// README: a ```text block right after the command's block is
			// its output.
			if f == "README.md" && i+3 < len(lines) && lines[i+1] == "```" && lines[i+3] == "```text" {
				var out []string
				for _, o := range lines[i+4:] {
					if o == "```" {
						break
					}
					out = append(out, o)
				}
				cmds[l] = strings.Join(out, "\n") + "\n"
			}
		}
	}
	if len(cmds) < 3 {
		t.Fatalf("found only %d documented commands: %v", len(cmds), cmds)
	}
	return cmds
}

// Every command the docs show runs as shown (from the repository root),
// and prints what the README says it prints.
func TestDocumentedCommands(t *testing.T) {
	cmds := documented(t)
	t.Chdir("../..")
	version := regexp.MustCompile(`(policy|->) [0-9a-f]{12}`)
	for cmd, want := range cmds {
		t.Run(cmd, func(t *testing.T) {
			args := strings.Fields(strings.TrimPrefix(cmd, "go run ./examples/policycheck "))
			var stdout, stderr bytes.Buffer
			code := run(args, strings.NewReader(""), &stdout, &stderr)
			wantCode := 0
			switch {
			case slices.Contains(args, "loan:approve"):
				wantCode = 1 // Amit may not approve; the README says so
			case args[0] == "diff":
				wantCode = 1 // the versions differ
			case args[0] == "whatif" && !slices.Contains(args, "-remove"):
				wantCode = 1 // joining Credit_Officers as an RM breaks SoD
			}
			if code != wantCode {
				t.Fatalf("exit %d, want %d\n%s%s", code, wantCode, stdout.String(), stderr.String())
			}
			if want != "" {
				if got := version.ReplaceAllString(stdout.String(), "$1 <version>"); got != want {
					t.Errorf("output differs from the README:\n got:\n%s\nwant:\n%s", got, want)
				}
			}
		})
	}
}

func TestFlagOfTheOtherSubcommand(t *testing.T) {
	for _, args := range [][]string{
		{"test", "-policy", bank, "-claims", "x.json"},
		{"test", "-policy", bank, "-can", "loan:read"},
		{"test", "-policy", bank, "-json"},
		{"decide", "-policy", bank, "-claims", "-", "-v"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(args, strings.NewReader(amit), &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "belongs to policycheck") {
			t.Errorf("%v: exit %d, %s", args, code, stderr.String())
		}
	}
}
