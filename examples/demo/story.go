package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/federation"
	"github.com/idbridge/idbridge/federation/ststest"
	"github.com/idbridge/idbridge/integration/idp"
	"github.com/idbridge/idbridge/integration/ldaptest"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/rbac"
	rbacldap "github.com/idbridge/idbridge/rbac/ldap"
	"github.com/idbridge/idbridge/token"
)

// story holds what the steps share: the provider, the two APIs and Amit's
// browser session. Each step is one method, in the order they run.
type story struct {
	out   io.Writer
	audit slog.Handler // nil: no audit
	cfg   config

	closers []func() // run in reverse by close

	idp        *idp.Provider
	policyRaw  []byte
	policyName string
	policy     *rbac.Policy    // the governance copy: inline tests, AWS grants
	idTokens   *jwks.Validator // lending-web's ID token validator
	lending    *api
	analytics  *api
	amit       *session
	amitID     *idbridge.Claims // Amit's verified ID token claims
	down       *downstream      // the lending API's on-behalf-of call (story_trace.go)
	traced     traceLog         // audit events that carried a trace ID
}

// session is a signed-in user of the lending web app: the token cache that
// keeps the access token fresh, the store that holds the refresh token, and
// an HTTP client whose transport attaches the access token.
type session struct {
	user   string
	key    string // the refresh token's key in store
	store  *token.MemoryStore
	tokens *token.Cache
	client *http.Client
}

// auditFor labels the audit events of one service, so that a SIEM can tell
// the lending API's decisions from the analytics API's.
func (s *story) auditFor(service string) slog.Handler {
	if s.audit == nil {
		return nil
	}
	return traceTee{next: s.audit.WithAttrs([]slog.Attr{slog.String("service", service)}), service: service, log: &s.traced}
}

func (s *story) step(n int, title string) { fmt.Fprintf(s.out, "\n%d. %s\n", n, title) }
func (s *story) say(format string, args ...any) {
	fmt.Fprintf(s.out, "   "+format+"\n", args...)
}
func (s *story) onClose(f func()) { s.closers = append(s.closers, f) }

// close stops everything the story started, newest first.
func (s *story) close() {
	for _, f := range slices.Backward(s.closers) {
		f()
	}
	s.closers = nil
}

// tell runs the story, stopping at the first step that fails.
func (s *story) tell(ctx context.Context) error {
	steps := []func(context.Context) error{
		s.setup,
		s.signIn,         // 1
		s.lendingAPI,     // 2
		s.analyticsAPI,   // 3
		s.oneTrace,       // 3, one request across services (story_trace.go)
		s.awsAccess,      // 4
		s.awsSAML,        // 4, the SAML road (story_saml.go)
		s.onPrem,         // 5
		s.refresh,        // 6
		s.moverAndLeaver, // 7
		s.leaverRevoked,  // 8: story_leaver.go
	}
	for _, st := range steps {
		if err := st(ctx); err != nil {
			return err
		}
	}
	return nil
}

// setup starts the provider and the two APIs and loads the policy.
func (s *story) setup(ctx context.Context) error {
	p, err := startIdP()
	if err != nil {
		return err
	}
	s.idp = p
	s.onClose(func() { p.Close() })

	s.policyRaw, s.policyName, err = readPolicy(s.cfg.policy)
	if err != nil {
		return err
	}
	// Every service loads the policy file itself. This copy runs the
	// file's inline tests, which governance runs before any change, and
	// decides AWS grants in step 4.
	s.policy, err = loadPolicy(s.policyRaw, s.policyName, p.Issuer())
	if err != nil {
		return err
	}
	results := s.policy.Test(ctx)
	passed := 0
	for _, r := range results {
		if r.Passed {
			passed++
		}
	}
	fmt.Fprintln(s.out, "idbridge demo: one identity provider trusted in Azure, AWS and on premises")
	fmt.Fprintf(s.out, "   identity provider: embedded OpenID provider at %s, playing the bank's Entra tenant %s\n", p.Issuer(), bankTenantID)
	fmt.Fprintf(s.out, "   policy: %s version %s, inline tests %d/%d passed\n", s.policyName, s.policy.Version(), passed, len(results))

	// lending-web validates ID tokens issued to it (aud = its client ID).
	s.idTokens, err = jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: p.Issuer(), JWKSURL: p.JWKSURL()}}
		o.Audiences = []string{idp.ClientLendingWeb}
		o.Algorithms = []string{"RS256"}
		o.Tenants = []string{bankTenantID}
		o.HTTPClient = p.HTTPClient()
		o.Audit = s.auditFor("lending-web")
	})
	if err != nil {
		return err
	}
	s.onClose(func() { s.idTokens.Close() })

	if s.lending, err = s.startAPI("lending-api", s.tracedLending); err != nil {
		return err
	}
	s.analytics, err = s.startAPI("analytics-api", analyticsRoutes)
	return err
}

