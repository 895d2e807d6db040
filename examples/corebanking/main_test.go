package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/idbridge/idbridge/examples/internal/localidp"
	"github.com/idbridge/idbridge/integration/idp"
	"github.com/idbridge/idbridge/integration/ldaptest"
	"github.com/idbridge/idbridge/integration/testenv"
)

// TestCoreBanking runs the app in local mode: tokens from the embedded
// provider checked against a static key set file, groups from a seeded
// slapd, and directory logins. It is skipped when slapd is not installed
// (and fails then under IDBRIDGE_REQUIRE_INTEGRATION=1).
func TestCoreBanking(t *testing.T) {
	app, err := localidp.RunTest(t, run, "-addr", "127.0.0.1:0", "-issuer=", "-ldap-url=", "-policy", "policy.yaml")
	if errors.Is(err, ldaptest.ErrNotInstalled) {
		testenv.Missing(t, "OpenLDAP slapd", "apt-get install slapd ldap-utils")
	}
	if err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{}
	for _, u := range localidp.Users {
		if tokens[u], err = app.IdP.UserToken(t.Context(), u, idp.ResourceCBS+"/Accounts.Read"); err != nil {
			t.Fatal(err)
		}
	}
	if tokens["lending"], err = app.IdP.UserToken(t.Context(), idp.UserAmit, idp.ResourceLending+"/Loans.Read"); err != nil {
		t.Fatal(err)
	}

	type login struct{ user, password string }
	tests := []struct {
		name, method, path string
		token              string // a key of tokens
		basic              *login
		want               int
		body               string // in the response body
		challenge          string // in WWW-Authenticate
	}{
		{"CBS_ViewOnly reads KYC", "GET", "/customers/C-2231/kyc", idp.UserAmit, nil, 200, `"roles":["LoanViewer","KYC_ReadOnly"]`, ""},
		{"CBS_ViewOnly reads loans", "GET", "/accounts/A-1/loans", idp.UserAmit, nil, 200, idp.AmitObjectID, ""},
		{"CBS_ViewOnly cannot approve", "POST", "/loans/L-1001/approve", idp.UserAmit, nil, 403, "", `error_description="insufficient_role"`},
		{"Loan_Approver approves", "POST", "/loans/L-1001/approve", idp.UserPriya, nil, 200, `"roles":["LoanApprover"]`, ""},
		{"Loan_Approver reads no KYC", "GET", "/customers/C-2231/kyc", idp.UserPriya, nil, 403, "", `error_description="insufficient_role"`},
		{"disabled in the directory", "GET", "/accounts/A-1/loans", idp.UserLeo, nil, 403, "", `error_description="revoked"`},
		{"token for another API", "GET", "/accounts/A-1/loans", "lending", nil, 401, "", `error_description="audience"`},
		{"no credentials", "GET", "/accounts/A-1/loans", "", nil, 401, "", `Bearer realm="cbs"`},
		{"directory login reads loans", "GET", "/accounts/A-1/loans", "", &login{"amit.r@bank.example", ldaptest.PasswordAmit}, 200,
			`"caller":"uid=amit.r,ou=people,dc=bank,dc=example"`, ""},
		{"directory login approves", "POST", "/loans/L-1001/approve", "", &login{"priya.s@bank.example", ldaptest.PasswordPriya}, 200, "approved", ""},
		{"directory login without the permission", "GET", "/customers/C-2231/kyc", "", &login{"priya.s@bank.example", ldaptest.PasswordPriya}, 403, "", ""},
		{"wrong password", "GET", "/accounts/A-1/loans", "", &login{"amit.r@bank.example", "wrong"}, 401, "", `Basic realm="cbs"`},
		{"disabled account, right password", "GET", "/accounts/A-1/loans", "", &login{"leo.v@bank.example", ldaptest.PasswordLeo}, 401, "", `Basic realm="cbs"`},
		{"filter injection", "GET", "/accounts/A-1/loans", "", &login{"*", ldaptest.PasswordAmit}, 401, "", `Basic realm="cbs"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, tc.method, app.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tokens[tc.token])
			}
			if tc.basic != nil {
				req.SetBasicAuth(tc.basic.user, tc.basic.password)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			challenge := resp.Header.Get("WWW-Authenticate")
			if resp.StatusCode != tc.want || !strings.Contains(string(body), tc.body) || !strings.Contains(challenge, tc.challenge) {
				t.Fatalf("status %d, WWW-Authenticate %q, body %s; want %d, %q, %q", resp.StatusCode, challenge, body, tc.want, tc.challenge, tc.body)
			}
		})
	}
	app.CheckNoSecrets(t, tokens[idp.UserAmit], tokens[idp.UserPriya], tokens[idp.UserLeo],
		ldaptest.PasswordAmit, ldaptest.PasswordPriya, ldaptest.PasswordLeo, ldaptest.ReaderPassword)
	if log := app.Stderr.String(); !strings.Contains(log, `"event":"authz.denied"`) || !strings.Contains(log, "directory login refused") {
		t.Error("the log lacks authz.denied events or refused logins")
	}
}

// TestConfigErrors checks that a production configuration that cannot work
// is refused at start, before anything is contacted.
func TestConfigErrors(t *testing.T) {
	t.Setenv("CBS_JWKS_URL", "")
	t.Setenv("CBS_JWKS_FILE", "")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no key source (discovery is not used on premises)", []string{"-issuer", "https://idp.bank.example"}, "set one of -jwks-url (CBS_JWKS_URL) and -jwks-file (CBS_JWKS_FILE): the issuer's JWK Set URL, or a JWK Set file"},
		{"two key sources", []string{"-issuer", "https://idp.bank.example", "-jwks-url", "https://idp.bank.example/keys", "-jwks-file", "keys.json"}, "set one of"},
		{"unreadable key file", []string{"-issuer", "https://idp.bank.example", "-jwks-file", "testdata/missing.json"}, "-jwks-file (CBS_JWKS_FILE): want a JWK Set file: open testdata/missing.json: no such file or directory"},
		{"bad flag", []string{"-no-such-flag"}, "no-such-flag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := run(t.Context(), tc.args, io.Discard, io.Discard, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("run(%q) = %v, want an error with %q", tc.args, err, tc.want)
			}
		})
	}
}
