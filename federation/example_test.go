package federation_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/federation"
	"github.com/idbridge/idbridge/federation/ststest"
	"github.com/idbridge/idbridge/jwks/jwkstest"
	"github.com/idbridge/idbridge/rbac"
	"github.com/idbridge/idbridge/token"
)

// Amit's ID token, from the app he signed in to, becomes credentials for
// the role Loan_ReadOnly. The fake STS validates the token as AWS would:
// its issuer is a registered OIDC provider, its aud (the app's client ID)
// is in the provider's client list, and the role's trust policy names his
// oid as sub.
func ExampleNewProvider() {
	idp := jwkstest.NewServer()
	defer idp.Close()
	fake := ststest.NewServer()
	defer fake.Close()
	fake.AddOIDCProvider(ststest.OIDCProvider{URL: idp.Issuer(), ClientIDs: []string{"lending-web"}, JWKSURL: idp.JWKSURL()})
	fake.AddRole(ststest.Role{ARN: "arn:aws:iam::111122223333:role/Loan_ReadOnly", Trust: []ststest.Condition{
		{Op: ststest.StringEquals, Key: ststest.ClaimKey(idp.Issuer(), "sub"), Values: []string{amitOID}},
	}})

	// In production: a token.Cache over the user's refresh token flow.
	idToken := idp.Mint(map[string]any{"aud": "lending-web", "sub": amitOID, "oid": amitOID})
	userTokens := token.SourceFunc(func(context.Context) (*token.Token, error) {
		return &token.Token{IDToken: idToken}, nil
	})

	p, err := federation.NewProvider(fake.Client(), "arn:aws:iam::111122223333:role/Loan_ReadOnly", userTokens)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close() // stops the background renewal
	creds, err := p.Retrieve(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	s, _ := fake.Session(creds.AccessKeyID)
	fmt.Println("account:", creds.AccountID, "expires:", creds.CanExpire)
	fmt.Println("session:", s.AssumedRoleARN)
	// Output:
	// account: 111122223333 expires: true
	// session: arn:aws:sts::111122223333:assumed-role/Loan_ReadOnly/a1b2c3d4-0001-4a5b-8c6d-000000000001
}

// The rbac decision names the role; RoleFor makes it ready for STS: the
// session name from the user's oid, the duration clamped to what STS
// accepts, the session tags and source identity of the grant.
func ExampleRoleFor() {
	policy, err := rbac.ParsePolicy([]byte(bankPolicy))
	if err != nil {
		fmt.Println(err)
		return
	}
	claims := &idbridge.Claims{ // as returned by jwks.Validator.Validate
		Issuer: entraIssuer, ObjectID: amitOID, TenantID: tenantID,
		PreferredUsername: "amit.r@bank.example", Groups: []string{gRM},
	}
	role, err := federation.RoleFor(policy.Decide(claims), claims, "")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(role.ARN, role.Duration)
	fmt.Println("session:", role.SessionName, "source identity:", role.SourceIdentity)
	fmt.Println("tags:", role.SessionTags)

	// A leaver gets nothing, and the reason says why.
	claims.Groups = append(claims.Groups, gLeaver)
	_, err = federation.RoleFor(policy.Decide(claims), claims, "")
	fmt.Println(errors.Is(err, federation.ErrNoRole), idbridge.ReasonOf(err))
	// Output:
	// arn:aws:iam::111122223333:role/Loan_ReadOnly 1h0m0s
	// session: a1b2c3d4-0001-4a5b-8c6d-000000000001 source identity: amit.r@bank.example
	// tags: map[Department:Lending Function:RelationshipManager]
	// true revoked
}

// A service on EKS reaches its own bucket with its service account token
// (IAM roles for service accounts), never with a user's token.
func ExampleFromEnvironment() {
	cluster := jwkstest.NewServer() // the cluster's OIDC issuer
	defer cluster.Close()
	fake := ststest.NewServer()
	defer fake.Close()
	fake.AddOIDCProvider(ststest.OIDCProvider{URL: cluster.Issuer(), ClientIDs: []string{"sts.amazonaws.com"}, JWKSURL: cluster.JWKSURL()})
	fake.AddRole(ststest.Role{ARN: "arn:aws:iam::111122223333:role/analytics-s3"})

	// What the EKS pod identity webhook sets up.
	dir, _ := os.MkdirTemp("", "irsa")
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "token")
	_ = os.WriteFile(file, []byte(cluster.Mint(map[string]any{"aud": "sts.amazonaws.com", "sub": "system:serviceaccount:payments:analytics"})), 0o600)
	for k, v := range map[string]string{federation.EnvTokenFile: file, federation.EnvRoleARN: "arn:aws:iam::111122223333:role/analytics-s3"} {
		old, had := os.LookupEnv(k)
		os.Setenv(k, v)
		defer func() {
			if had {
				os.Setenv(k, old)
			} else {
				os.Unsetenv(k)
			}
		}()
	}

	p, err := federation.FromEnvironment(fake.Client())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	creds, err := p.Retrieve(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	s, _ := fake.Session(creds.AccessKeyID)
	fmt.Println(s.AssumedRoleARN)
	// Output:
	// arn:aws:sts::111122223333:assumed-role/analytics-s3/system_serviceaccount_payments_analytics-d7b5435ad3389a96
}

// Errors carry the STS code and request ID, match a sentinel, and map to
// the SDK's reason classes.
func ExampleError() {
	idp := jwkstest.NewServer()
	defer idp.Close()
	fake := ststest.NewServer()
	defer fake.Close()
	fake.AddOIDCProvider(ststest.OIDCProvider{URL: idp.Issuer(), ClientIDs: []string{"lending-web"}, JWKSURL: idp.JWKSURL()})
	fake.AddRole(ststest.Role{ARN: "arn:aws:iam::111122223333:role/Loan_Approver", Trust: []ststest.Condition{
		{Op: ststest.StringEquals, Key: ststest.ClaimKey(idp.Issuer(), "sub"), Values: []string{priyaOID}},
	}})
	amit := idp.Mint(map[string]any{"aud": "lending-web", "sub": amitOID})
	src := token.SourceFunc(func(context.Context) (*token.Token, error) { return &token.Token{IDToken: amit}, nil })

	p, _ := federation.NewProvider(fake.Client(), "arn:aws:iam::111122223333:role/Loan_Approver", src)
	defer p.Close()
	_, err := p.Retrieve(context.Background())
	var fe *federation.Error
	if errors.As(err, &fe) {
		fmt.Println(fe.Code, fe.Status, fe.RequestID != "")
	}
	fmt.Println(errors.Is(err, federation.ErrAccessDenied), idbridge.ReasonOf(err))
	// Output:
	// AccessDenied 403 true
	// true forbidden
}