// startAPI starts one guarded API with its own copy of the policy.
func (s *story) startAPI(name string, routes func(*http.ServeMux, *middleware.Guard), opts ...func(*apiConfig)) (*api, error) {
	audit := s.auditFor(name)
	pol, err := loadPolicy(s.policyRaw, s.policyName, s.idp.Issuer(), func(o *rbac.Options) { o.Audit = audit })
	if err != nil {
		return nil, err
	}
	// Both APIs accept the lending platform's audience: the analytics API
	// is part of the platform, deployed in AWS behind API Gateway, so the
	// browser's one access token works for both.
	c := apiConfig{name: name, audience: idp.LendingAppID, policy: pol, audit: audit, routes: routes}
	for _, o := range opts {
		o(&c)
	}
	a, err := startAPI(s.idp, c)
	if err != nil {
		return nil, err
	}
	s.onClose(a.close)
	return a, nil
}

// signInAs runs the authorization code flow with PKCE for a user of
// lending-web and keeps the result as a session. p.Login stands in for the
// browser: it follows the redirects and posts the password (and, for Amit,
// the provider records MFA in amr).
func (s *story) signInAs(ctx context.Context, user, password string) (*session, *idbridge.Claims, error) {
	p := s.idp
	opts := tokenOptions(p, s.auditFor("lending-web"))
	client := token.Client{ID: idp.ClientLendingWeb, TokenURL: p.TokenURL(), Auth: token.ClientSecretBasic(idp.LendingWebSecret)}
	// profile puts the name in the ID token; offline_access asks for a
	// refresh token; Loans.Read is the delegated
	// scope of the lending API (App ID URI api://lending), which makes
	// the access token's aud the API's client ID, as in Entra v2.0.
	flow, err := token.NewAuthCode(client, p.AuthURL(), idp.ScenarioRedirectURI, s.idTokens,
		[]string{"profile", "offline_access", idp.ResourceLending + "/Loans.Read"}, func(o *token.Options) { *o = opts })
	if err != nil {
		return nil, nil, err
	}
	// Start makes state, nonce and the PKCE verifier; a web app keeps
	// signIn in its server-side session and redirects the browser.
	signIn, err := flow.Start(nil)
	if err != nil {
		return nil, nil, err
	}
	callback, err := p.Login(ctx, signIn.URL, user, password)
	if err != nil {
		return nil, nil, fmt.Errorf("demo: %s signs in: %w", user, err)
	}
	// Exchange checks state, redeems the code with the verifier and
	// validates the ID token (signature, issuer, audience, nonce).
	tok, claims, err := flow.Exchange(ctx, signIn, callback.Query())
	if err != nil {
		return nil, nil, err
	}

	// From here on the access token lives in a Cache that refreshes it
	// ahead of expiry; the refresh token lives in the store, and only the
	// token endpoint ever receives it.
	sess := &session{user: user, key: "lending-web/" + claims.ObjectID, store: token.NewMemoryStore()}
	refresh, err := token.NewRefresh(client, sess.store, sess.key, nil, func(o *token.RefreshOptions) { o.Options = opts })
	if err != nil {
		return nil, nil, err
	}
	if err := refresh.Seed(ctx, tok); err != nil {
		return nil, nil, err
	}
	if sess.tokens, err = token.NewCache(refresh, func(o *token.CacheOptions) { o.Audit = opts.Audit }); err != nil {
		return nil, nil, err
	}
	s.onClose(func() { sess.tokens.Close() })
	// The transport attaches the token only to the two APIs, never to
	// another host a redirect might lead to.
	tr, err := middleware.NewTransport(sess.tokens, func(o *middleware.TransportOptions) {
		o.Hosts = []string{s.lending.host, s.analytics.host}
	})
	if err != nil {
		return nil, nil, err
	}
	sess.client = &http.Client{Transport: tr, Timeout: 10 * time.Second}
	return sess, claims, nil
}

