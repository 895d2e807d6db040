package localidp

import (
	"os"
	"strings"
	"testing"

	"github.com/idbridge/idbridge/integration/idp"
)

// TestProvider checks the scenario a local run relies on: users sign in
// with bank.yaml's groups, tokens are printed only on request, and the
// stand-ins start.
func TestProvider(t *testing.T) {
	p, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	ctx := t.Context()

	for _, u := range Users {
		if _, err := p.UserToken(ctx, u, idp.ResourceLending+"/Loans.Read"); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	if _, err := p.UserToken(ctx, "mallory"); err == nil {
		t.Error("an unknown user got a token")
	}

	var quiet, loud Buffer
	h := Hint{App: "app", URL: "http://127.0.0.1:1", Scopes: []string{idp.ResourceLending + "/Loans.Read"}, Try: []string{"curl $AMIT"}}
	if err := p.Announce(ctx, &quiet, h); err != nil {
		t.Fatal(err)
	}
	h.PrintTokens = true
	if err := p.Announce(ctx, &loud, h); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(quiet.String(), "export AMIT") || !strings.Contains(quiet.String(), "-print-token") {
		t.Errorf("without PrintTokens:\n%s", quiet.String())
	}
	if n := strings.Count(loud.String(), "\nexport "); n != len(Users) {
		t.Errorf("with PrintTokens, %d export lines, want %d", n, len(Users))
	}

	path, err := p.WriteJWKS(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if raw, err := os.ReadFile(path); err != nil || !strings.Contains(string(raw), p.SigningKeyID()) {
		t.Errorf("JWKS file lacks the signing key: %v", err)
	}
	sts, err := p.StartSTS(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sts.Close()
	api, err := p.StartAPI(idp.CBSAppID)
	if err != nil {
		t.Fatal(err)
	}
	if err := api.Close(); err != nil {
		t.Error(err)
	}
}
