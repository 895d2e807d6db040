package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/idbridge/idbridge/examples/internal/cli"
	"github.com/idbridge/idbridge/rbac/awstrust"
	"github.com/idbridge/idbridge/rbac/awstrust/iamcheck"
)

// trustFlags are the flags trust-policy and check-aws share.
type trustFlags struct {
	policy    *string
	audiences listFlag
	saml      *string
	subjects  *string
}

func addTrustFlags(fs *flag.FlagSet, tf *trustFlags) {
	tf.policy = fs.String("policy", "", "policy file (YAML)")
	fs.Var(&tf.audiences, "audience", "aud of the tokens sent to STS, as ISSUER=CLIENT_ID or CLIENT_ID for every issuer (repeatable; required)")
	tf.saml = fs.String("saml-provider", "", "IAM SAML provider ARN: also admit AssumeRoleWithSAML through it")
	tf.subjects = fs.String("subjects", "", "JSON file {\"ROLE_ARN\": [\"sub\", ...]} pinning roles to these users")
}

func (tf *trustFlags) generate(stderr io.Writer) ([]awstrust.Trust, bool) {
	p := loadPolicy(*tf.policy, stderr)
	if p == nil {
		return nil, false
	}
	inv := p.Inventory()
	o := awstrust.Options{Audiences: map[string][]string{}}
	for _, a := range tf.audiences {
		iss, aud, ok := strings.Cut(a, "=")
		if !ok {
			for _, is := range inv.Issuers {
				o.Audiences[is.Name] = append(o.Audiences[is.Name], a)
			}
			continue
		}
		o.Audiences[iss] = append(o.Audiences[iss], aud)
	}
	if *tf.saml != "" {
		o.SAMLProviders = map[string]string{"*": *tf.saml}
	}
	if *tf.subjects != "" {
		data, err := os.ReadFile(*tf.subjects)
		if err == nil {
			err = json.Unmarshal(data, &o.Subjects)
		}
		if err != nil {
			fmt.Fprintf(stderr, "policycheck: -subjects: %v\n", err)
			return nil, false
		}
	}
	ts, err := awstrust.Generate(inv, o)
	if err != nil {
		fmt.Fprintf(stderr, "policycheck: %v\n", err)
		return nil, false
	}
	return ts, true
}

// runTrustPolicy prints the trust policy of each AWS role the policy
// grants; with -role, only that role's document, ready for
// aws iam update-assume-role-policy.
func runTrustPolicy(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("trust-policy", stderr)
	var tf trustFlags
	addTrustFlags(fs, &tf)
	role := fs.String("role", "", "print only this role's trust policy document")
	if err := cli.Parse(fs, args); err != nil {
		return cli.Status(stderr, "policycheck", err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(stderr, "policycheck trust-policy: no arguments follow the flags")
		return 2
	}
	ts, ok := tf.generate(stderr)
	if !ok {
		return 2
	}
	if *role == "" {
		writeJSON(stdout, ts)
		return 0
	}
	for _, t := range ts {
		if t.RoleARN == *role || strings.HasSuffix(t.RoleARN, ":role/"+*role) {
			writeJSON(stdout, t.Document)
			return 0
		}
	}
	fmt.Fprintf(stderr, "policycheck trust-policy: the policy grants no role %q\n", *role)
	return 2
}

// runCheckAWS compares each granted role's trust policy in IAM with the
// generated one. Exit status 1 when any role drifts.
func runCheckAWS(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("check-aws", stderr)
	var tf trustFlags
	addTrustFlags(fs, &tf)
	endpoint := fs.String("endpoint", "", "IAM endpoint URL (default: AWS's); credentials come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN")
	asJSON := fs.Bool("json", false, "print the drifts as JSON")
	if err := cli.Parse(fs, args); err != nil {
		return cli.Status(stderr, "policycheck", err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(stderr, "policycheck check-aws: no arguments follow the flags")
		return 2
	}
	ts, ok := tf.generate(stderr)
	if !ok {
		return 2
	}
	id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		fmt.Fprintln(stderr, "policycheck check-aws: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (iam:GetRole on the roles)")
		return 2
	}
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(id, secret, os.Getenv("AWS_SESSION_TOKEN"))}
	if *endpoint != "" {
		cfg.BaseEndpoint = endpoint
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ds, err := iamcheck.Check(ctx, iam.NewFromConfig(cfg), ts)
	if err != nil {
		fmt.Fprintf(stderr, "policycheck check-aws: %v\n", err)
		return 2
	}
	if *asJSON {
		if ds == nil {
			ds = []awstrust.Drift{}
		}
		writeJSON(stdout, ds)
	} else {
		for _, d := range ds {
			fmt.Fprintln(stdout, d)
		}
		fmt.Fprintf(stdout, "%d roles checked, %d drifts\n", len(ts), len(ds))
	}
	if len(ds) > 0 {
		return 1
	}
	return 0
}