// signIn is step 1: Amit signs in once.
func (s *story) signIn(ctx context.Context) error {
	s.step(1, "Amit signs in once: authorization code + PKCE at the identity provider (password + MFA)")
	sess, id, err := s.signInAs(ctx, idp.UserAmit, idp.AmitPassword)
	if err != nil {
		return err
	}
	s.amit, s.amitID = sess, id
	s.say("ID token valid: signature checked against the provider's JWKS; issuer, audience lending-web, nonce")
	s.say("name %s · oid %s · tid %s", id.Name, id.ObjectID, id.TenantID)
	s.say("groups %s · amr %s", names(id.Groups), strings.Join(id.AMR, ", "))
	tok, err := sess.tokens.Token(ctx)
	if err != nil {
		return err
	}
	s.say("lending-web keeps the session: access token for %s until %s, refresh token in its server-side store",
		idp.ResourceLending, tok.Expiry.Format(time.TimeOnly))
	return nil
}

// lendingAPI is step 2: the lending API in Azure enforces the bank policy.
func (s *story) lendingAPI(ctx context.Context) error {
	s.step(2, "Lending API (Azure): middleware validates the bearer token (jwks) and applies bank.yaml (rbac)")
	me, err := s.expect(ctx, s.amit, http.MethodGet, s.lending, "/me", http.StatusOK)
	if err != nil {
		return err
	}
	s.say("       %s · scp %s · groups %s", me.reply.Name, strings.Join(me.reply.Scopes, " "), names(me.reply.Groups))
	for line := range strings.Lines(me.reply.Explain) {
		s.say("       %s", strings.TrimRight(line, "\n"))
	}
	if _, err := s.expect(ctx, s.amit, http.MethodGet, s.lending, "/loans/L-1001", http.StatusOK); err != nil {
		return err
	}
	if _, err := s.expect(ctx, s.amit, http.MethodGet, s.lending, "/kyc/C-2231", http.StatusOK); err != nil {
		return err
	}
	// Originating a loan is a write: the policy grants LoanOriginator only
	// with MFA *and* the Loans.ReadWrite scope, which this sign-in did not
	// ask for. The client learns the class; the API's log says which rule.
	_, err = s.expect(ctx, s.amit, http.MethodPost, s.lending, "/loans", http.StatusForbidden)
	return err
}

// analyticsAPI is step 3: the analytics API in AWS validates the same
// bearer token on its own.
func (s *story) analyticsAPI(ctx context.Context) error {
	s.step(3, "Analytics API (AWS) validates the same bearer token itself: no STS, no call to the provider per request")
	before := s.idp.Requests(idp.EndpointToken)
	if _, err := s.expect(ctx, s.amit, http.MethodGet, s.analytics, "/reports/loan-book", http.StatusOK); err != nil {
		return err
	}
	for range 3 {
		if _, err := call(ctx, s.amit.client, http.MethodGet, s.analytics.url+"/reports/loan-book"); err != nil {
			return err
		}
	}
	s.say("3 more calls: token endpoint requests %d, JWKS fetches in total %d (one per validator: keys are cached)",
		s.idp.Requests(idp.EndpointToken)-before, s.idp.Requests(idp.EndpointJWKS))
	return nil
}

