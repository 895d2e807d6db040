package samlsts_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/idbridge/idbridge/federation"
	"github.com/idbridge/idbridge/federation/saml"
	"github.com/idbridge/idbridge/federation/saml/samltest"
	"github.com/idbridge/idbridge/federation/samlsts"
	"github.com/idbridge/idbridge/internal/reason"
	"github.com/idbridge/idbridge/rbac"
)

const (
	tenant      = "9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c"
	loanRO      = "arn:aws:iam::111122223333:role/Loan_ReadOnly"
	riskRO      = "arn:aws:iam::111122223333:role/Risk_ReadOnly"
	entraSAML   = "arn:aws:iam::111122223333:saml-provider/EntraID"
	lendingRMID = "4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13"
)

var (
	once sync.Once
	idp  *samltest.IdP
)

func testIdP() *samltest.IdP {
	once.Do(func() { idp = samltest.New(tenant) })
	return idp
}

func amit(roles ...string) samltest.User {
	return samltest.User{ObjectID: "7d3e2a10-5b8c-4f1e-9c6d-2a4b8e0f1c3d", UPN: "amit.r@bank.example",
		Groups: []string{lendingRMID}, MFA: true, AWSRoles: roles, SessionDuration: 7200}
}

// source signs Amit in at the AWS app for every call (IdP-initiated).
func source(u samltest.User) samlsts.AssertionSource {
	return samlsts.AssertionSourceFunc(func(context.Context) (string, error) {
		return samltest.Encode(testIdP().Response(u, samltest.Request{Audience: samlsts.Audience, Recipient: samlsts.Recipient})), nil
	})
}

