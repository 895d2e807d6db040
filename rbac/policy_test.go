package rbac

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/reason"
)

const bankPolicy = "../examples/policies/bank.yaml"

const (
	entraIss  = "https://login.microsoftonline.com/9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c/v2.0"
	lendingRM = "4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13"
	creditOff = "a83e1f52-6c4b-47d9-8e20-c5b9d4a7f261"
	leavers   = "e2d94c07-1b5a-4f68-a3c9-7f0e8b2d5a46"
)

func loadBank(t testing.TB, optFns ...func(*Options)) *Policy {
	t.Helper()
	p, err := NewPolicy(bankPolicy, optFns...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBankPolicyInlineTests(t *testing.T) {
	p := loadBank(t)
	results := p.Test(context.Background())
	if len(results) < 10 {
		t.Fatalf("only %d inline tests", len(results))
	}
	for _, r := range results {
		if !r.Passed {
			t.Errorf("line %d %q: %s\n%s", r.Line, r.Name, strings.Join(r.Failures, "; "), r.Decision.Explain())
		}
	}
}

// minimal is a small valid policy that test cases extend.
const minimal = `version: 1
issuers:
  - {name: entra, issuer: "https://issuer.example/v2.0"}
groups:
  - {id: 4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13, name: RM}
roles:
  - {name: Viewer, permissions: [loan:read]}
mappings:
  - id: m1
    when: {group: RM}
    grant: {roles: [Viewer]}
`

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		line int
		want string
	}{
		{"syntax", "version: 1\nissuers: [\n", 2, "YAML syntax"},
		{"empty", "", 0, "empty policy"},
		{"two documents", minimal + "---\nversion: 1\n", 0, "exactly one YAML document"},
		{"unknown top field", minimal + "extra: 1\n", 12, `unknown field "extra"`},
		{"unknown nested field", strings.Replace(minimal, "{name: Viewer,", "{name: Viewer, perms: [x],", 1), 7, `unknown field "perms"`},
		{"duplicate field", strings.Replace(minimal, "version: 1\n", "version: 1\nversion: 1\n", 1), 2, "duplicate field"},
		{"wrong version", strings.Replace(minimal, "version: 1", "version: 2", 1), 1, "version must be 1"},
		{"version not int", strings.Replace(minimal, "version: 1", "version: one", 1), 1, "expected an integer"},
		{"no issuers", "version: 1\nroles: [{name: A}]\n", 1, "at least one issuer"},
		{"bad issuer", strings.Replace(minimal, `"https://issuer.example/v2.0"`, `"not a url"`, 1), 3, "absolute URI"},
		{"bad group id", strings.Replace(minimal, "4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13", "Lending_RM", 1), 5, "not a valid object_id"},
		{"bad group_ids", strings.Replace(minimal, `v2.0"}`, `v2.0", group_ids: sid}`, 1), 3, "group_ids must be"},
		{"undeclared role", strings.Replace(minimal, "roles: [Viewer]", "roles: [Viewr]", 1), 11, `undeclared role "Viewr"`},
		{"undeclared group", strings.Replace(minimal, "{group: RM}", "{group: RN}", 1), 10, `undeclared group "RN"`},
		{"duplicate mapping id", minimal + "  - id: m1\n    when: {group: RM}\n    grant: {roles: [Viewer]}\n", 12, `duplicate id "m1"`},
		{"duplicate role", strings.Replace(minimal, "roles:\n", "roles:\n  - {name: Viewer}\n", 1), 8, `duplicate role "Viewer"`},
		{"missing when", strings.Replace(minimal, "    when: {group: RM}\n", "", 1), 9, "when is required"},
		{"empty when", strings.Replace(minimal, "{group: RM}", "{}", 1), 10, "empty condition"},
		{"unknown condition", strings.Replace(minimal, "{group: RM}", "{groupp: RM}", 1), 10, `unknown condition "groupp"`},
		{"mfa false", strings.Replace(minimal, "{group: RM}", "{group: RM, mfa: false}", 1), 10, "mfa only takes true"},
		{"bad tenant", strings.Replace(minimal, "{group: RM}", "{group: RM, tenant: contoso}", 1), 10, "tenant ID"},
		{"empty grant", strings.Replace(minimal, "{roles: [Viewer]}", "{}", 1), 9, "at least one of roles"},
		{"malformed arn", strings.Replace(minimal, "{roles: [Viewer]}", "{aws: [{role_arn: 'arn:aws:iam::12345:role/X'}]}", 1), 11, "malformed IAM role ARN"},
		{"arn not a role", strings.Replace(minimal, "{roles: [Viewer]}", "{aws: [{role_arn: 'arn:aws:iam::123456789012:user/X'}]}", 1), 11, "malformed IAM role ARN"},
		{"duration too long", strings.Replace(minimal, "{roles: [Viewer]}", "{aws: [{role_arn: 'arn:aws:iam::123456789012:role/X', duration: 24h}]}", 1), 11, "15m to 12h"},
		{"bad duration", strings.Replace(minimal, "{roles: [Viewer]}", "{aws: [{role_arn: 'arn:aws:iam::123456789012:role/X', duration: soon}]}", 1), 11, "invalid duration"},
		{"aws tag", strings.Replace(minimal, "{roles: [Viewer]}", "{aws: [{role_arn: 'arn:aws:iam::123456789012:role/X', session_tags: {'aws:x': y}}]}", 1), 11, "invalid session tag key"},
		{"ad group of entra", strings.Replace(minimal, "{roles: [Viewer]}", "{roles: [Viewer], ad_groups: [RM]}", 1), 11, "not directory groups"},
		{"anchor", strings.Replace(minimal, "{roles: [Viewer]}", "&g {roles: [Viewer]}", 1), 11, "anchors and aliases"},
		{"deny reason", minimal + "deny:\n  - {id: d, reason: fired, when: {group: RM}}\n", 13, `unknown reason class "fired"`},
		{"sod single role", minimal + "separation_of_duties:\n  - {id: s, roles: [Viewer]}\n", 13, "at least two roles"},
		{"sod undeclared", minimal + "separation_of_duties:\n  - {id: s, roles: [Viewer, Boss]}\n", 13, `undeclared role "Boss"`},
		{"test without expect", minimal + "tests:\n  - {name: t, claims: {iss: x}}\n", 13, "expect.allowed"},
		{"test bad denied_by", minimal + "tests:\n  - {name: t, claims: {iss: x}, expect: {allowed: false, denied_by: nope}}\n", 13, `no deny rule`},
		{"test typo permission", minimal + "tests:\n  - {name: t, claims: {iss: x}, expect: {allowed: true, can: [loan:raed]}}\n", 13, "loan:raed"},
		{"two issuers, unbound mapping", strings.Replace(strings.Replace(minimal, "issuers:\n", "issuers:\n  - {name: google, issuer: \"https://accounts.google.com\", group_ids: name}\n", 1), "name: RM}", "name: RM, issuer: entra}", 1) + "  - {id: m2, when: {scope: x}, grant: {roles: [Viewer]}}\n", 13, "say which issuer"},
		{"mixed issuers in one alternative", strings.Replace(strings.Replace(minimal, "issuers:\n", "issuers:\n  - {name: google, issuer: \"https://accounts.google.com\", group_ids: name}\n", 1), "name: RM}", "name: RM, issuer: entra}", 1) + "  - {id: m2, when: {group: RM, issuer: google}, grant: {roles: [Viewer]}}\n", 13, "a token has one issuer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePolicy([]byte(tt.yaml), func(o *Options) { o.Name = "t.yaml" })
			if err == nil {
				t.Fatalf("loaded, want error containing %q", tt.want)
			}
			if p != nil {
				t.Error("a failed load returned a policy")
			}
			if !errors.Is(err, ErrInvalidPolicy) {
				t.Errorf("error %v is not ErrInvalidPolicy", err)
			}
			if reason.Of(err) != reason.Malformed {
				t.Errorf("reason %q, want malformed", reason.Of(err))
			}
			var pe *PolicyError
			if !errors.As(err, &pe) {
				t.Fatalf("no *PolicyError in %v", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
			if tt.line != 0 && !strings.Contains(err.Error(), "t.yaml:"+itoa(tt.line)+":") {
				t.Errorf("error %q not at line %d", err, tt.line)
			}
		})
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestLoadReportsEveryProblem(t *testing.T) {
	y := strings.Replace(strings.Replace(minimal, "roles: [Viewer]", "roles: [A, B]", 1), "{group: RM}", "{group: X}", 1)
	_, err := ParsePolicy([]byte(y))
	if n := countJoined(err); n != 3 {
		t.Fatalf("%d problems reported, want 3: %v", n, err)
	}
}

func claims(groups ...string) *idbridge.Claims {
	return &idbridge.Claims{Issuer: entraIss, Subject: "s", ObjectID: "0d6f1e0b-1c0e-4d5a-9d8e-3b1f2a7c9e01", Groups: groups}
}

func TestDecide(t *testing.T) {
	p := loadBank(t)
	withMFA := func(c *idbridge.Claims) *idbridge.Claims { c.AMR = []string{"pwd", "mfa"}; return c }
	tests := []struct {
		name   string
		c      *idbridge.Claims
		ok     bool
		roles  []string
		err    error
		reason idbridge.Reason
		rule   string
	}{
		{"rm", claims(lendingRM), true, []string{"LoanViewer", "KYC_ReadOnly"}, nil, "", ""},
		{"rm with noise groups", claims("11111111-2222-3333-4444-555555555555", lendingRM, "x"), true, []string{"LoanViewer", "KYC_ReadOnly"}, nil, "", ""},
		{"upper-case GUID is the same group", claims(strings.ToUpper(lendingRM)), true, []string{"LoanViewer", "KYC_ReadOnly"}, nil, "", ""},
		{"upper-case leaver GUID still denies", withMFA(claims(lendingRM, strings.ToUpper(leavers))), false, nil, ErrDenied, reason.Revoked, "leaver"},
		{"GUID of another length is not folded", claims(strings.ToUpper(lendingRM) + "0"), false, nil, ErrNoMatch, reason.InsufficientRole, ""},
		{"credit officer without mfa", claims(creditOff), false, nil, ErrStepUp, reason.StepUpRequired, ""},
		{"credit officer", withMFA(claims(creditOff)), true, []string{"LoanApprover"}, nil, "", ""},
		{"leaver", withMFA(claims(lendingRM, leavers)), false, nil, ErrDenied, reason.Revoked, "leaver"},
		{"nil claims", nil, false, nil, ErrNoClaims, reason.MissingClaim, ""},
		{"empty claims", &idbridge.Claims{}, false, nil, ErrIssuer, reason.Issuer, ""},
		{"no groups", claims(), false, nil, ErrNoMatch, reason.InsufficientRole, ""},
		{"other issuer", &idbridge.Claims{Issuer: "https://evil.example", Groups: []string{lendingRM}}, false, nil, ErrIssuer, reason.Issuer, ""},
		{"entra group in a directory token", &idbridge.Claims{Issuer: "ldap://corp.bank.example", Groups: []string{lendingRM}}, false, nil, ErrNoMatch, reason.InsufficientRole, ""},
		{"directory DN in other spelling", &idbridge.Claims{Issuer: "ldap://corp.bank.example", Groups: []string{"CN=CBS_ViewOnly, OU=Groups, DC=bank, DC=example"}}, true, []string{"CBS_Viewer"}, nil, "", ""},
		{"garbage DN", &idbridge.Claims{Issuer: "ldap://corp.bank.example", Groups: []string{"cn=\x00,,,"}}, false, nil, ErrNoMatch, reason.InsufficientRole, ""},
	}
	sod := withMFA(claims(lendingRM, creditOff))
	sod.Scopes = []string{"Loans.ReadWrite"}
	tests = append(tests, struct {
		name   string
		c      *idbridge.Claims
		ok     bool
		roles  []string
		err    error
		reason idbridge.Reason
		rule   string
	}{"sod", sod, false, nil, ErrSoD, reason.Forbidden, "originate-vs-approve"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := p.Decide(tt.c)
			if d.OK() != tt.ok {
				t.Fatalf("OK %v, want %v (%v)", d.OK(), tt.ok, d.Err())
			}
			if tt.roles != nil && !sameSet(d.Roles(), tt.roles) {
				t.Errorf("roles %v, want %v", d.Roles(), tt.roles)
			}
			err := d.Err()
			if tt.err == nil && err != nil || tt.err != nil && !errors.Is(err, tt.err) {
				t.Errorf("err %v, want %v", err, tt.err)
			}
			if d.Reason() != tt.reason || reason.Of(err) != tt.reason {
				t.Errorf("reason %q / %q, want %q", d.Reason(), reason.Of(err), tt.reason)
			}
			if d.Rule() != tt.rule {
				t.Errorf("rule %q, want %q", d.Rule(), tt.rule)
			}
			if !tt.ok && (d.Allowed("loan:read") || d.Roles() != nil || d.AWSRoles() != nil) {
				t.Error("a denied decision grants something")
			}
			_ = d.Explain().String() // never panics, whatever the decision
		})
	}
}

func TestCheckPermission(t *testing.T) {
	p := loadBank(t)
	c := claims(lendingRM)
	c.Scopes = []string{"Loans.ReadWrite"}
	d := p.Decide(c)
	if err := d.Check("loan:read"); err != nil {
		t.Fatal(err)
	}
	if err := d.Check("loan:create"); !errors.Is(err, ErrStepUp) || reason.Of(err) != reason.StepUpRequired {
		t.Errorf("loan:create without MFA: %v, want step-up", err)
	}
	c.Scopes, c.AMR = nil, []string{"mfa"}
	d = p.Decide(c)
	if err := d.Check("loan:create"); !errors.Is(err, ErrScope) || reason.Of(err) != reason.InsufficientScope {
		t.Errorf("loan:create without scope: %v, want insufficient scope", err)
	}
	if err := d.Check("loan:approve"); !errors.Is(err, ErrPermission) || reason.Of(err) != reason.InsufficientRole {
		t.Errorf("loan:approve: %v, want permission error", err)
	}
	if err := d.Check("no:such"); !errors.Is(err, ErrPermission) {
		t.Errorf("unknown permission: %v", err)
	}
}

func TestAWSAndDirectoryGrants(t *testing.T) {
	p := loadBank(t)
	c := claims(lendingRM)
	c.PreferredUsername = "amit.r@bank.example"
	d := p.Decide(c)
	aws := d.AWSRoles()
	if len(aws) != 1 {
		t.Fatalf("aws grants %+v", aws)
	}
	a := aws[0]
	if a.RoleARN != "arn:aws:iam::111122223333:role/Loan_ReadOnly" || a.Duration.Hours() != 1 ||
		a.SessionTags["Department"] != "Lending" || a.SourceIdentity != "amit.r@bank.example" || a.Mapping != "rm-view" {
		t.Errorf("aws grant %+v", a)
	}
	g := d.DirectoryGroups()
	if len(g) != 1 || g[0].Name != "CBS_ViewOnly" || g[0].ID != "cn=cbs_viewonly,ou=groups,dc=bank,dc=example" {
		t.Errorf("directory groups %+v", g)
	}
}

func TestClaimsOfUnexpectedType(t *testing.T) {
	const y = `version: 1
issuers:
  - name: okta
    issuer: https://okta.example
    group_ids: name
    claims: {groups: memberOf, roles: app_roles, scopes: perms}
groups:
  - {id: Lending, name: Lending}
roles:
  - {name: Viewer, permissions: [loan:read]}
mappings:
  - {id: g, when: {group: Lending}, grant: {roles: [Viewer]}}
  - {id: r, when: {app_role: Reader}, grant: {roles: [Viewer]}}
  - {id: s, when: {scope: loans.read}, grant: {roles: [Viewer]}}
  - {id: c, when: {claim: {name: department, equals: lending}}, grant: {roles: [Viewer]}}
  - {id: e, when: {claim: {name: email, equals: a@b.example}}, grant: {roles: [Viewer]}}
`
	p, err := ParsePolicy([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		claims string
		ok     bool
		bad    bool
	}{
		{`{"iss":"https://okta.example","memberOf":["Lending"]}`, true, false},
		{`{"iss":"https://okta.example","memberOf":"Lending"}`, false, true},
		{`{"iss":"https://okta.example","memberOf":null}`, false, true},
		{`{"iss":"https://okta.example","memberOf":[1,2]}`, false, true},
		{`{"iss":"https://okta.example","memberOf":{"a":1}}`, false, true},
		{`{"iss":"https://okta.example","app_roles":["Reader"]}`, true, false},
		{`{"iss":"https://okta.example","app_roles":null}`, false, true},
		{`{"iss":"https://okta.example","perms":"loans.read loans.write"}`, true, false},
		{`{"iss":"https://okta.example","perms":["loans.read"]}`, true, false},
		{`{"iss":"https://okta.example","perms":7}`, false, true},
		{`{"iss":"https://okta.example","department":"lending"}`, true, false},
		{`{"iss":"https://okta.example","department":"l\u0065nding"}`, true, false},
		{`{"iss":"https://okta.example","department":["hr","lending"]}`, true, false},
		{`{"iss":"https://okta.example","department":42}`, false, true},
		{`{"iss":"https://okta.example","department":null}`, false, true},
		{`{"iss":"https://okta.example","department":true}`, false, true},
		{`{"iss":"https://okta.example","email":"a@b.example"}`, true, false},
		{`{"iss":"https://okta.example","email":["a@b.example"]}`, false, true},
		{`{"iss":"https://okta.example","roles":null}`, false, false}, // a typed claim reads null as absent, as the validator does
		{`{"iss":"https://okta.example","groups":"x"}`, false, true},
		{`{"iss":["https://okta.example"]}`, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.claims, func(t *testing.T) {
			d, err := p.DecideJSON([]byte(tt.claims))
			if err != nil {
				t.Fatal(err)
			}
			if d.OK() != tt.ok {
				t.Errorf("OK %v, want %v: %v", d.OK(), tt.ok, d.Err())
			}
			if got := errors.Is(d.Err(), ErrClaimType); got != tt.bad {
				t.Errorf("ErrClaimType %v, want %v: %v", got, tt.bad, d.Err())
			}
		})
	}
	for _, bad := range []string{``, `null`, `[]`, `"x"`, `{`} {
		if _, err := p.DecideJSON([]byte(bad)); err == nil {
			t.Errorf("DecideJSON(%q) accepted", bad)
		}
	}
}

func TestOverage(t *testing.T) {
	over := claims()
	over.ClaimNames = map[string]string{"groups": "src1"}
	over.ClaimSources = map[string]idbridge.ClaimSource{"src1": {Endpoint: "https://graph.windows.net/x/users/y/getMemberObjects"}}

	d := loadBank(t).Decide(over)
	if !errors.Is(d.Err(), ErrGroupsOverage) {
		t.Errorf("no source: %v, want ErrGroupsOverage", d.Err())
	}

	src := staticGroups{over.ObjectID: {lendingRM}}
	d = loadBank(t, func(o *Options) { o.Groups = src }).DecideContext(context.Background(), over)
	if !d.OK() || !d.HasRole("LoanViewer") {
		t.Errorf("static source: %v %v", d.Err(), d.Roles())
	}
	if e := d.Explain(); len(e.Matched) != 1 || e.Matched[0].Because[0] != "group Lending_RM" {
		t.Errorf("explanation of resolved groups: %+v", e)
	}

	boom := errors.New("graph down")
	failing := GroupSourceFunc(func(context.Context, *idbridge.Claims) ([]string, error) { return nil, boom })
	d = loadBank(t, func(o *Options) { o.Groups = failing }).Decide(over)
	if err := d.Err(); !errors.Is(err, ErrGroupSource) || !errors.Is(err, boom) || reason.Of(err) != reason.IdPUnavailable {
		t.Errorf("failing source: %v (%s)", err, reason.Of(err))
	}
}

func TestReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p.yaml")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(minimal)
	var buf bytes.Buffer
	var mu sync.Mutex
	h := slog.NewJSONHandler(&lockedWriter{w: &buf, mu: &mu}, nil)
	p, err := NewPolicy(path, func(o *Options) { o.Audit = h })
	if err != nil {
		t.Fatal(err)
	}
	c := &idbridge.Claims{Issuer: "https://issuer.example/v2.0", Groups: []string{"4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13"}}
	before := p.Decide(c)
	v1 := p.Version()

	write(strings.Replace(minimal, "roles: [Viewer]}", "roles: [Nobody]}", 1))
	err = p.Reload(context.Background())
	if !errors.Is(err, ErrInvalidPolicy) {
		t.Fatalf("bad reload: %v", err)
	}
	if p.Version() != v1 || !p.Decide(c).OK() {
		t.Fatal("a bad file replaced the policy")
	}

	write(strings.Replace(minimal, "{group: RM}", "{group: RM, mfa: true}", 1))
	if err := p.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p.Version() == v1 || p.Decide(c).OK() {
		t.Fatal("reload did not take effect")
	}
	if !before.OK() || before.PolicyVersion() != v1 {
		t.Error("a decision made before the reload changed")
	}

	mu.Lock()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	mu.Unlock()
	if len(lines) != 2 {
		t.Fatalf("audit lines: %q", lines)
	}
	var ev1, ev2 map[string]any
	_ = json.Unmarshal([]byte(lines[0]), &ev1)
	_ = json.Unmarshal([]byte(lines[1]), &ev2)
	if ev1["event"] != "policy.reloaded" || ev1["outcome"] != "failure" || ev1["reason"] != "malformed" || ev1["policy_previous"] != v1 {
		t.Errorf("failure event %v", ev1)
	}
	if ev2["event"] != "policy.reloaded" || ev2["outcome"] != "success" || ev2["policy_version"] != p.Version() {
		t.Errorf("success event %v", ev2)
	}

	if err := p.Update(context.Background(), []byte("version: 1\n")); !errors.Is(err, ErrInvalidPolicy) {
		t.Errorf("Update with a bad policy: %v", err)
	}
	if _, err := NewPolicy(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("missing file loaded")
	}
	pb, _ := ParsePolicy([]byte(minimal))
	if err := pb.Reload(context.Background()); !errors.Is(err, idbridge.ErrInvalidOptions) {
		t.Errorf("Reload without file: %v", err)
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestConcurrentDecideAndReload(t *testing.T) {
	p, err := ParsePolicy([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	c := &idbridge.Claims{Issuer: "https://issuer.example/v2.0", Groups: []string{"4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13"}}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				d := p.Decide(c)
				if !d.OK() || !d.Allowed("loan:read") {
					t.Error("decision flipped during reload")
					return
				}
			}
		}()
	}
	for i := 0; i < 50; i++ {
		y := minimal
		if i%2 == 1 {
			y = "version: 1\nbroken: ["
		}
		_ = p.Update(context.Background(), []byte(y))
	}
	wg.Wait()
}

func TestAuthorizeAudit(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	h := slog.NewJSONHandler(&lockedWriter{w: &buf, mu: &mu}, nil)
	p := loadBank(t, func(o *Options) { o.Audit = h })
	c := claims(lendingRM)
	c.ID = "jti-secret-value"
	c.TenantID = "9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c"
	c.AuthorizedParty = "client-app"
	if _, err := p.Authorize(context.Background(), c, "loan:read"); err != nil {
		t.Fatal(err)
	}
	_, err := p.Authorize(context.Background(), c, "loan:approve")
	if !errors.Is(err, ErrPermission) {
		t.Fatalf("loan:approve: %v", err)
	}
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	if strings.Contains(out, "jti-secret-value") {
		t.Error("audit carries the raw jti")
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d audit lines", len(lines))
	}
	var ok, denied map[string]any
	_ = json.Unmarshal([]byte(lines[0]), &ok)
	_ = json.Unmarshal([]byte(lines[1]), &denied)
	if ok["event"] != "authz.allowed" || ok["permission"] != "loan:read" || ok["oid"] != c.ObjectID || ok["azp"] != "client-app" || ok["token_id"] == nil {
		t.Errorf("allowed event %v", ok)
	}
	if denied["event"] != "authz.denied" || denied["reason"] != "insufficient_role" || denied["outcome"] != "failure" {
		t.Errorf("denied event %v", denied)
	}
}

func TestZeroDecision(t *testing.T) {
	var d Decision
	if d.OK() || d.Allowed("x") || d.HasRole("x") || d.Roles() != nil || d.Err() == nil || d.Reason() == "" {
		t.Error("zero Decision grants or explains nothing safely")
	}
	_ = d.Explain().String()
	_ = d.Mappings()
	_ = d.Rule()
	_ = d.PolicyVersion()
}

func TestDecideDoesNotAllocate(t *testing.T) {
	p := benchPolicy(t, 50)
	c := benchClaims(50)
	allocs := testing.AllocsPerRun(200, func() {
		d := p.Decide(c)
		if !d.Allowed("app:read") {
			t.Fatal("denied")
		}
	})
	if allocs != 0 {
		t.Errorf("Decide allocates %.1f times", allocs)
	}
}

func TestSelfTestFailuresAreReported(t *testing.T) {
	y := minimal + `tests:
  - name: wrong expectations
    claims: {iss: "https://issuer.example/v2.0", groups: [4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13]}
    expect: {allowed: false, roles: [], cannot: [loan:read], reason: revoked}
`
	p, err := ParsePolicy([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	r := p.Test(context.Background())
	if len(r) != 1 || r[0].Passed || len(r[0].Failures) != 4 || r[0].Line != 13 {
		t.Fatalf("%+v", r)
	}
}

func TestNormalizeGroupID(t *testing.T) {
	tests := []struct {
		kind, in, want string
		ok             bool
	}{
		{"object_id", "4F0C6B1A-8E2D-4C37-9A51-2B7E6D9F0C13", "4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13", true},
		{"object_id", "4f0c6b1a8e2d4c379a512b7e6d9f0c13", "", false},
		{"dn", "CN=CBS_ViewOnly, OU=Groups,DC=bank,DC=example", "cn=cbs_viewonly,ou=groups,dc=bank,dc=example", true},
		{"dn", "not a dn", "", false},
		{"dn", "", "", false},
		{"name", "Lending RM", "Lending RM", true},
		{"name", "bad\nname", "", false},
		{"sid", "S-1-5", "", false},
	}
	for _, tt := range tests {
		got, ok := NormalizeGroupID(tt.kind, tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("NormalizeGroupID(%q, %q) = %q, %v; want %q, %v", tt.kind, tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestGroupSourcesPerIssuer(t *testing.T) {
	dirIss := "ldap://corp.bank.example"
	src := GroupSourceFunc(func(_ context.Context, c *idbridge.Claims) ([]string, error) {
		if c.Subject == "uid=amit.r,ou=people,dc=bank,dc=example" {
			return []string{"CN=CBS_ViewOnly,OU=groups,DC=bank,DC=example"}, nil
		}
		return nil, nil
	})
	p := loadBank(t, func(o *Options) { o.GroupSources = map[string]GroupSource{"corp-ad": src} })
	// The token's own groups are ignored for an issuer with a source.
	d := p.Decide(&idbridge.Claims{Issuer: dirIss, Subject: "uid=amit.r,ou=people,dc=bank,dc=example"})
	if !d.OK() || !d.HasRole("CBS_Viewer") {
		t.Fatalf("source groups: %v %v", d.Err(), d.Roles())
	}
	d = p.Decide(&idbridge.Claims{Issuer: dirIss, Subject: "uid=x", Groups: []string{"cn=CBS_ViewOnly,ou=groups,dc=bank,dc=example"}})
	if d.OK() {
		t.Fatal("the token's groups were used although the issuer has a source")
	}
	// Other issuers are unaffected.
	if d := p.Decide(claims(lendingRM)); !d.OK() {
		t.Fatal(d.Err())
	}
	if _, err := ParsePolicy([]byte(minimal), func(o *Options) { o.GroupSources = map[string]GroupSource{"x": nil} }); err == nil {
		t.Error("nil group source accepted")
	}
}

// The matching rule for IDs: GUIDs (group object IDs, tenant IDs) compare
// case-insensitively, DNs canonically (case and spacing), names and every
// other value exactly. Whichever case the policy uses.
func TestIDCaseRules(t *testing.T) {
	const y = `version: 1
issuers:
  - {name: entra, issuer: "https://login.microsoftonline.com/9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c/v2.0"}
  - {name: ad, issuer: "ldap://corp.example", group_ids: dn}
  - {name: okta, issuer: "https://okta.example", group_ids: name}
groups:
  - {id: 4F0C6B1A-8E2D-4C37-9A51-2B7E6D9F0C13, name: RM, issuer: entra}
  - {id: "CN=Tellers, OU=Groups, DC=corp", name: Tellers, issuer: ad}
  - {id: Lending, name: OktaLending, issuer: okta}
roles:
  - {name: Viewer, permissions: [loan:read]}
mappings:
  - {id: rm, when: {group: RM}, grant: {roles: [Viewer]}}
  - {id: tenant, when: {issuer: entra, tenant: 9B1C3F4E-2A6D-4E8B-B7C1-5D0F2E3A4B6C, app_role: Reader}, grant: {roles: [Viewer]}}
  - {id: tellers, when: {group: Tellers}, grant: {roles: [Viewer]}}
  - {id: okta, when: {group: OktaLending}, grant: {roles: [Viewer]}}
`
	p, err := ParsePolicy([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	const iss = "https://login.microsoftonline.com/9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c/v2.0"
	tests := []struct {
		name string
		c    *idbridge.Claims
		ok   bool
	}{
		{"guid lower", &idbridge.Claims{Issuer: iss, Groups: []string{"4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13"}}, true},
		{"guid upper", &idbridge.Claims{Issuer: iss, Groups: []string{"4F0C6B1A-8E2D-4C37-9A51-2B7E6D9F0C13"}}, true},
		{"guid mixed", &idbridge.Claims{Issuer: iss, Groups: []string{"4f0C6b1A-8e2D-4c37-9A51-2b7E6d9F0c13"}}, true},
		{"guid other", &idbridge.Claims{Issuer: iss, Groups: []string{"4F0C6B1A-8E2D-4C37-9A51-2B7E6D9F0C14"}}, false},
		{"tenant lower", &idbridge.Claims{Issuer: iss, TenantID: "9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c", Roles: []string{"Reader"}}, true},
		{"tenant upper", &idbridge.Claims{Issuer: iss, TenantID: "9B1C3F4E-2A6D-4E8B-B7C1-5D0F2E3A4B6C", Roles: []string{"Reader"}}, true},
		{"app role is exact", &idbridge.Claims{Issuer: iss, TenantID: "9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c", Roles: []string{"reader"}}, false},
		{"dn other case and spacing", &idbridge.Claims{Issuer: "ldap://corp.example", Groups: []string{"cn=tellers,ou=groups,  dc=CORP"}}, true},
		{"name exact", &idbridge.Claims{Issuer: "https://okta.example", Groups: []string{"Lending"}}, true},
		{"name is case-sensitive", &idbridge.Claims{Issuer: "https://okta.example", Groups: []string{"lending"}}, false},
		{"issuer is exact", &idbridge.Claims{Issuer: strings.ToUpper(iss), Groups: []string{"4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := p.Decide(tt.c); d.OK() != tt.ok {
				t.Errorf("OK %v, want %v (%v)", d.OK(), tt.ok, d.Err())
			}
		})
	}
	upper := &idbridge.Claims{Issuer: iss, Groups: []string{"4F0C6B1A-8E2D-4C37-9A51-2B7E6D9F0C13"}}
	if n := testing.AllocsPerRun(100, func() { _ = p.Decide(upper) }); n != 0 {
		t.Errorf("an upper-case GUID costs %.0f allocations", n)
	}
}

const multiTenant = `version: 1
issuers:
  - name: entra
    issuer: "https://login.microsoftonline.com/{tenantid}/v2.0"
    tenants: [9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c, 1A2B3C4D-0000-4000-8000-00000000000F]
  - name: entra-v1
    issuer: "https://sts.windows.net/{tenantid}/"
    tenants: [9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c]
roles:
  - {name: Viewer, permissions: [loan:read]}
  - {name: PartnerViewer, permissions: [partner:read]}
mappings:
  - {id: readers, when: {issuer: entra, app_role: Reader}, grant: {roles: [Viewer]}}
  - {id: partner, when: {issuer: entra, app_role: Reader, tenant: 1a2b3c4d-0000-4000-8000-00000000000f}, grant: {roles: [PartnerViewer]}}
  - {id: v1, when: {issuer: entra-v1, app_role: Reader}, grant: {roles: [Viewer]}}
tests:
  - name: home tenant
    claims: {iss: "https://login.microsoftonline.com/9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c/v2.0", tid: 9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c, roles: [Reader]}
    expect: {allowed: true, roles: [Viewer]}
  - name: unlisted tenant
    claims: {iss: "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0", tid: 00000000-0000-0000-0000-000000000000, roles: [Reader]}
    expect: {allowed: false, reason: tenant}
`

// A multi-tenant app's issuer is written with {tenantid}: the token's tid
// fills it, the result must equal iss exactly, and tid must be allowed.
func TestTenantTemplateIssuer(t *testing.T) {
	p, err := ParsePolicy([]byte(multiTenant))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range p.Test(context.Background()) {
		if !r.Passed {
			t.Errorf("%s: %v", r.Name, r.Failures)
		}
	}
	const (
		home    = "9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c"
		partner = "1a2b3c4d-0000-4000-8000-00000000000f"
		other   = "00000000-0000-0000-0000-000000000000"
	)
	v2 := func(tid string) string { return "https://login.microsoftonline.com/" + tid + "/v2.0" }
	tests := []struct {
		name, iss, tid string
		ok             bool
		roles          []string
		issuer         string // Explain's issuer name
		err            error
	}{
		{"home", v2(home), home, true, []string{"Viewer"}, "entra", nil},
		{"partner", v2(partner), partner, true, []string{"Viewer", "PartnerViewer"}, "entra", nil},
		{"v1 home", "https://sts.windows.net/" + home + "/", home, true, []string{"Viewer"}, "entra-v1", nil},
		{"v1 partner not listed for v1", "https://sts.windows.net/" + partner + "/", partner, false, nil, "", ErrTenant},
		{"unlisted tenant", v2(other), other, false, nil, "", ErrTenant},
		{"iss names another tenant than tid", v2(home), partner, false, nil, "", ErrIssuer},
		{"tid missing", v2(home), "", false, nil, "", ErrIssuer},
		{"tid not a GUID", "https://login.microsoftonline.com/contoso/v2.0", "contoso", false, nil, "", ErrIssuer},
		{"placeholder itself", "https://login.microsoftonline.com/{tenantid}/v2.0", home, false, nil, "", ErrIssuer},
		{"upper-case tid in both", v2(strings.ToUpper(home)), strings.ToUpper(home), true, []string{"Viewer"}, "entra", nil},
		{"trailing slash differs", v2(home) + "/", home, false, nil, "", ErrIssuer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &idbridge.Claims{Issuer: tt.iss, TenantID: tt.tid, Roles: []string{"Reader"}}
			d := p.Decide(c)
			if d.OK() != tt.ok {
				t.Fatalf("OK %v, want %v (%v)", d.OK(), tt.ok, d.Err())
			}
			if !tt.ok && !errors.Is(d.Err(), tt.err) || !tt.ok && reason.Of(d.Err()) != d.Reason() {
				t.Errorf("err %v (%s), want %v", d.Err(), d.Reason(), tt.err)
			}
			if tt.ok && !sameSet(d.Roles(), tt.roles) {
				t.Errorf("roles %v, want %v", d.Roles(), tt.roles)
			}
			if e := d.Explain(); e.Issuer != tt.issuer {
				t.Errorf("explained issuer %q, want %q", e.Issuer, tt.issuer)
			}
		})
	}
	c := &idbridge.Claims{Issuer: v2(partner), TenantID: partner, Roles: []string{"Reader"}}
	if n := testing.AllocsPerRun(100, func() { _ = p.Decide(c) }); n != 0 {
		t.Errorf("a template issuer costs %.0f allocations", n)
	}
}

func TestTenantTemplateLoadErrors(t *testing.T) {
	tests := []struct {
		name, from, to, want string
	}{
		{"no tenants", "    tenants: [9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c, 1A2B3C4D-0000-4000-8000-00000000000F]\n", "", "needs tenants"},
		{"tenant not a GUID", "1A2B3C4D-0000-4000-8000-00000000000F]", "contoso]", `tenant "contoso" must be a tenant ID`},
		{"tenant twice", "1A2B3C4D-0000-4000-8000-00000000000F]", "9B1C3F4E-2A6D-4E8B-B7C1-5D0F2E3A4B6C]", "listed twice"},
		{"placeholder twice", "https://sts.windows.net/{tenantid}/", "https://sts.windows.net/{tenantid}/{tenantid}/", "once"},
		{"tenants on a fixed issuer", "https://sts.windows.net/{tenantid}/", "https://sts.windows.net/9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c/", "tenants applies to an issuer written with {tenantid}"},
		{"fixed issuer overlaps a template", "roles:\n", "  - {name: fixed, issuer: \"https://login.microsoftonline.com/9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c/v2.0\"}\nroles:\n", "declare it once"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			y := strings.Replace(multiTenant, tt.from, tt.to, 1)
			if y == multiTenant {
				t.Fatal("test edit did not apply")
			}
			_, err := ParsePolicy([]byte(y))
			if !errors.Is(err, ErrInvalidPolicy) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
		})
	}
}

// An explanation recomputes from the groups the decision used: a group
// source's (even none at all), never the token's own.
func TestExplainUsesSourceGroups(t *testing.T) {
	const y = `version: 1
issuers:
  - {name: ad, issuer: "ldap://corp.example", group_ids: dn}
groups:
  - {id: "cn=tellers,dc=corp", name: Tellers}
roles:
  - {name: Viewer, permissions: [loan:read]}
mappings:
  - id: m
    when:
      any: [{group: Tellers}, {app_role: Reader}]
    grant: {roles: [Viewer]}
`
	none := GroupSourceFunc(func(context.Context, *idbridge.Claims) ([]string, error) { return nil, nil })
	p, err := ParsePolicy([]byte(y), func(o *Options) { o.GroupSources = map[string]GroupSource{"ad": none} })
	if err != nil {
		t.Fatal(err)
	}
	d := p.Decide(&idbridge.Claims{Issuer: "ldap://corp.example", Roles: []string{"Reader"}, Groups: []string{"cn=tellers,dc=corp"}})
	if !d.OK() {
		t.Fatal(d.Err())
	}
	e := d.Explain()
	if len(e.Matched) != 1 || !slices.Equal(e.Matched[0].Because, []string{"app_role Reader"}) {
		t.Errorf("explanation %+v, want only app_role Reader (the source said: no groups)", e.Matched)
	}
}

// staticGroups is a fixed group source keyed by the user's object ID (oid),
// falling back to the subject (sub). An unknown user has no groups.
type staticGroups map[string][]string

// Groups returns the groups listed for c's oid, or else its sub.
func (s staticGroups) Groups(_ context.Context, c *idbridge.Claims) ([]string, error) {
	if c == nil {
		return nil, nil
	}
	if g, ok := s[c.ObjectID]; ok && c.ObjectID != "" {
		return g, nil
	}
	return s[c.Subject], nil
}
