package samlit

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/idbridge/idbridge/federation/saml"
	"github.com/idbridge/idbridge/federation/saml/samltest"
	"github.com/idbridge/idbridge/federation/samlsts"
	"github.com/idbridge/idbridge/integration/mototest"
	"github.com/idbridge/idbridge/integration/samlpeer"
	"github.com/idbridge/idbridge/internal/reason"
	"github.com/idbridge/idbridge/rbac"
)

const (
	tenant    = "9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c"
	lendingRM = "4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13"
	loanRO    = "arn:aws:iam::123456789012:role/Loan_ReadOnly"
	entraIDP  = "arn:aws:iam::123456789012:saml-provider/EntraID"
)

var amit = samltest.User{
	ObjectID: "7d3e2a10-5b8c-4f1e-9c6d-2a4b8e0f1c3d", UPN: "amit.r@bank.example", DisplayName: "Amit R",
	Email: "amit.r@bank.example", Groups: []string{lendingRM}, MFA: true, SessionDuration: 14400,
	// One pair: moto reads the Role attribute as a single AttributeValue
	// and answers 500 to several (Entra sends one per assigned role);
	// choosing among several is covered by federation/samlsts's tests.
	AWSRoles: []string{loanRO + "," + entraIDP},
}

const policy = `version: 1
issuers:
  - name: entra
    issuer: https://login.microsoftonline.com/9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c/v2.0
groups:
  - {id: 4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13, name: Lending_RM}
roles:
  - {name: LoanViewer, permissions: [loan:read]}
mappings:
  - id: rm-view
    when: {group: Lending_RM}
    grant:
      roles: [LoanViewer]
      aws:
        - {role_arn: "arn:aws:iam::123456789012:role/Loan_ReadOnly", duration: 1h}
`

// browser signs in at the peer IdP as user and returns a client holding
// the IdP's session cookie.
func browser(t *testing.T, idp *samlpeer.IdP, user string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(idp.URL + "/login?user=" + user)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return c
}

// myApps is an IdP-initiated sign-in to the AWS app, as from Entra's My Apps.
func myApps(c *http.Client, idp *samlpeer.IdP) samlsts.AssertionSource {
	return samlsts.AssertionSourceFunc(func(ctx context.Context) (string, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, idp.URL+"/"+tenant+"/idp-initiated?sp="+samlsts.Audience, nil)
		resp, err := c.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		page, _ := io.ReadAll(resp.Body)
		f, err := samlpeer.ParseForm(string(page))
		if err != nil {
			return "", err
		}
		if f.Action != samlsts.Recipient {
			return "", errors.New("form posts to " + f.Action)
		}
		return f.SAMLResponse, nil
	})
}

func TestAmitGetsLoanReadOnlyFromMoto(t *testing.T) {
	moto := mototest.Start(t)
	idp := samlpeer.Start(t, tenant)
	idp.AddSP(samlsts.Audience, samlsts.Recipient)
	idp.AddUser("amit", amit)
	ctx := context.Background()

	md, err := saml.NewRemoteMetadata(ctx, idp.MetadataURL())
	if err != nil {
		t.Fatal(err)
	}
	defer md.Close()
	if md.EntityID() != "https://sts.windows.net/"+tenant+"/" {
		t.Fatalf("entity ID %s", md.EntityID())
	}
	v, err := saml.NewValidator(md, samlsts.Audience, samlsts.Recipient, func(o *saml.Options) {
		o.AllowIdPInitiated = true
		o.ClaimsIssuer = "https://login.microsoftonline.com/{tenantid}/v2.0"
	})
	if err != nil {
		t.Fatal(err)
	}
	pol, err := rbac.ParsePolicy([]byte(policy))
	if err != nil {
		t.Fatal(err)
	}
	var auditLog bytes.Buffer
	stsClient := sts.NewFromConfig(moto.Config())
	p, err := samlsts.NewProvider(stsClient, v, myApps(browser(t, idp, "amit"), idp), func(o *samlsts.Options) {
		o.Policy = pol
		o.Audit = slog.NewJSONHandler(&auditLog, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := p.Retrieve(ctx)
	if err != nil {
		t.Fatalf("Retrieve: %v", err)
	}
	if !strings.HasPrefix(creds.AccessKeyID, "ASIA") || creds.SessionToken == "" || !creds.CanExpire {
		t.Fatalf("credentials %s / expires %v", creds.AccessKeyID, creds.Expires)
	}
	for _, want := range []string{`"event":"sts.assumed"`, `"role_arn":"` + loanRO + `"`, `"principal_arn":"` + entraIDP + `"`, `"oid":"` + amit.ObjectID + `"`, `"duration_seconds":3600`, "assumed-role/Loan_ReadOnly/"} {
		if !strings.Contains(auditLog.String(), want) {
			t.Errorf("audit lacks %s: %s", want, auditLog.String())
		}
	}
	for _, secret := range []string{creds.SecretAccessKey, creds.SessionToken, "SAMLResponse", "<Assertion"} {
		if strings.Contains(auditLog.String(), secret) {
			t.Errorf("audit carries %q", secret)
		}
	}

	// The credentials work with the real S3 client against moto's S3.
	s3c := s3.NewFromConfig(moto.Config(), func(o *s3.Options) {
		o.Credentials = p
		o.UsePathStyle = true
	})
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("loan-book")}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("loan-book"), Key: aws.String("2026/Q4.csv"), Body: strings.NewReader("id,amount\n1,250000\n")}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("loan-book"), Key: aws.String("2026/Q4.csv")})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	body, _ := io.ReadAll(obj.Body)
	obj.Body.Close()
	if !strings.Contains(string(body), "250000") {
		t.Fatalf("object %q", body)
	}

	// A fresh sign-in renews; a user the IdP does not know gets no assertion.
	p.Invalidate()
	if _, err := p.Retrieve(ctx); err != nil {
		t.Fatalf("renewal: %v", err)
	}
	stranger, _ := samlsts.NewProvider(stsClient, v, myApps(browser(t, idp, "mallory"), idp))
	if _, err := stranger.Retrieve(ctx); err == nil || reason.Of(err) == "" {
		t.Fatalf("stranger: %v", err)
	}
}
