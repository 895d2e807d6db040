// Package federationit exchanges real tokens from the integration OpenID
// provider (integration/idp, on zitadel's certified implementation) for AWS
// credentials through the fake STS of federation/ststest, which validates
// them against the provider's published keys the way AWS does: the whole
// chain of the SDK, sign-in to credentials, with nothing hand-made.
package federationit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/federation"
	"github.com/idbridge/idbridge/federation/ststest"
	"github.com/idbridge/idbridge/integration/idp"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/rbac"
	"github.com/idbridge/idbridge/token"
)

const (
	loanReadOnly = "arn:aws:iam::111122223333:role/Loan_ReadOnly"
	analyticsS3  = "arn:aws:iam::111122223333:role/analytics-s3"
)

// policy maps the IdP's Lending_RM group to Loan_ReadOnly in AWS.
func policy(t *testing.T, issuer string) *rbac.Policy {
	t.Helper()
	p, err := rbac.ParsePolicy([]byte(fmt.Sprintf(`version: 1
issuers:
  - {name: idp, issuer: %q}
groups:
  - {id: %s, name: Lending_RM}
  - {id: %s, name: CBS_ViewOnly}
roles:
  - {name: LoanViewer, permissions: [loan:read]}
  - {name: CBS_Viewer, permissions: [cbs:account:read]}
mappings:
  - id: rm-view
    when: {group: Lending_RM}
    grant:
      roles: [LoanViewer]
      aws:
        - {role_arn: %q, duration: 15m, source_identity: preferred_username}
  - id: cbs-view
    when: {group: CBS_ViewOnly}
    grant: {roles: [CBS_Viewer]}
`, issuer, idp.GroupLendingRM, idp.GroupCBSViewOnly, loanReadOnly)))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type world struct {
	idp    *idp.Provider
	sts    *ststest.Server
	policy *rbac.Policy
	ids    *jwks.Validator // the lending app's ID token validator
	web    token.Client
	topts  func(*token.Options)
}

// newWorld starts the provider and a fake STS that trusts it: an IAM OIDC
// provider for its issuer with the lending-web client ID (the aud of
// users' ID tokens) and idp.AnalyticsAppID (the aud of the analytics daemon's
// access tokens), Loan_ReadOnly trusting Amit's sub, analytics-s3 trusting
// the daemon's.
func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{idp: idp.StartTest(t)}
	hc := w.idp.HTTPClient()
	w.topts = func(o *token.Options) { o.HTTPClient = hc }
	w.sts = ststest.Start(t, func(o *ststest.Options) { o.HTTPClient = hc; o.Leeway = 5 * time.Second })
	w.sts.AddOIDCProvider(ststest.OIDCProvider{URL: w.idp.Issuer(), ClientIDs: []string{idp.ClientLendingWeb, idp.AnalyticsAppID}, JWKSURL: w.idp.JWKSURL()})
	w.sts.AddRole(ststest.Role{ARN: loanReadOnly, Provider: w.idp.Issuer(), Trust: []ststest.Condition{
		{Op: ststest.StringEquals, Key: ststest.ClaimKey(w.idp.Issuer(), "oaud"), Values: []string{idp.ClientLendingWeb}},
		{Op: ststest.StringEquals, Key: ststest.ClaimKey(w.idp.Issuer(), "sub"), Values: []string{idp.AmitObjectID}},
	}})
	w.policy = policy(t, w.idp.Issuer())
	v, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: w.idp.Issuer(), JWKSURL: w.idp.JWKSURL()}}
		o.Audiences = []string{idp.ClientLendingWeb}
		o.Algorithms = []string{"RS256"}
		o.HTTPClient = hc
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	w.ids = v
	w.web = token.Client{ID: idp.ClientLendingWeb, TokenURL: w.idp.TokenURL(), Auth: token.ClientSecretBasic(idp.LendingWebSecret)}
	return w
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// signIn runs the code flow with PKCE headlessly and returns a cached,
// refreshing token source for the user and the ID token's claims.
func (w *world) signIn(t *testing.T, user, password string) (*token.Cache, *idbridge.Claims) {
	t.Helper()
	ctx := testContext(t)
	ac, err := token.NewAuthCode(w.web, w.idp.AuthURL(), idp.ScenarioRedirectURI, w.ids,
		[]string{"openid", "profile", "email", "offline_access", idp.ResourceLending + "/Loans.Read"}, w.topts)
	if err != nil {
		t.Fatal(err)
	}
	authz, err := ac.Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	redirect, err := w.idp.Login(ctx, authz.URL, user, password)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	tok, claims, err := ac.Exchange(ctx, authz, redirect.Query())
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	refresh, err := token.NewRefresh(w.web, nil, user, nil, func(o *token.RefreshOptions) { w.topts(&o.Options) })
	if err != nil {
		t.Fatal(err)
	}
	if err := refresh.Seed(ctx, tok); err != nil {
		t.Fatal(err)
	}
	cache, err := token.NewCache(refresh)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cache.Close() })
	return cache, claims
}

type auditBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (a *auditBuf) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.b.Write(p)
}

func (a *auditBuf) String() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.b.String()
}

// Amit signs in, the policy maps Lending_RM to Loan_ReadOnly, and his ID
// token becomes credentials for it.
func TestUserSignInToCredentials(t *testing.T) {
	w := newWorld(t)
	src, claims := w.signIn(t, idp.UserAmit, idp.AmitPassword)

	role, err := federation.RoleFor(w.policy.Decide(claims), claims, "")
	if err != nil {
		t.Fatal(err)
	}
	if role.ARN != loanReadOnly || role.SessionName != idp.AmitObjectID || role.SourceIdentity != "amit.r@bank.example" {
		t.Fatalf("role %+v", role)
	}
	// The test IdP cannot emit https://aws.amazon.com/source_identity:
	// drop it rather than fail (see Role.Options and Role.AssumeRoleOptions).
	role.SourceIdentity = ""

	var audit auditBuf
	p, err := federation.NewProvider(w.sts.Client(), role.ARN, src, role.Options, func(o *federation.Options) {
		o.Audit = slog.NewJSONHandler(&audit, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := p.Retrieve(testContext(t))
	if err != nil {
		t.Fatalf("Retrieve: %v", err)
	}
	s, ok := w.sts.Session(creds.AccessKeyID)
	if !ok {
		t.Fatal("no session")
	}
	if s.Subject != idp.AmitObjectID || s.Audience != idp.ClientLendingWeb || s.SessionName != idp.AmitObjectID ||
		s.Provider != w.sts.ProviderARN(w.idp.Issuer()) || time.Until(s.Expiration) > 15*time.Minute {
		t.Errorf("session %+v", s)
	}
	if got := w.sts.Requests()[0].Form.Get("DurationSeconds"); got != "900" {
		t.Errorf("DurationSeconds %q", got)
	}
	if !strings.Contains(audit.String(), `"event":"sts.assumed"`) || !strings.Contains(audit.String(), `"oid":"`+idp.AmitObjectID+`"`) {
		t.Errorf("audit %s", audit.String())
	}
	tok, _ := src.Token(testContext(t))
	for _, secret := range []string{tok.IDToken, tok.AccessToken, creds.SecretAccessKey, creds.SessionToken} {
		if strings.Contains(audit.String(), secret) {
			t.Error("the audit log holds a secret")
		}
	}

	// The access token of the same sign-in is for the lending API (api://lending); AWS was
	// never told to trust that audience.
	at, err := federation.NewProvider(w.sts.Client(), role.ARN, src, role.Options, func(o *federation.Options) { o.TokenKind = federation.AccessToken })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := at.Retrieve(testContext(t)); !errors.Is(err, federation.ErrInvalidIdentityToken) {
		t.Errorf("access token: %v", err)
	}
}

// Priya signs in to the same app: her ID token is genuine and AWS trusts
// the app, but Loan_ReadOnly's trust policy names Amit alone.
func TestTrustPolicyRefusesOtherUser(t *testing.T) {
	w := newWorld(t)
	src, _ := w.signIn(t, idp.UserPriya, idp.PriyaPassword)
	p, err := federation.NewProvider(w.sts.Client(), loanReadOnly, src)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Retrieve(testContext(t))
	if !errors.Is(err, federation.ErrAccessDenied) || idbridge.ReasonOf(err) != "forbidden" {
		t.Fatalf("error %v", err)
	}
}

// A mover loses the role at the next decision; a leaver cannot refresh,
// and the provider says revoked.
func TestMoverAndLeaver(t *testing.T) {
	w := newWorld(t)
	src, _ := w.signIn(t, idp.UserAmit, idp.AmitPassword)
	p, err := federation.NewProvider(w.sts.Client(), loanReadOnly, src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Retrieve(testContext(t)); err != nil {
		t.Fatal(err)
	}

	// Mover: out of Lending_RM. The refreshed ID token no longer maps to
	// the role.
	if err := w.idp.SetGroups(idp.UserAmit, []string{idp.GroupCBSViewOnly}); err != nil {
		t.Fatal(err)
	}
	src.Invalidate()
	tok, err := src.Token(testContext(t))
	if err != nil || tok.IDToken == "" {
		t.Fatalf("refresh: %v (ID token present: %v)", err, tok != nil && tok.IDToken != "")
	}
	claims, err := w.ids.ValidateIDToken(testContext(t), tok.IDToken, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := federation.RoleFor(w.policy.Decide(claims), claims, ""); !errors.Is(err, federation.ErrNoRole) || idbridge.ReasonOf(err) != "insufficient_role" {
		t.Fatalf("mover: %v", err)
	}

	// Leaver: disabled, refresh refused.
	if err := w.idp.DisableUser(idp.UserAmit); err != nil {
		t.Fatal(err)
	}
	src.Invalidate()
	p.Invalidate()
	_, err = p.Retrieve(testContext(t))
	if !errors.Is(err, federation.ErrTokenSource) || !errors.Is(err, token.ErrSignInRequired) || idbridge.ReasonOf(err) != "revoked" {
		t.Fatalf("leaver: %v (reason %q)", err, idbridge.ReasonOf(err))
	}
}

// The analytics daemon reaches S3 with its own client credentials token,
// requested for a resource AWS trusts — never with a user's token.
func TestWorkloadClientCredentials(t *testing.T) {
	w := newWorld(t)
	cc, err := token.NewCachedClientCredentials(
		token.Client{ID: idp.ClientAnalyticsSvc, TokenURL: w.idp.TokenURL(), Auth: token.ClientSecretBasic(idp.AnalyticsSvcSecret)},
		[]string{idp.ResourceAnalytics + "/.default"}, func(o *token.CachedOptions) { w.topts(&o.Options) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })

	// The daemon's service principal is the sub AWS sees; read it the way
	// the role's owner would, from a validated token.
	tok, err := cc.Token(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	v, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: w.idp.Issuer(), JWKSURL: w.idp.JWKSURL()}}
		o.Audiences = []string{idp.AnalyticsAppID}
		o.Algorithms = []string{"RS256"}
		o.HTTPClient = w.idp.HTTPClient()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	c, err := v.Validate(testContext(t), tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	w.sts.AddRole(ststest.Role{ARN: analyticsS3, Trust: []ststest.Condition{
		{Op: ststest.StringEquals, Key: ststest.ClaimKey(w.idp.Issuer(), "sub"), Values: []string{c.Subject}},
	}})

	// Client credentials return no ID token: the default refuses clearly.
	idp1, err := federation.NewProvider(w.sts.Client(), analyticsS3, cc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := idp1.Retrieve(testContext(t)); !errors.Is(err, federation.ErrNoIdentityToken) {
		t.Fatalf("ID token kind: %v", err)
	}

	p, err := federation.NewProvider(w.sts.Client(), analyticsS3, cc, func(o *federation.Options) { o.TokenKind = federation.AccessToken })
	if err != nil {
		t.Fatal(err)
	}
	creds, err := p.Retrieve(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := w.sts.Session(creds.AccessKeyID)
	if s.Subject != c.Subject || s.Audience != idp.AnalyticsAppID || s.SessionName != federation.SessionName(c.ObjectID) {
		t.Errorf("session %+v", s)
	}

	// The daemon's token cannot assume the user's role.
	u, err := federation.NewProvider(w.sts.Client(), loanReadOnly, cc, func(o *federation.Options) { o.TokenKind = federation.AccessToken })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.Retrieve(testContext(t)); !errors.Is(err, federation.ErrAccessDenied) {
		t.Errorf("workload token on the user's role: %v", err)
	}
}

// A hard key rotation at the IdP: the refreshed token, signed with a key
// STS has never seen, is trusted — STS fetches the JWKS again when it meets
// an unknown kid.
func TestKeyRotation(t *testing.T) {
	w := newWorld(t)
	src, _ := w.signIn(t, idp.UserAmit, idp.AmitPassword)
	p, err := federation.NewProvider(w.sts.Client(), loanReadOnly, src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Retrieve(testContext(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.idp.RotateKey(true); err != nil {
		t.Fatal(err)
	}
	src.Invalidate() // the next token is refreshed, signed with the new key
	p.Invalidate()
	if _, err := p.Retrieve(testContext(t)); err != nil {
		t.Fatalf("new key: %v", err)
	}
}
