package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/idbridge/idbridge/integration/mototest"
)

const awsClient = "entra=6e3f2a1b-7c4d-4e5f-9a8b-0c1d2e3f4a5b"

// TestCheckAWS: against moto's IAM, a role created from trust-policy's
// output passes and one whose trust policy was widened is reported.
func TestCheckAWS(t *testing.T) {
	srv := mototest.Start(t)
	policy, err := os.ReadFile(bank)
	if err != nil {
		t.Fatal(err)
	}
	// moto's account.
	local := write(t, "bank.yaml", strings.ReplaceAll(string(policy), "111122223333", "123456789012"))
	c := iam.NewFromConfig(srv.Config())
	for role, widen := range map[string]bool{"Loan_ReadOnly": false, "Loan_Approver": true} {
		var doc, errOut bytes.Buffer
		if code := run([]string{"trust-policy", "-policy", local, "-audience", awsClient, "-role", role}, nil, &doc, &errOut); code != 0 {
			t.Fatalf("trust-policy %s: %d %s", role, code, errOut.String())
		}
		d := doc.String()
		if widen {
			d = strings.Replace(d, `"6e3f2a1b-7c4d-4e5f-9a8b-0c1d2e3f4a5b"`, `"6e3f2a1b-7c4d-4e5f-9a8b-0c1d2e3f4a5b", "00000000-0000-0000-0000-00000000beef"`, 1)
		}
		if _, err := c.CreateRole(context.Background(), &iam.CreateRoleInput{RoleName: aws.String(role), AssumeRolePolicyDocument: aws.String(d)}); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	var stdout, stderr bytes.Buffer
	code := run([]string{"check-aws", "-policy", local, "-audience", awsClient, "-endpoint", srv.URL}, nil, &stdout, &stderr)
	if code != 1 || !strings.Contains(stdout.String(), `wider arn:aws:iam::123456789012:role/Loan_Approver statement 0: condition StringEquals login.microsoftonline.com/9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c/v2.0:aud admits "00000000-0000-0000-0000-00000000beef"`) ||
		!strings.Contains(stdout.String(), "2 roles checked, 1 drifts") {
		t.Fatalf("exit %d\n%s%s", code, stdout.String(), stderr.String())
	}

	// IAM that does not answer: exit 2, nothing on stdout.
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"check-aws", "-policy", local, "-audience", awsClient, "-endpoint", "http://127.0.0.1:1"}, nil, &stdout, &stderr); code != 2 || stdout.Len() > 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
}

func TestTrustPolicyErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"trust-policy", "-policy", bank}, "no audience for issuer"},
		{[]string{"trust-policy", "-policy", bank, "-audience", awsClient, "-role", "Nope"}, `grants no role "Nope"`},
		{[]string{"trust-policy", "-policy", bank, "-audience", awsClient, "-saml-provider", "x"}, "malformed SAML provider ARN"},
		{[]string{"check-aws", "-policy", bank, "-audience", awsClient}, "AWS_ACCESS_KEY_ID"},
	} {
		t.Setenv("AWS_ACCESS_KEY_ID", "")
		var stdout, stderr bytes.Buffer
		if code := run(tt.args, nil, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), tt.want) || stdout.Len() > 0 {
			t.Errorf("%v: exit %d\n%s%s", tt.args, code, stdout.String(), stderr.String())
		}
	}
}