// awsAccess is step 4: AWS accepts the provider's tokens only through STS,
// which turns them into temporary credentials for an IAM role.
func (s *story) awsAccess(ctx context.Context) error {
	s.step(4, "AWS resources: the analytics service uses its own identity; Amit's own access goes through STS")
	p := s.idp
	// The fake STS speaks STS's wire format to the real aws-sdk-go-v2
	// client and checks tokens as AWS does. The account has one IAM OIDC
	// provider for the bank's issuer, whose client list holds the two
	// audiences AWS is meant to see: the web app's client ID (users' ID
	// tokens) and the analytics App ID URI (the service's own tokens).
	sts := ststest.NewServer(func(o *ststest.Options) { o.HTTPClient = p.HTTPClient() })
	defer sts.Close()
	sts.AddOIDCProvider(ststest.OIDCProvider{URL: p.Issuer(), JWKSURL: p.JWKSURL(),
		ClientIDs: []string{idp.ClientLendingWeb, idp.AnalyticsAppID}})
	if err := s.serviceS3(ctx, sts); err != nil {
		return err
	}
	return s.amitAWS(ctx, sts)
}

// analyticsS3Role is the analytics service's own IAM role.
const analyticsS3Role = "arn:aws:iam::111122223333:role/analytics-s3"

// serviceS3 gets the analytics service's S3 credentials from its own
// client-credentials token: Amit's token never leaves the APIs.
func (s *story) serviceS3(ctx context.Context, sts *ststest.Server) error {
	p := s.idp
	// On EKS the secret would be the projected service-account token
	// (token.NewFileAssertion, or federation.FromEnvironment for IRSA);
	// the rest is the same.
	svc, err := token.NewCachedClientCredentials(token.Client{
		ID: idp.ClientAnalyticsSvc, TokenURL: p.TokenURL(), Auth: token.ClientSecretBasic(idp.AnalyticsSvcSecret),
	}, []string{idp.ResourceAnalytics + "/.default"}, func(o *token.CachedOptions) {
		o.Options = tokenOptions(p, s.auditFor("analytics-svc"))
	})
	if err != nil {
		return err
	}
	defer svc.Close()
	before := p.Requests(idp.EndpointToken)
	tok, err := svc.Token(ctx)
	if err != nil {
		return err
	}
	if _, err := svc.Token(ctx); err != nil { // served from the cache
		return err
	}
	c, err := s.claimsOf(ctx, tok.AccessToken, idp.AnalyticsAppID)
	if err != nil {
		return err
	}
	s.say("analytics-svc token: idtyp %s · azp %s · oid %s · roles %s · aud %s",
		c.IDType, c.Client(), c.ObjectID, strings.Join(c.Roles, ", "), strings.Join(c.Audience, ", "))
	s.say("two Token calls, %d request to the token endpoint (cached, renewed ahead of expiry)", p.Requests(idp.EndpointToken)-before)
	if c.ObjectID == idp.AmitObjectID {
		return fmt.Errorf("%w: the service's token names Amit", errUnexpected)
	}

	// The role trusts exactly this service principal (its sub).
	sts.AddRole(ststest.Role{ARN: analyticsS3Role, Trust: []ststest.Condition{
		{Op: ststest.StringEquals, Key: ststest.ClaimKey(p.Issuer(), "sub"), Values: []string{c.Subject}},
	}})
	// A client-credentials flow returns no ID token; its access token was
	// requested for AWS's audience, so that is the one STS sees.
	creds, err := federation.NewProvider(sts.Client(), analyticsS3Role, svc, func(o *federation.Options) {
		o.TokenKind = federation.AccessToken
		o.Audit = s.auditFor("analytics-svc")
	})
	if err != nil {
		return err
	}
	defer creds.Close() // stops the background renewal
	return s.showCredentials(ctx, sts, creds, "S3 credentials")
}

