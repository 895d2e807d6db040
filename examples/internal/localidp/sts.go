package localidp

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/idbridge/idbridge/federation/ststest"
	"github.com/idbridge/idbridge/integration/idp"
	"github.com/idbridge/idbridge/token"
)

// AnalyticsRoleARN is the analytics service's own IAM role in the fake
// account: what AWS_ROLE_ARN names on EKS.
const AnalyticsRoleARN = "arn:aws:iam::111122223333:role/analytics-s3"

// STS is a fake AWS STS (federation/ststest, the real wire format) whose
// account trusts the provider, and the web identity token file that EKS
// would project into the analytics pod for IAM roles for service accounts.
type STS struct {
	*ststest.Server
	// TokenFile holds the analytics service's own token: what
	// AWS_WEB_IDENTITY_TOKEN_FILE names on EKS. Here it is an app-only
	// client-credentials token (aud the analytics API's client ID, idp.AnalyticsAppID) instead of a
	// Kubernetes service account token, and it is not rotated: a local run
	// gets AWS credentials for the token's lifetime (one hour).
	TokenFile string
	// RoleARN is [AnalyticsRoleARN]: what AWS_ROLE_ARN names on EKS.
	RoleARN string
}

// StartSTS gets the analytics service's token, writes it to a file in dir,
// and starts a fake STS with an IAM OIDC provider for the provider's issuer
// (client list: idp.AnalyticsAppID, the aud of tokens for api://analytics) and the role [AnalyticsRoleARN], which
// trusts exactly the analytics-svc service principal. Close it when done.
func (p *IdP) StartSTS(ctx context.Context, dir string) (*STS, error) {
	cc, err := token.NewClientCredentials(p.Client(idp.ClientAnalyticsSvc),
		[]string{idp.ResourceAnalytics + "/.default"}, p.TokenOptions(nil))
	if err != nil {
		return nil, err
	}
	tok, err := cc.Token(ctx)
	if err != nil {
		return nil, err
	}
	file := filepath.Join(dir, "web-identity-token")
	if err := os.WriteFile(file, []byte(tok.AccessToken), 0o600); err != nil {
		return nil, fmt.Errorf("localidp: %w", err)
	}
	s := ststest.NewServer(func(o *ststest.Options) { o.HTTPClient = p.HTTPClient() })
	s.AddOIDCProvider(ststest.OIDCProvider{URL: p.Issuer(), JWKSURL: p.JWKSURL(), ClientIDs: []string{idp.AnalyticsAppID}})
	s.AddRole(ststest.Role{ARN: AnalyticsRoleARN, Trust: []ststest.Condition{
		{Op: ststest.StringEquals, Key: ststest.ClaimKey(p.Issuer(), "sub"), Values: []string{AnalyticsServiceID}},
	}})
	return &STS{Server: s, TokenFile: file, RoleARN: AnalyticsRoleARN}, nil
}
