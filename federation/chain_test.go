package federation_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/idbridge/idbridge/federation"
	"github.com/idbridge/idbridge/federation/ststest"
	"github.com/idbridge/idbridge/rbac"
)

const entryRole = "arn:aws:iam::111122223333:role/idbridge-entry"

// When the IdP cannot put session tags and a source identity in the token
// (Entra ID cannot emit the nested tags object), the token is exchanged for an entry role, whose session
// then assumes the decided role with AssumeRole — signed with SigV4 by the
// real SDK signer and verified by the fake — passing the tags and source
// identity as parameters.
func TestChainedRoleCarriesSessionAttributes(t *testing.T) {
	e := newEnv(t)
	e.sts.AddRole(ststest.Role{ARN: entryRole, Trust: []ststest.Condition{
		{Op: ststest.StringEquals, Key: ststest.ClaimKey(e.idp.Issuer(), "oaud"), Values: []string{clientID}},
	}})
	e.sts.AddRole(ststest.Role{ARN: roleARN, TrustedRoles: []string{entryRole}})

	policy, err := rbac.ParsePolicy([]byte(bankPolicy))
	if err != nil {
		t.Fatal(err)
	}
	c := claimsFor(gRM)
	role, err := federation.RoleFor(policy.Decide(c), c, "")
	if err != nil {
		t.Fatal(err)
	}
	role.Duration = 2 * time.Hour // more than chaining allows: capped
	role.TransitiveTagKeys = []string{"Department"}

	entry, err := federation.NewProvider(e.client, entryRole, idSource(e.idToken(nil)), func(o *federation.Options) {
		o.RoleSessionName = role.SessionName
	})
	if err != nil {
		t.Fatal(err)
	}
	chained := aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(
		e.sts.Client(func(o *sts.Options) { o.Credentials = entry }), role.ARN, role.AssumeRoleOptions))
	creds, err := chained.Retrieve(testContext(t))
	if err != nil {
		t.Fatalf("chained: %v", err)
	}
	s, _ := e.sts.Session(creds.AccessKeyID)
	if s.Action != "AssumeRole" || s.RoleARN != roleARN || s.SessionName != amitOID || s.SourceIdentity != "amit.r@bank.example" ||
		s.Tags["Department"] != "Lending" || s.Tags["Function"] != "RelationshipManager" || len(s.TransitiveTagKeys) != 1 {
		t.Errorf("chained session %+v", s)
	}
	reqs := e.sts.Requests()
	last := reqs[len(reqs)-1]
	if !last.Authorization || last.Form.Get("DurationSeconds") != "3600" {
		t.Errorf("AssumeRole request: signed %v, DurationSeconds %q", last.Authorization, last.Form.Get("DurationSeconds"))
	}

	// The fake really checks the signature: a wrong secret is refused.
	entryCreds, err := entry.Retrieve(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	forged := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		c := entryCreds
		c.SecretAccessKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
		return c, nil
	})
	_, err = stscreds.NewAssumeRoleProvider(e.sts.Client(func(o *sts.Options) { o.Credentials = forged }), role.ARN, role.AssumeRoleOptions).Retrieve(testContext(t))
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "SignatureDoesNotMatch" {
		t.Errorf("wrong secret: %v", err)
	}
}

// TestChainedHopIsAudited: the AssumeRole hop of a role chain records
// sts.assumed (or sts.failed with STS's code) through AuditAssumeRole, with
// neither the secret key nor the session token in any field.
func TestChainedHopIsAudited(t *testing.T) {
	e := newEnv(t)
	e.sts.AddRole(ststest.Role{ARN: entryRole, Trust: []ststest.Condition{
		{Op: ststest.StringEquals, Key: ststest.ClaimKey(e.idp.Issuer(), "oaud"), Values: []string{clientID}},
	}})
	e.sts.AddRole(ststest.Role{ARN: roleARN, TrustedRoles: []string{entryRole}})
	role := federation.Role{ARN: roleARN, SessionName: amitOID, SourceIdentity: "amit.r@bank.example", Duration: time.Hour}
	entry, err := federation.NewProvider(e.client, entryRole, idSource(e.idToken(nil)))
	if err != nil {
		t.Fatal(err)
	}
	var log auditLog
	creds, err := stscreds.NewAssumeRoleProvider(
		federation.AuditAssumeRole(e.sts.Client(func(o *sts.Options) { o.Credentials = entry }), log.handler()),
		role.ARN, role.AssumeRoleOptions).Retrieve(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	entryCreds, _ := entry.Retrieve(testContext(t))
	forged := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		c := entryCreds
		c.SecretAccessKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
		return c, nil
	})
	_, _ = stscreds.NewAssumeRoleProvider(federation.AuditAssumeRole(e.sts.Client(func(o *sts.Options) { o.Credentials = forged }), log.handler()),
		role.ARN, role.AssumeRoleOptions).Retrieve(testContext(t))

	evs := log.events(t)
	if len(evs) != 2 {
		t.Fatalf("%d events, want 2:\n%s", len(evs), log.String())
	}
	ok, failed := evs[0], evs[1]
	if ok["event"] != "sts.assumed" || ok["role_arn"] != roleARN || ok["session_name"] != amitOID || ok["source_identity"] != "amit.r@bank.example" ||
		ok["access_key_id"] != creds.AccessKeyID || ok["assumed_role_arn"] == nil || ok["expiration"] == nil {
		t.Errorf("sts.assumed %v", ok)
	}
	if failed["event"] != "sts.failed" || failed["error_code"] != "SignatureDoesNotMatch" || failed["reason"] != "forbidden" || failed["level"] != "WARN" {
		t.Errorf("sts.failed %v", failed)
	}
	for _, secret := range []string{creds.SecretAccessKey, creds.SessionToken, entryCreds.SecretAccessKey, entryCreds.SessionToken} {
		if strings.Contains(log.String(), secret) {
			t.Fatal("a secret key or session token reached the audit log")
		}
	}
}
