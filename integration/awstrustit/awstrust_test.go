// Package awstrustit checks rbac/awstrust's trust policies on IAM roles
// held by moto_server, through the real aws-sdk-go-v2 IAM client.
package awstrustit

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/idbridge/idbridge/integration/mototest"
	"github.com/idbridge/idbridge/rbac"
	"github.com/idbridge/idbridge/rbac/awstrust"
	"github.com/idbridge/idbridge/rbac/awstrust/iamcheck"
)

const awsClient = "6e3f2a1b-7c4d-4e5f-9a8b-0c1d2e3f4a5b"

func bankTrusts(t *testing.T) []awstrust.Trust {
	t.Helper()
	p, err := rbac.NewPolicy("../../examples/policies/bank.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ts, err := awstrust.Generate(p.Inventory(), awstrust.Options{Audiences: map[string][]string{"entra": {awsClient}}})
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func createRole(t *testing.T, c *iam.Client, name, doc string) {
	t.Helper()
	if _, err := c.CreateRole(context.Background(), &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(doc)}); err != nil {
		t.Fatalf("CreateRole %s: %v", name, err)
	}
}

// TestCheckAgainstIAM: roles created with the generated trust policy pass;
// a widened one, a missing role and a role under another ARN are reported.
func TestCheckAgainstIAM(t *testing.T) {
	srv := mototest.Start(t)
	c := iam.NewFromConfig(srv.Config())
	ts := bankTrusts(t)
	ctx := context.Background()

	// moto's account is 123456789012; the policy's is 111122223333, so
	// the check sees an ARN mismatch until the trusts are re-pointed.
	for i := range ts {
		ts[i].RoleARN = strings.Replace(ts[i].RoleARN, "111122223333", "123456789012", 1)
	}
	exact, _ := json.Marshal(ts[0].Document)
	createRole(t, c, "Loan_ReadOnly", string(exact))
	ds, err := iamcheck.Check(ctx, c, ts)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].RoleARN != ts[1].RoleARN || ds[0].Detail != "role does not exist" {
		t.Fatalf("exact role + missing role: %v", ds)
	}

	// Widen Loan_Approver: no aud condition and a second account may assume it.
	wide := ts[1].Document
	wide.Statement = append([]awstrust.Statement(nil), wide.Statement...)
	st := wide.Statement[0]
	st.Condition = map[string]map[string][]string{"Null": st.Condition["Null"]}
	wide.Statement[0] = st
	doc, _ := json.Marshal(wide)
	extra := strings.TrimSuffix(string(doc), "]}") + `,{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"sts:AssumeRole"}]}`
	createRole(t, c, "Loan_Approver", extra)
	ds, err = iamcheck.Check(ctx, c, ts)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range ds {
		got = append(got, d.String())
	}
	if len(ds) != 2 || !strings.Contains(got[0], "missing condition StringEquals login.microsoftonline.com/9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c/v2.0:aud") ||
		!strings.Contains(got[1], `principal AWS "arn:aws:iam::444455556666:root" is not granted`) {
		t.Fatalf("widened role:\n%s", strings.Join(got, "\n"))
	}

	// A role of that name under another path is not the granted role.
	moved := append([]awstrust.Trust(nil), ts[0])
	moved[0].RoleARN = "arn:aws:iam::123456789012:role/lending/Loan_ReadOnly"
	ds, err = iamcheck.Check(ctx, c, moved)
	if err != nil || len(ds) != 1 || !strings.Contains(ds[0].Detail, "instead") {
		t.Fatalf("moved role: %v %v", ds, err)
	}
}

// TestUnexpectedDocument: a trust policy the checker cannot read fails the
// check instead of passing it.
func TestUnexpectedDocument(t *testing.T) {
	srv := mototest.Start(t)
	c := iam.NewFromConfig(srv.Config())
	ts := bankTrusts(t)
	ts[0].RoleARN = "arn:aws:iam::123456789012:role/Loan_ReadOnly"
	createRole(t, c, "Loan_ReadOnly", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"x"},"Action":"sts:AssumeRoleWithWebIdentity","Conditions":{}}]}`)
	ds, err := iamcheck.Check(context.Background(), c, ts[:1])
	if !errors.Is(err, awstrust.ErrUnexpectedDocument) || ds != nil {
		t.Fatalf("%v %v", ds, err)
	}
}

// TestIAMUnavailable: an IAM that does not answer fails the check with
// ErrIAM; no partial report.
func TestIAMUnavailable(t *testing.T) {
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:1"), Credentials: aws.AnonymousCredentials{}}
	cfg.RetryMaxAttempts = 1
	ds, err := iamcheck.Check(context.Background(), iam.NewFromConfig(cfg), bankTrusts(t))
	if !errors.Is(err, iamcheck.ErrIAM) || ds != nil {
		t.Fatalf("%v %v", ds, err)
	}
}