func validator(t testing.TB) *saml.Validator {
	md, err := saml.ParseMetadata(testIdP().Metadata())
	if err != nil {
		t.Fatal(err)
	}
	v, err := saml.NewValidator(md, samlsts.Audience, samlsts.Recipient, func(o *saml.Options) {
		o.AllowIdPInitiated = true
		o.ClaimsIssuer = "https://login.microsoftonline.com/{tenantid}/v2.0"
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// stsStub answers AssumeRoleWithSAML; the wire format is tested against
// moto in integration/federationit.
type stsStub struct {
	calls atomic.Int32
	last  *sts.AssumeRoleWithSAMLInput
	err   error
	life  time.Duration
}

func (s *stsStub) AssumeRoleWithSAML(_ context.Context, in *sts.AssumeRoleWithSAMLInput, _ ...func(*sts.Options)) (*sts.AssumeRoleWithSAMLOutput, error) {
	s.calls.Add(1)
	s.last = in
	if s.err != nil {
		return nil, s.err
	}
	life := s.life
	if life == 0 {
		life = time.Hour
	}
	return &sts.AssumeRoleWithSAMLOutput{
		Credentials: &types.Credentials{AccessKeyId: aws.String("ASIAEXAMPLE"), SecretAccessKey: aws.String("secret"),
			SessionToken: aws.String("session"), Expiration: aws.Time(time.Now().Add(life))},
		AssumedRoleUser: &types.AssumedRoleUser{Arn: aws.String("arn:aws:sts::111122223333:assumed-role/Loan_ReadOnly/amit.r@bank.example")},
	}, nil
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
        - {role_arn: "arn:aws:iam::111122223333:role/Loan_ReadOnly", duration: 1h}
`

func TestProviderChoosesRole(t *testing.T) {
	pol, err := rbac.ParsePolicy([]byte(policy))
	if err != nil {
		t.Fatal(err)
	}
	pair := func(role string) string { return role + "," + entraSAML }
	cases := []struct {
		name     string
		user     samltest.User
		opts     func(*samlsts.Options)
		wantRole string
		wantDur  int32
		wantErr  error
	}{
		{name: "the only pair, SessionDuration attribute", user: amit(pair(loanRO)), wantRole: loanRO, wantDur: 7200},
		{name: "provider first, as AWS also accepts", user: amit(entraSAML + "," + loanRO), wantRole: loanRO, wantDur: 7200},
		{name: "RoleARN among several", user: amit(pair(riskRO), pair(loanRO)), opts: func(o *samlsts.Options) { o.RoleARN = loanRO }, wantRole: loanRO, wantDur: 7200},
		{name: "rbac grant, bounded by its 1h", user: amit(pair(riskRO), pair(loanRO)), opts: func(o *samlsts.Options) { o.Policy = pol }, wantRole: loanRO, wantDur: 3600},
		{name: "Duration below both", user: amit(pair(loanRO)), opts: func(o *samlsts.Options) { o.Duration = 30 * time.Minute }, wantRole: loanRO, wantDur: 1800},
		{name: "several and no choice", user: amit(pair(riskRO), pair(loanRO)), wantErr: samlsts.ErrNoRole},
		{name: "RoleARN the assertion does not list", user: amit(pair(riskRO)), opts: func(o *samlsts.Options) { o.RoleARN = loanRO }, wantErr: samlsts.ErrNoRole},
		{name: "rbac grant the assertion does not list", user: amit(pair(riskRO)), opts: func(o *samlsts.Options) { o.Policy = pol }, wantErr: samlsts.ErrNoRole},
		{name: "rbac denies", user: func() samltest.User { u := amit(pair(loanRO)); u.Groups = nil; return u }(), opts: func(o *samlsts.Options) { o.Policy = pol }, wantErr: federation.ErrNoRole},
		{name: "no Role attribute", user: amit(), wantErr: samlsts.ErrNoRole},
		{name: "malformed pair", user: amit("Loan_ReadOnly,EntraID"), wantErr: samlsts.ErrNoRole},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stub := &stsStub{}
			p, err := samlsts.NewProvider(stub, validator(t), source(tc.user), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			creds, err := p.Retrieve(context.Background())
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || reason.Of(err) != reason.InsufficientRole {
					t.Fatalf("err = %v (%s), want %v", err, reason.Of(err), tc.wantErr)
				}
				if stub.calls.Load() != 0 {
					t.Fatal("STS called for a role the assertion does not vouch for")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := aws.ToString(stub.last.RoleArn); got != tc.wantRole {
				t.Errorf("role %s, want %s", got, tc.wantRole)
			}
			if got := aws.ToString(stub.last.PrincipalArn); got != entraSAML {
				t.Errorf("principal %s", got)
			}
			if got := aws.ToInt32(stub.last.DurationSeconds); got != tc.wantDur {
				t.Errorf("duration %d, want %d", got, tc.wantDur)
			}
			if creds.AccessKeyID != "ASIAEXAMPLE" || !creds.CanExpire || creds.AccountID != "111122223333" {
				t.Errorf("credentials %+v", creds)
			}
		})
	}
}

func TestProviderCachesAndRenews(t *testing.T) {
	stub := &stsStub{}
	p, err := samlsts.NewProvider(stub, validator(t), source(amit(loanRO+","+entraSAML)))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := p.Retrieve(context.Background()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := stub.calls.Load(); n != 1 {
		t.Fatalf("%d STS calls for 50 concurrent callers, want 1", n)
	}
	p.Invalidate()
	if _, err := p.Retrieve(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := stub.calls.Load(); n != 2 {
		t.Fatalf("%d STS calls after Invalidate, want 2", n)
	}
}

func TestProviderFailures(t *testing.T) {
	once := samltest.Encode(testIdP().Response(amit(loanRO+","+entraSAML), samltest.Request{Audience: samlsts.Audience, Recipient: samlsts.Recipient}))
	static := samlsts.AssertionSourceFunc(func(context.Context) (string, error) { return once, nil })
	cases := []struct {
		name string
		src  samlsts.AssertionSource
		err  error
		want error
	}{
		{name: "STS AccessDenied", src: source(amit(loanRO + "," + entraSAML)), err: &smithy.GenericAPIError{Code: "AccessDenied", Message: "Not authorized"}, want: federation.ErrAccessDenied},
		{name: "STS InvalidIdentityToken", src: source(amit(loanRO + "," + entraSAML)), err: &smithy.GenericAPIError{Code: "InvalidIdentityToken"}, want: federation.ErrInvalidIdentityToken},
		{name: "STS throttled", src: source(amit(loanRO + "," + entraSAML)), err: &smithy.GenericAPIError{Code: "Throttling"}, want: federation.ErrSTSUnavailable},
		{name: "source fails", src: samlsts.AssertionSourceFunc(func(context.Context) (string, error) { return "", errors.New("sign-in cancelled") }), want: federation.ErrTokenSource},
		{name: "assertion for another SP", src: samlsts.AssertionSourceFunc(func(context.Context) (string, error) {
			return samltest.Encode(testIdP().Response(amit(loanRO+","+entraSAML), samltest.Request{Audience: "https://cbs.bank.example/saml", Recipient: samlsts.Recipient})), nil
		}), want: saml.ErrAudience},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := samlsts.NewProvider(&stsStub{err: tc.err}, validator(t), tc.src)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Retrieve(context.Background()); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("the same assertion twice", func(t *testing.T) {
		p, err := samlsts.NewProvider(&stsStub{}, validator(t), static)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Retrieve(context.Background()); err != nil {
			t.Fatal(err)
		}
		p.Invalidate()
		if _, err := p.Retrieve(context.Background()); !errors.Is(err, saml.ErrReplayed) || reason.Of(err) != reason.Revoked {
			t.Fatalf("err = %v, want ErrReplayed", err)
		}
	})
}

func TestPairs(t *testing.T) {
	got := samlsts.Pairs([]string{
		loanRO + "," + entraSAML,
		" " + entraSAML + " , " + riskRO + " ",
		"arn:aws:iam::111122223333:role/X",
		"garbage,more",
	})
	if len(got) != 2 || got[0].RoleARN != loanRO || got[1].RoleARN != riskRO || got[1].ProviderARN != entraSAML {
		t.Fatalf("Pairs = %+v", got)
	}
}

func newCachedProvider(b testing.TB) (*samlsts.Provider, error) {
	return samlsts.NewProvider(&stsStub{}, validator(b), source(amit(loanRO+","+entraSAML)))
}
