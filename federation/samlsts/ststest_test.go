package samlsts_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/idbridge/idbridge/federation"
	"github.com/idbridge/idbridge/federation/samlsts"
	"github.com/idbridge/idbridge/federation/ststest"
)

// TestProviderWireFormat runs the provider through the real aws-sdk-go-v2
// STS client against federation/ststest, which answers AssumeRoleWithSAML
// in STS's wire format after checking the assertion against the IAM SAML
// provider's metadata, as AWS does.
func TestProviderWireFormat(t *testing.T) {
	srv := ststest.NewServer()
	defer srv.Close()
	provider, err := srv.AddSAMLProvider(ststest.SAMLProvider{Name: "EntraID", Metadata: testIdP().Metadata()})
	if err != nil {
		t.Fatal(err)
	}
	role := "arn:aws:iam::" + srv.AccountID() + ":role/Loan_ReadOnly"
	srv.AddRole(ststest.Role{ARN: role, MaxSessionDuration: 4 * time.Hour})
	p, err := samlsts.NewProvider(srv.Client(), validator(t), source(amit(role+","+provider)))
	if err != nil {
		t.Fatal(err)
	}
	creds, err := p.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sess, ok := srv.Session(creds.AccessKeyID)
	if !ok || sess.AssumedRoleARN != "arn:aws:sts::"+srv.AccountID()+":assumed-role/Loan_ReadOnly/amit.r@bank.example" {
		t.Fatalf("session %+v", sess)
	}
	if got := time.Until(sess.Expiration).Round(time.Minute); got != 2*time.Hour {
		t.Fatalf("session of %s, want the assertion's 2h", got)
	}
	for _, r := range srv.Requests() {
		if r.Form.Get("SAMLAssertion") != "" {
			t.Fatal("the fake recorded the assertion")
		}
	}
	// A role the account has not created: AccessDenied, as from AWS.
	other := "arn:aws:iam::" + srv.AccountID() + ":role/Risk_ReadOnly"
	p2, _ := samlsts.NewProvider(srv.Client(), validator(t), source(amit(other+","+provider)))
	if _, err := p2.Retrieve(context.Background()); !errors.Is(err, federation.ErrAccessDenied) {
		t.Fatalf("unknown role: %v", err)
	}
}