// amitAWS gets Amit's own AWS credentials for the role the bank policy
// maps his group to, from the ID token of his lending-web session.
func (s *story) amitAWS(ctx context.Context, sts *ststest.Server) error {
	role, err := federation.RoleFor(s.policy.Decide(s.amitID), s.amitID, "")
	if err != nil {
		return err
	}
	s.say("policy: mapping %s grants Amit %s for %s", role.Mapping, role.ARN, role.Duration)
	// The trust policy itself must enforce the mapping: anyone holding a
	// token can ask STS for any role, and IAM has no groups condition.
	sts.AddRole(ststest.Role{ARN: role.ARN, Trust: []ststest.Condition{
		{Op: ststest.StringEquals, Key: ststest.ClaimKey(s.idp.Issuer(), "sub"), Values: []string{s.amitID.Subject}},
	}})
	audit := func(o *federation.Options) { o.Audit = s.auditFor("lending-web") }

	// The grant asks for session tags and a source identity. STS takes
	// them only from the token's https://aws.amazon.com/tags and
	// source_identity claims, which the embedded provider does not emit
	// (Entra can, through a claims mapping policy), so the provider
	// refuses before calling STS rather than get an untagged session.
	tagged, err := federation.NewProvider(sts.Client(), role.ARN, s.amit.tokens, role.Options, audit)
	if err != nil {
		return err
	}
	defer tagged.Close()
	_, err = tagged.Retrieve(ctx)
	if !errors.Is(err, federation.ErrSessionAttributes) {
		return fmt.Errorf("%w: STS with session tags the token lacks: %v", errUnexpected, err)
	}
	s.say("with the grant's session tags: refused before calling STS (%s): the token carries no AWS tag claims", idbridge.ReasonOf(err))

	role.SessionTags, role.SourceIdentity = nil, ""
	creds, err := federation.NewProvider(sts.Client(), role.ARN, s.amit.tokens, role.Options, audit)
	if err != nil {
		return err
	}
	defer creds.Close()
	return s.showCredentials(ctx, sts, creds, "without them, Amit's ID token →")
}

// showCredentials retrieves credentials and prints the session they
// belong to, never the secret key or session token.
func (s *story) showCredentials(ctx context.Context, sts *ststest.Server, p *federation.Provider, what string) error {
	creds, err := p.Retrieve(ctx)
	if err != nil {
		return err
	}
	sess, ok := sts.Session(creds.AccessKeyID)
	if !ok {
		return fmt.Errorf("%w: STS does not know the credentials it issued", errUnexpected)
	}
	// creds.Expires is when the cache renews them (the expiry minus the
	// renewal window); the session itself lasts until sess.Expiration.
	s.say("%s %s until %s (secret key not shown)", what, sess.AssumedRoleARN, sess.Expiration.Local().Format(time.TimeOnly))
	return nil
}

// claimsOf validates a token for audience, as the resource it was issued
// for would, to show what it says.
func (s *story) claimsOf(ctx context.Context, tok, audience string) (*idbridge.Claims, error) {
	p := s.idp
	v, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: p.Issuer(), JWKSURL: p.JWKSURL()}}
		o.Audiences = []string{audience}
		o.Algorithms = []string{"RS256"}
		o.Tenants = []string{bankTenantID}
		o.HTTPClient = p.HTTPClient()
	})
	if err != nil {
		return nil, err
	}
	defer v.Close()
	return v.Validate(ctx, tok)
}

