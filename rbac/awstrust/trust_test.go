package awstrust_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/rbac"
	"github.com/idbridge/idbridge/rbac/awstrust"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const (
	// The client ID of the app registration whose tokens federation sends
	// to STS (a v2 access token's aud).
	awsClient = "6e3f2a1b-7c4d-4e5f-9a8b-0c1d2e3f4a5b"
	readOnly  = "arn:aws:iam::111122223333:role/Loan_ReadOnly"
	provider  = "arn:aws:iam::111122223333:oidc-provider/login.microsoftonline.com/9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c/v2.0"
)

func bankTrusts(t *testing.T, optFns ...func(*awstrust.Options)) []awstrust.Trust {
	t.Helper()
	p, err := rbac.NewPolicy("../../examples/policies/bank.yaml")
	if err != nil {
		t.Fatal(err)
	}
	o := awstrust.Options{Audiences: map[string][]string{"entra": {awsClient}}}
	for _, fn := range optFns {
		fn(&o)
	}
	ts, err := awstrust.Generate(p.Inventory(), o)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func TestGenerateBankGolden(t *testing.T) {
	ts := bankTrusts(t)
	if len(ts) != 2 || ts[0].RoleARN != readOnly {
		t.Fatalf("%+v", ts)
	}
	got, _ := json.MarshalIndent(ts, "", "  ")
	got = append(got, '\n')
	if *update {
		os.WriteFile("testdata/bank.trust.json", got, 0o644)
	}
	want, _ := os.ReadFile("testdata/bank.trust.json")
	if !bytes.Equal(got, want) {
		t.Errorf("differs from testdata/bank.trust.json (go test -update):\n%s", got)
	}
	// The generated policy passes its own check.
	for _, tr := range ts {
		doc, _ := json.Marshal(tr.Document)
		if ds, err := awstrust.Check(tr, doc); err != nil || len(ds) != 0 {
			t.Errorf("%s: self check: %v %v", tr.RoleARN, ds, err)
		}
	}
}

func TestGenerateOptions(t *testing.T) {
	sam := "arn:aws:iam::111122223333:saml-provider/EntraID"
	ts := bankTrusts(t, func(o *awstrust.Options) {
		o.Subjects = map[string][]string{readOnly: {"amit-sub"}}
		o.SAMLProviders = map[string]string{"*": sam}
	})
	st := ts[0].Document.Statement
	if len(st) != 2 || st[1].Principal.Federated != sam || st[1].Condition["StringEquals"]["SAML:aud"][0] != awstrust.SAMLAudience {
		t.Fatalf("%+v", st)
	}
	if got := st[0].Condition["StringEquals"]["login.microsoftonline.com/9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c/v2.0:sub"]; len(got) != 1 || got[0] != "amit-sub" {
		t.Fatalf("sub %v", got)
	}
	for _, n := range ts[0].NotEnforced {
		if strings.HasPrefix(n, "sub:") {
			t.Errorf("sub pinned but noted: %q", n)
		}
	}

	p, _ := rbac.NewPolicy("../../examples/policies/bank.yaml")
	for name, o := range map[string]awstrust.Options{
		"no audience":       {},
		"wildcard audience": {Audiences: map[string][]string{"entra": {"*"}}},
		"provider of another issuer": {Audiences: map[string][]string{"entra": {awsClient}},
			ProviderARNs: map[string]string{"entra": "arn:aws:iam::111122223333:oidc-provider/accounts.google.com"}},
		"malformed SAML provider": {Audiences: map[string][]string{"entra": {awsClient}}, SAMLProviders: map[string]string{"*": "EntraID"}},
	} {
		if _, err := awstrust.Generate(p.Inventory(), o); !errors.Is(err, idbridge.ErrInvalidOptions) {
			t.Errorf("%s: %v", name, err)
		}
	}
	ldapAWS := `version: 1
issuers: [{name: ad, issuer: "ldap://corp.bank.example", group_ids: dn}]
groups: [{id: "cn=x,dc=bank", name: X, issuer: ad}]
roles: [{name: R, permissions: [r]}]
mappings: [{id: m, when: {group: X}, grant: {aws: [{role_arn: "arn:aws:iam::111122223333:role/R"}]}}]
`
	pl, err := rbac.ParsePolicy([]byte(ldapAWS))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := awstrust.Generate(pl.Inventory(), awstrust.Options{Audiences: map[string][]string{"ad": {"x"}}}); !errors.Is(err, awstrust.ErrUnsupported) {
		t.Errorf("directory issuer: %v", err)
	}
}
