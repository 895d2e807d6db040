package federation_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/federation"
	"github.com/idbridge/idbridge/rbac"
)

const entraIssuer = "https://login.microsoftonline.com/" + tenantID + "/v2.0"

// Group object IDs of the test policy.
const (
	gRM      = "4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13"
	gCredit  = "a83e1f52-6c4b-47d9-8e20-c5b9d4a7f261"
	gAnalyst = "b1c2d3e4-1111-4222-8333-944455556666"
	gLeaver  = "e2d94c07-1b5a-4f68-a3c9-7f0e8b2d5a46"
)

// bankPolicy maps Lending_RM to Loan_ReadOnly (with tags and a source
// identity), Credit_Officers to Loan_Approver, Analysts to nothing in AWS,
// and revokes leavers.
const bankPolicy = `version: 1
issuers:
  - {name: entra, issuer: "` + entraIssuer + `"}
groups:
  - {id: 4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13, name: Lending_RM}
  - {id: a83e1f52-6c4b-47d9-8e20-c5b9d4a7f261, name: Credit_Officers}
  - {id: b1c2d3e4-1111-4222-8333-944455556666, name: Analysts}
  - {id: e2d94c07-1b5a-4f68-a3c9-7f0e8b2d5a46, name: HR_Leavers}
roles:
  - {name: LoanViewer, permissions: [loan:read]}
  - {name: LoanApprover, permissions: [loan:approve]}
  - {name: Analyst, permissions: [report:read]}
mappings:
  - id: rm-view
    when: {group: Lending_RM}
    grant:
      roles: [LoanViewer]
      aws:
        - role_arn: ` + roleARN + `
          duration: 1h
          session_tags: {Department: Lending, Function: RelationshipManager}
          source_identity: preferred_username
  - id: credit-approve
    when: {group: Credit_Officers}
    grant:
      roles: [LoanApprover]
      aws:
        - {role_arn: "` + otherRole + `", duration: 12h}
  - id: analyst
    when: {group: Analysts}
    grant: {roles: [Analyst]}
deny:
  - {id: leaver, reason: revoked, when: {group: HR_Leavers}}
`

func claimsFor(groups ...string) *idbridge.Claims {
	return &idbridge.Claims{Issuer: entraIssuer, Subject: "pairwise-sub", ObjectID: amitOID, TenantID: tenantID,
		PreferredUsername: "amit.r@bank.example", Groups: groups}
}

func TestRoleFor(t *testing.T) {
	p, err := rbac.ParsePolicy([]byte(bankPolicy))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		groups []string
		arn    string
		want   string // role ARN, or "" for an error
		reason idbridge.Reason
	}{
		{"RM gets Loan_ReadOnly", []string{gRM}, "", roleARN, ""},
		{"RM names it", []string{gRM}, roleARN, roleARN, ""},
		{"RM asks for the approver role", []string{gRM}, otherRole, "", "insufficient_role"},
		{"two roles, none named", []string{gRM, gCredit}, "", "", "insufficient_role"},
		{"two roles, one named", []string{gRM, gCredit}, otherRole, otherRole, ""},
		{"no AWS grant", []string{gAnalyst}, "", "", "insufficient_role"},
		{"no group", nil, "", "", "insufficient_role"},
		{"leaver", []string{gRM, gLeaver}, "", "", "revoked"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := claimsFor(tc.groups...)
			r, err := federation.RoleFor(p.Decide(c), c, tc.arn)
			if tc.want == "" {
				if !errors.Is(err, federation.ErrNoRole) || idbridge.ReasonOf(err) != tc.reason {
					t.Fatalf("error %v (reason %q), want ErrNoRole with %q", err, idbridge.ReasonOf(err), tc.reason)
				}
				return
			}
			if err != nil || r.ARN != tc.want {
				t.Fatalf("role %+v, %v", r, err)
			}
		})
	}

	c := claimsFor(gRM)
	r, err := federation.RoleFor(p.Decide(c), c, "")
	if err != nil {
		t.Fatal(err)
	}
	if r.Duration != time.Hour || r.SessionName != amitOID || r.SourceIdentity != "amit.r@bank.example" ||
		r.SessionTags["Department"] != "Lending" || r.Mapping != "rm-view" {
		t.Errorf("role %+v", r)
	}
}

