package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/idbridge/idbridge/jwks/jwkstest"
)

func TestRun(t *testing.T) {
	idp := jwkstest.Start(t)
	valid := idp.Mint(map[string]any{"aud": "api://orders", "sub": "amit", "roles": []string{"LoanViewer"}})
	expired := idp.Mint(map[string]any{"aud": "api://orders", "exp": time.Now().Add(-time.Hour).Unix()})
	other := idp.Mint(map[string]any{"aud": "api://payments"})

	tests := []struct {
		name    string
		args    []string
		stdin   string
		status  int
		reasons []string // "" for valid
	}{
		{"all valid", []string{"-issuer", idp.Issuer(), "-audience", "api://orders"}, valid + "\n\nBearer " + valid + "\r\n  bearer  " + valid, 0, []string{"", "", ""}},
		{"huge line", []string{"-issuer", idp.Issuer(), "-audience", "api://orders"}, valid + "\n" + strings.Repeat("A", 3<<20) + "\n" + valid + "\n", 1, []string{"", "too_large", ""}},
		{"mixed", []string{"-issuer", idp.Issuer(), "-audience", "api://orders", "-jwks", idp.JWKSURL(), "-alg", "RS256,ES256"},
			valid + "\n" + expired + "\n" + other + "\nnot-a-token\n", 1, []string{"", "expired", "audience", "malformed"}},
		{"typ", []string{"-issuer", idp.Issuer(), "-audience", "api://orders", "-typ", "at+jwt"}, valid + "\n", 1, []string{"type"}},
		{"tenant", []string{"-issuer", idp.Issuer(), "-audience", "api://orders", "-tenant", "t1"}, valid + "\n", 1, []string{"missing_claim"}},
		{"wrong alg", []string{"-issuer", idp.Issuer(), "-audience", "api://orders", "-alg", "ES256"}, valid + "\n", 1, []string{"algorithm"}},
		{"no flags", nil, "", 2, nil},
		{"help", []string{"-h"}, "", 0, nil},
		{"no audience", []string{"-issuer", idp.Issuer()}, "", 2, nil},
		{"unknown flag", []string{"-issuer", idp.Issuer(), "-audience", "a", "-x"}, "", 2, nil},
		{"refused alg", []string{"-issuer", idp.Issuer(), "-audience", "a", "-alg", "HS256"}, "", 2, nil},
		{"bad issuer", []string{"-issuer", "not a url", "-audience", "a"}, "", 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			status := run(context.Background(), tt.args, strings.NewReader(tt.stdin), &out, &errOut)
			if status != tt.status {
				t.Fatalf("status %d, want %d; stderr %s", status, tt.status, errOut.String())
			}
			if strings.Contains(errOut.String(), "help requested") {
				t.Fatalf("stderr reports -h as an error: %s", errOut.String())
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if len(tt.reasons) == 0 {
				if out.Len() != 0 {
					t.Fatalf("output %q", out.String())
				}
				return
			}
			if len(lines) != len(tt.reasons) {
				t.Fatalf("%d lines, want %d: %s", len(lines), len(tt.reasons), out.String())
			}
			for i, line := range lines {
				var r struct {
					Valid  bool           `json:"valid"`
					Reason string         `json:"reason"`
					Detail string         `json:"detail"`
					Claims map[string]any `json:"claims"`
				}
				if err := json.Unmarshal([]byte(line), &r); err != nil {
					t.Fatalf("line %q: %v", line, err)
				}
				if r.Reason != tt.reasons[i] || r.Valid != (tt.reasons[i] == "") {
					t.Errorf("line %d = %s, want reason %q", i, line, tt.reasons[i])
				}
				if r.Valid && (r.Claims["sub"] != "amit" || r.Detail != "") {
					t.Errorf("valid line %s", line)
				}
				if !r.Valid && (r.Claims != nil || r.Detail == "") {
					t.Errorf("invalid line %s", line)
				}
			}
			for _, tok := range []string{valid, expired, other} {
				if strings.Contains(out.String(), strings.Split(tok, ".")[2]) {
					t.Fatal("output contains a signature")
				}
			}
		})
	}
}

// TestRunEntra: -entra and -client-id check tokens as Entra issues them for
// an API: v2.0 with the client ID as aud, v1.0 (-v1) with the App ID URI.
func TestRunEntra(t *testing.T) {
	idp := jwkstest.Start(t, func(o *jwkstest.Options) { o.Entra = true })
	const tid, api = jwkstest.TenantID, jwkstest.APIClientID
	v2 := idp.EntraAccessToken(jwkstest.EntraToken{Scopes: []string{"Loans.Read"}})
	v1 := idp.EntraAccessToken(jwkstest.EntraToken{Version: "1.0", Scopes: []string{"Loans.Read"}})
	v1custom := idp.EntraAccessToken(jwkstest.EntraToken{Version: "1.0", AppIDURI: "api://lending"})
	otherAPI := idp.EntraAccessToken(jwkstest.EntraToken{API: "99999999-9999-4999-8999-999999999999"})
	entra := []string{"-entra", tid, "-client-id", api, "-authority", idp.URL}
	tests := []struct {
		name    string
		args    []string
		stdin   string
		status  int
		reasons []string // "" for valid
		stderr  string
	}{
		{"v2", entra, v2 + "\n" + v1 + "\n" + otherAPI + "\n", 1, []string{"", "issuer", "audience"}, ""},
		{"v1", append(entra, "-v1"), v1 + "\n" + v2 + "\n" + v1custom + "\n", 1, []string{"", "issuer", "audience"}, ""},
		{"v1 App ID URI", append(entra, "-v1", "-app-id-uri", "api://lending"), v1custom + "\n" + v1 + "\n", 1, []string{"", "audience"}, ""},
		{"no client ID", []string{"-entra", tid}, "", 2, nil, "-entra needs -client-id"},
		{"client ID without -entra", []string{"-client-id", api, "-issuer", idp.Issuer(), "-audience", api}, "", 2, nil, "go with -entra"},
		{"domain", []string{"-entra", "contoso.onmicrosoft.com", "-client-id", api}, "", 2, nil, `is a domain name`},
		{"placeholder", []string{"-entra", "<tenant-id>", "-client-id", api}, "", 2, nil, `is a placeholder`},
		{"App ID URI as client ID", []string{"-entra", tid, "-client-id", "api://lending"}, "", 2, nil, `is an App ID URI`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			status := run(context.Background(), tt.args, strings.NewReader(tt.stdin), &out, &errOut)
			if status != tt.status || !strings.Contains(errOut.String(), tt.stderr) {
				t.Fatalf("status %d, want %d; stderr %s", status, tt.status, errOut.String())
			}
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				var r struct {
					Valid  bool   `json:"valid"`
					Reason string `json:"reason"`
				}
				if line != "" && json.Unmarshal([]byte(line), &r) == nil {
					got = append(got, r.Reason)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.reasons, ",") {
				t.Fatalf("reasons %q, want %q: %s", got, tt.reasons, out.String())
			}
		})
	}
}
