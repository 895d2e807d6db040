package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/idbridge/idbridge/examples/internal/localidp"
	"github.com/idbridge/idbridge/integration/idp"
)

// TestLending runs the app in local mode against the embedded provider and
// checks the allow and deny paths of every route, the on-behalf-of call,
// and the policy reload (a broken file is refused, a good one applies).
func TestLending(t *testing.T) {
	app, err := localidp.RunTest(t, run, "-addr", "127.0.0.1:0", "-tenant=", "-policy", "../policies/bank.yaml",
		"-policy-poll", "20ms", "-cbs-url=")
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	read, readWrite := idp.ResourceLending+"/Loans.Read", idp.ResourceLending+"/Loans.ReadWrite"
	tokens := map[string]string{}
	for name, user := range map[string]string{"amit": idp.UserAmit, "priya": idp.UserPriya, "leo": idp.UserLeo} {
		if tokens[name], err = app.IdP.UserToken(ctx, user, read); err != nil {
			t.Fatal(err)
		}
	}
	if tokens["amit-rw"], err = app.IdP.UserToken(ctx, idp.UserAmit, read, readWrite); err != nil {
		t.Fatal(err)
	}
	// A token of the same tenant for another API: the audience check refuses it.
	if tokens["amit-cbs"], err = app.IdP.UserToken(ctx, idp.UserAmit, idp.ResourceCBS+"/Accounts.Read"); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, method, path, token string
		want                      int
		challenge                 string // in WWW-Authenticate
	}{
		{"RM reads a loan", "GET", "/loans/L-1001", "amit", 200, ""},
		{"RM reads KYC", "GET", "/customers/C-2231/kyc", "amit", 200, ""},
		{"RM reads the account on behalf of", "GET", "/loans/L-1001/account", "amit", 200, ""},
		{"RM without Loans.ReadWrite cannot originate", "POST", "/loans", "amit", 403, `error_description="insufficient_scope"`},
		{"RM with MFA and Loans.ReadWrite originates", "POST", "/loans", "amit-rw", 201, ""},
		{"credit officer without MFA is asked to step up", "GET", "/loans/L-1001", "priya", 401, `error_description="step_up_required"`},
		{"leaver is revoked", "GET", "/loans/L-1001", "leo", 403, `error_description="revoked"`},
		{"token for another API", "GET", "/loans/L-1001", "amit-cbs", 401, `error_description="audience"`},
		{"forged token", "GET", "/loans/L-1001", "forged", 401, `error="invalid_token"`},
		{"no token", "GET", "/loans/L-1001", "", 401, `Bearer realm="lending"`},
	}
	tokens["forged"] = tokens["amit"][:len(tokens["amit"])-4] + "AAAA"
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, challenge, body := call(t, tc.method, app.URL+tc.path, tokens[tc.token])
			if status != tc.want || !strings.Contains(challenge, tc.challenge) {
				t.Fatalf("status %d, WWW-Authenticate %q; want %d with %q\n%s", status, challenge, tc.want, tc.challenge, body)
			}
			if tc.path == "/loans/L-1001/account" {
				var got struct {
					CBS struct {
						OID string   `json:"oid"`
						AZP string   `json:"azp"`
						Aud []string `json:"aud"`
					} `json:"core_banking"`
				}
				if err := json.Unmarshal(body, &got); err != nil {
					t.Fatal(err)
				}
				// Core banking saw Amit, through the lending API, with a token for itself.
				if got.CBS.OID != idp.AmitObjectID || got.CBS.AZP != idp.ClientLendingAPI || len(got.CBS.Aud) != 1 || got.CBS.Aud[0] != idp.CBSAppID {
					t.Errorf("core banking saw %+v", got.CBS)
				}
			}
		})
	}

	t.Run("policy reload", func(t *testing.T) {
		path := loggedPolicy(t, app)
		kyc := func() int { s, _, _ := call(t, "GET", app.URL+"/customers/C-2231/kyc", tokens["amit"]); return s }
		good, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		// A broken file is refused and the current policy stays.
		if err := os.WriteFile(path, append(good, "roles: [\n"...), 0o600); err != nil {
			t.Fatal(err)
		}
		if !localidp.Eventually(5*time.Second, func() bool { return strings.Contains(app.Stderr.String(), "policy not reloaded") }) {
			t.Fatal("the broken policy file was not noticed")
		}
		if s := kyc(); s != 200 {
			t.Fatalf("after a broken policy file: status %d, want 200 (old policy kept)", s)
		}
		// Governance takes KYC_ReadOnly from relationship managers: the
		// next request is denied.
		changed := strings.Replace(string(good), "roles: [LoanViewer, KYC_ReadOnly]", "roles: [LoanViewer]", 1)
		if changed == string(good) {
			t.Fatal("bank.yaml no longer grants Lending_RM KYC_ReadOnly as this test expects")
		}
		if err := os.WriteFile(path, []byte(changed), 0o600); err != nil {
			t.Fatal(err)
		}
		if !localidp.Eventually(5*time.Second, func() bool { return kyc() == 403 }) {
			t.Fatalf("the changed policy was not applied\n%s", app.Stderr.String())
		}
	})

	app.CheckNoSecrets(t, tokens["amit"], tokens["amit-rw"], tokens["priya"], tokens["leo"], idp.LendingAPISecret)
	for _, ev := range []string{`"event":"authz.allowed"`, `"event":"authz.denied"`, `"reason":"revoked"`, `"event":"token.issued"`, `"event":"policy.reloaded"`} {
		if !strings.Contains(app.Stderr.String(), ev) {
			t.Errorf("no audit event with %s", ev)
		}
	}
}