// onPrem is step 5: the core banking system maps directory groups to roles.
func (s *story) onPrem(ctx context.Context) error {
	s.step(5, "Core banking (on-prem) binds to the directory and maps AD groups to its roles")
	if !s.cfg.ldap {
		s.say("skipped (-ldap=false)")
		return nil
	}
	dir, err := os.MkdirTemp("", "idbridge-demo-ldap-")
	if err != nil {
		return err
	}
	s.onClose(func() { os.RemoveAll(dir) })
	srv, err := ldaptest.NewServer(dir)
	if errors.Is(err, ldaptest.ErrNotInstalled) {
		s.say("skipped: OpenLDAP slapd is not installed (apt-get install slapd ldap-utils)")
		return nil
	}
	if err != nil {
		return err
	}
	s.onClose(srv.Stop)

	// The core banking system searches as a read-only service account
	// over LDAPS and checks users' passwords with a bind of their own.
	d, err := rbacldap.NewDirectory(srv.LDAPSURL, func(o *rbacldap.Options) {
		o.BindDN, o.BindPassword, o.BaseDN = srv.BindDN, srv.BindPassword, srv.BaseDN
		o.TLSConfig = srv.TLSConfig()
		o.Issuer = corpADIssuer
		o.GroupsTTL = -1 // no cache: see GroupSources below
	})
	if err != nil {
		return err
	}
	s.onClose(func() { d.Close() })
	// The directory is the authority for on-prem users: every decision
	// asks it again (GroupSources), so a removal takes effect at once.
	cbs, err := loadPolicy(s.policyRaw, s.policyName, s.idp.Issuer(), func(o *rbac.Options) {
		o.GroupSources = map[string]rbac.GroupSource{"corp-ad": d}
		o.Audit = s.auditFor("cbs")
	})
	if err != nil {
		return err
	}
	s.say("directory: slapd at %s, seeded bank directory", srv.LDAPSURL)

	claims, err := d.Authenticate(ctx, ldaptest.UserAmit, ldaptest.PasswordAmit)
	if err != nil {
		return err
	}
	s.say("%s binds with his directory password → groups %s (Branch_Staff through Lending_RM)", ldaptest.UserAmit, cnList(claims.Groups))
	dec := cbs.DecideContext(ctx, claims)
	if !dec.OK() {
		return fmt.Errorf("%w: cbs denies amit.r: %v", errUnexpected, dec.Err())
	}
	s.say("cbs decision: roles %s · cbs:account:read %v · cbs:loan:approve %v (%s)",
		strings.Join(dec.Roles(), ", "), dec.Allowed("cbs:account:read"), dec.Allowed("cbs:loan:approve"),
		idbridge.ReasonOf(dec.Check("cbs:loan:approve")))

	// The directory refuses every bind of a locked account, and the answer
	// is the one a wrong password gets: a guesser learns nothing.
	_, err = d.Authenticate(ctx, ldaptest.UserLeo, ldaptest.PasswordLeo)
	if !errors.Is(err, rbacldap.ErrInvalidCredentials) {
		return fmt.Errorf("%w: leo.v's bind: %v", errUnexpected, err)
	}
	s.say("%s, a leaver, binds with his correct password → refused: %v (reason %s), as for a wrong password", ldaptest.UserLeo, err, idbridge.ReasonOf(err))
	return nil
}

// refresh is step 6: the access token is renewed with the refresh token.
func (s *story) refresh(ctx context.Context) error {
	s.step(6, "The session renews its access token with the refresh token, which rotates")
	old, err := s.amit.tokens.Token(ctx)
	if err != nil {
		return err
	}
	oldRT, err := s.amit.store.Load(ctx, s.amit.key)
	if err != nil {
		return err
	}
	before := s.idp.Requests(idp.EndpointToken)
	// Invalidate stands in for the token reaching its refresh window; the
	// Cache renews on its own, in the background, ahead of expiry.
	s.amit.tokens.Invalidate()
	tok, err := s.amit.tokens.Token(ctx)
	if err != nil {
		return err
	}
	newRT, err := s.amit.store.Load(ctx, s.amit.key)
	if err != nil {
		return err
	}
	s.say("new access token until %s (different from the old one: %v)", tok.Expiry.Format(time.TimeOnly), tok.AccessToken != old.AccessToken)
	s.say("refresh token rotated: %v · it went to the token endpoint only (%d request), never to an API",
		newRT.Reveal() != oldRT.Reveal(), s.idp.Requests(idp.EndpointToken)-before)
	if _, err = s.expect(ctx, s.amit, http.MethodGet, s.lending, "/loans/L-1001", http.StatusOK); err != nil {
		return err
	}
	return s.sharedRefresh(ctx) // story_shared.go
}

