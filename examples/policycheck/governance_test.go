package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

const bankNext = "../policies/bank-next.yaml"

func TestGovernanceCommands(t *testing.T) {
	var cat bytes.Buffer
	if code := run([]string{"export", "-policy", bank}, nil, &cat, os.Stderr); code != 0 {
		t.Fatalf("export: %d", code)
	}
	exported := write(t, "bank.catalog.json", cat.String())
	future := write(t, "future.catalog.json", strings.Replace(cat.String(), `"schema_version": 1`, `"schema_version": 2`, 1))
	truncated := write(t, "truncated.catalog.json", cat.String()[:cat.Len()/2])
	policy, _ := os.ReadFile(bank)
	broken := write(t, "broken.yaml", strings.Replace(string(policy), "roles: [LoanViewer, KYC_ReadOnly]", "roles: [LoanViewr, KYC_ReadOnly]", 1))
	tests := []struct {
		name  string
		args  []string
		stdin string
		code  int
		out   []string
	}{
		{"export json", []string{"export", "-policy", bank}, "", 0, []string{`"schema_version": 1`, `"in_one_decision": false`}},
		{"export unknown format", []string{"export", "-policy", bank, "-format", "xml"}, "", 2, []string{`unknown -format "xml"`}},
		{"export broken policy", []string{"export", "-policy", broken}, "", 2, []string{`undeclared role "LoanViewr"`}},
		{"diff identical", []string{"diff", bank, exported}, "", 0, []string{"no change in any group's entitlements"}},
		{"diff changed", []string{"diff", exported, bankNext}, "", 1, []string{"+ role KYC_ReadOnly (when mfa)"}},
		{"diff json", []string{"diff", "-json", bank, bankNext}, "", 1, []string{`"status": "changed"`}},
		{"diff across schema versions", []string{"diff", exported, future}, "", 2, []string{"schema version mismatch", "schema_version 2"}},
		{"diff truncated catalogue", []string{"diff", bank, truncated}, "", 2, []string{"malformed catalogue"}},
		{"diff broken policy", []string{"diff", bank, broken}, "", 2, []string{`undeclared role "LoanViewr"`}},
		{"diff one argument", []string{"diff", bank}, "", 2, []string{"usage: policycheck diff"}},
		{"whatif mover", []string{"whatif", "-policy", bank, "-claims", "../policies/amit.json", "-add", "Credit_Officers", "-json"}, "", 1, []string{`"new_conflicts": [`}},
		{"whatif unknown group", []string{"whatif", "-policy", bank, "-claims", "-", "-add", "Nobody"}, amit, 2, []string{`unknown group "Nobody"`}},
		{"whatif without a change", []string{"whatif", "-policy", bank, "-claims", "-"}, amit, 2, []string{"at least one -add or -remove"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, strings.NewReader(tt.stdin), &stdout, &stderr)
			all := stdout.String() + stderr.String()
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%s", code, tt.code, all)
			}
			if code == 2 && stdout.Len() > 0 {
				t.Errorf("a failed command printed a partial report:\n%s", stdout.String())
			}
			for _, want := range tt.out {
				if !strings.Contains(all, want) {
					t.Errorf("output lacks %q:\n%s", want, all)
				}
			}
		})
	}
}

func TestWhatIfJSON(t *testing.T) {
	var stdout bytes.Buffer
	run([]string{"whatif", "-policy", bank, "-claims", "../policies/amit.json", "-add", "Credit_Officers", "-remove", "Lending_RM", "-json"}, strings.NewReader(amit), &stdout, os.Stderr)
	var m struct {
		After struct {
			Allowed bool     `json:"allowed"`
			Roles   []string `json:"roles"`
		} `json:"after"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &m); err != nil || !m.After.Allowed || len(m.After.Roles) != 1 || m.After.Roles[0] != "LoanApprover" {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
}

func TestUsageCommand(t *testing.T) {
	sample, err := os.ReadFile("../policies/audit-sample.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	truncated := write(t, "truncated.jsonl", string(sample[:len(sample)-40]))
	for _, tt := range []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"json", []string{"usage", "-json", "../policies/audit-sample.jsonl"}, 0, `"last_route": "POST /loans/{id}/approve"`},
		{"truncated log", []string{"usage", truncated}, 2, "line 7"},
		{"no file", []string{"usage", "nope.jsonl"}, 2, "no such file"},
		{"no argument", []string{"usage"}, 2, "usage: policycheck usage"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, strings.NewReader(""), &stdout, &stderr)
			if code != tt.code || !strings.Contains(stdout.String()+stderr.String(), tt.out) || (code == 2 && stdout.Len() > 0) {
				t.Fatalf("exit %d\n%s%s", code, stdout.String(), stderr.String())
			}
		})
	}
}