func TestRoleFromGrant(t *testing.T) {
	tests := []struct {
		name   string
		g      rbac.AWSRole
		c      *idbridge.Claims
		dur    time.Duration
		sess   string
		source string
	}{
		{"short duration clamped up", rbac.AWSRole{RoleARN: roleARN, Duration: 5 * time.Minute}, claimsFor(), 15 * time.Minute, amitOID, ""},
		{"long duration clamped down", rbac.AWSRole{RoleARN: roleARN, Duration: 20 * time.Hour}, claimsFor(), 12 * time.Hour, amitOID, ""},
		{"STS default", rbac.AWSRole{RoleARN: roleARN}, claimsFor(), 0, amitOID, ""},
		{"sub without oid", rbac.AWSRole{RoleARN: roleARN}, &idbridge.Claims{Subject: "user:amit"}, 0, "user_amit-a5711d3e4bae00c9", ""},
		{"no claims", rbac.AWSRole{RoleARN: roleARN}, nil, 0, "", ""},
		{"source identity sanitized", rbac.AWSRole{RoleARN: roleARN, SourceIdentity: "aws:Amit R"}, claimsFor(), 0, amitOID, "aws_Amit_R-2bf9205e9aab7129"},
	}
	for _, tc := range tests {
		r := federation.RoleFromGrant(tc.g, tc.c)
		if r.Duration != tc.dur || r.SessionName != tc.sess || r.SourceIdentity != tc.source {
			t.Errorf("%s: %+v", tc.name, r)
		}
	}
	g := rbac.AWSRole{RoleARN: roleARN, SessionTags: map[string]string{"K": "v"}}
	r := federation.RoleFromGrant(g, nil)
	r.SessionTags["K"] = "changed"
	if g.SessionTags["K"] != "v" {
		t.Error("RoleFromGrant shares the policy's tag map")
	}
}

func TestRoleOptions(t *testing.T) {
	r := federation.Role{ARN: roleARN, Duration: 2 * time.Hour, SessionName: "s1", SourceIdentity: "amit",
		SessionTags: map[string]string{"B": "2", "A": "1"}, TransitiveTagKeys: []string{"A"}}

	var o federation.Options
	r.Options(&o)
	if o.RoleSessionName != "s1" || o.Duration != 2*time.Hour || o.SourceIdentity != "amit" || o.SessionTags["A"] != "1" || !slices.Equal(o.TransitiveTagKeys, []string{"A"}) {
		t.Errorf("Options %+v", o)
	}

	var ao stscreds.AssumeRoleOptions
	r.AssumeRoleOptions(&ao)
	if ao.RoleSessionName != "s1" || ao.Duration != federation.MaxChainedDuration || aws.ToString(ao.SourceIdentity) != "amit" ||
		len(ao.Tags) != 2 || aws.ToString(ao.Tags[0].Key) != "A" || aws.ToString(ao.Tags[1].Value) != "2" || !slices.Equal(ao.TransitiveTagKeys, []string{"A"}) {
		t.Errorf("AssumeRoleOptions %+v", ao)
	}
	var short stscreds.AssumeRoleOptions
	federation.Role{ARN: roleARN, Duration: 20 * time.Minute}.AssumeRoleOptions(&short)
	if short.Duration != 20*time.Minute || short.SourceIdentity != nil || short.Tags != nil {
		t.Errorf("short chained role %+v", short)
	}
}

// The role decided by rbac is assumed end to end, with the session name
// from the user's oid and the tags and source identity the IdP put in the
// token.
func TestRoleForThroughSTS(t *testing.T) {
	e := newEnv(t)
	p, err := rbac.ParsePolicy([]byte(bankPolicy))
	if err != nil {
		t.Fatal(err)
	}
	c := claimsFor(gRM)
	role, err := federation.RoleFor(p.Decide(c), c, "")
	if err != nil {
		t.Fatal(err)
	}
	tok := e.idToken(map[string]any{
		federation.TagsClaim:           map[string]any{"principal_tags": map[string]any{"Department": []string{"Lending"}, "Function": []string{"RelationshipManager"}}},
		federation.SourceIdentityClaim: "amit.r@bank.example",
	})
	prov, err := federation.NewProvider(e.client, role.ARN, idSource(tok), role.Options)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := prov.Retrieve(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := e.sts.Session(creds.AccessKeyID)
	if s.SessionName != amitOID || s.SourceIdentity != "amit.r@bank.example" || s.Tags["Function"] != "RelationshipManager" {
		t.Errorf("session %+v", s)
	}
	if got := e.sts.Requests()[0].Form.Get("DurationSeconds"); got != "3600" {
		t.Errorf("DurationSeconds %q", got)
	}
}