// moverAndLeaver is step 7: group changes at the IdP change decisions.
func (s *story) moverAndLeaver(ctx context.Context) error {
	s.step(7, "Mover and leaver: changes at the identity provider change every decision")
	// Mover: Amit becomes a credit officer. Tokens are snapshots, so the
	// change arrives with his next token, at the latest when the current
	// one expires.
	if err := s.idp.SetGroups(idp.UserAmit, []string{groupCreditOffer}); err != nil {
		return err
	}
	s.amit.tokens.Invalidate()
	s.say("mover: governance moves Amit from Lending_RM to Credit_Officers; his next token is refreshed")
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/loans/L-1001", http.StatusOK},
		{http.MethodPost, "/loans/L-1001/approve", http.StatusOK},
		{http.MethodGet, "/kyc/C-2231", http.StatusForbidden},
	} {
		if _, err := s.expect(ctx, s.amit, c.method, s.lending, c.path, c.want); err != nil {
			return err
		}
	}

	// Leaver: Leo, a relationship manager, signed in this morning.
	leo, _, err := s.signInAs(ctx, idp.UserLeo, idp.LeoPassword)
	if err != nil {
		return err
	}
	s.say("leaver: Leo, a relationship manager, is signed in")
	if _, err := s.expect(ctx, leo, http.MethodGet, s.lending, "/loans/L-1001", http.StatusOK); err != nil {
		return err
	}
	// HR marks him a leaver first: the policy's deny rule revokes every
	// route for a token that carries HR_Leavers, whatever else it grants.
	if err := s.idp.SetGroups(idp.UserLeo, []string{groupLendingRM, groupHRLeavers}); err != nil {
		return err
	}
	leo.tokens.Invalidate()
	s.say("HR adds Leo to HR_Leavers; his next token carries it")
	if _, err := s.expect(ctx, leo, http.MethodGet, s.lending, "/loans/L-1001", http.StatusForbidden); err != nil {
		return err
	}
	// Then his account is disabled: the refresh token stops working, so no
	// new access token is issued anywhere.
	if err := s.idp.DisableUser(idp.UserLeo); err != nil {
		return err
	}
	leo.tokens.Invalidate()
	_, err = leo.tokens.Token(ctx)
	if !errors.Is(err, token.ErrSignInRequired) {
		return fmt.Errorf("%w: Leo's refresh after he was disabled: %v", errUnexpected, err)
	}
	s.say("the IdP disables Leo → refresh fails, sign-in required (idbridge.Reason: %s)", idbridge.ReasonOf(err))
	s.say("       %v", err)
	return nil
}

// expect calls the API as the session's user, prints the answer and checks
// its status.
func (s *story) expect(ctx context.Context, sess *session, method string, a *api, path string, want int) (answer, error) {
	ans, err := call(ctx, sess.client, method, a.url+path)
	if err != nil {
		return ans, err
	}
	s.say("%-4s %-38s → %s", method, a.name+" "+path, ans.describe())
	for _, l := range a.takeLog() {
		s.say("       %s", l)
	}
	if ans.status != want {
		return ans, fmt.Errorf("%w: %s %s: status %d, want %d", errUnexpected, method, path, ans.status, want)
	}
	return ans, nil
}

// names turns group object IDs into the names the policy gives them.
func names(groups []string) string {
	out := make([]string, 0, len(groups))
	for _, g := range groups {
		if n, ok := groupNames[g]; ok {
			g = n
		}
		out = append(out, g)
	}
	return strings.Join(out, ", ")
}

// cnList shortens group DNs (normalized to lower case) to the directory's
// group names for display.
func cnList(dns []string) string {
	known := map[string]string{}
	for _, cn := range []string{ldaptest.GroupCBSViewOnly, ldaptest.GroupLendingRM, ldaptest.GroupLoanApprover,
		ldaptest.GroupBranchStaff, ldaptest.GroupFinance} {
		known[strings.ToLower(cn)] = cn
	}
	out := make([]string, 0, len(dns))
	for _, dn := range dns {
		cn, _, _ := strings.Cut(strings.TrimPrefix(strings.ToLower(dn), "cn="), ",")
		if n, ok := known[cn]; ok {
			cn = n
		}
		out = append(out, cn)
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}