// call sends one request with a bearer token ("" for none).
func call(t *testing.T, method, url, token string) (int, string, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body
}

// loggedPolicy finds the local copy of the policy in the app's "listening"
// log line.
func loggedPolicy(t *testing.T, app *localidp.App) string {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(app.Stderr.String()))
	for sc.Scan() {
		var line struct{ Msg, Policy string }
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
			return line.Policy
		}
	}
	t.Fatal("no listening line in the log")
	return ""
}

// TestLendingEntraConfig: a production tenant or client ID that can never
// match a token stops the app at start with what was expected.
func TestLendingEntraConfig(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-tenant", "contoso.onmicrosoft.com", "-client-id", idp.LendingAppID}, `Entra tenant "contoso.onmicrosoft.com" is a domain name`},
		{[]string{"-tenant", "<tenant-id>", "-client-id", idp.LendingAppID}, `is a placeholder`},
		{[]string{"-tenant", idp.ScenarioTenantID, "-client-id", "api://lending"}, `Entra client ID "api://lending" is an App ID URI`},
	} {
		args := append([]string{"-addr", "127.0.0.1:0", "-policy", "../policies/bank.yaml"}, tt.args...)
		err := run(t.Context(), args, io.Discard, io.Discard, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want %q", tt.args, err, tt.want)
		}
	}
}

// TestManagedIdentityMode: with -identity managed-identity the API starts
// against a tenant with no secret in its environment, its on-behalf-of
// credential being the managed identity (fetched on first use); an
// unknown -identity is refused at start, naming the flag.
func TestManagedIdentityMode(t *testing.T) {
	for _, k := range []string{"AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_CLIENT_ID", "AZURE_AUTHORITY_HOST"} {
		t.Setenv(k, "")
	}
	t.Setenv("IDENTITY_ENDPOINT", "http://127.0.0.1:1/msi/token") // App Service's variables; nothing is asked at start
	t.Setenv("IDENTITY_HEADER", "platform-secret")
	const tenant, client = "9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c", "6f0c1e2d-3b4a-4c5d-8e9f-0a1b2c3d4e5f"
	app, err := localidp.RunTest(t, run, "-addr", "127.0.0.1:0", "-tenant", tenant, "-client-id", client,
		"-identity", "managed-identity", "-policy", "../policies/bank.yaml", "-cbs-url", "https://cbs.bank.example")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(app.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthz %d", resp.StatusCode)
	}

	err = run(t.Context(), []string{"-identity", "secretless"}, io.Discard, io.Discard, nil)
	if want := `-identity (LENDING_IDENTITY) "secretless": want environment or managed-identity`; err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
}
