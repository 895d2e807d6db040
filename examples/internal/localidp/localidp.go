package localidp

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/oauth2"

	"github.com/idbridge/idbridge/integration/idp"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/token"
)

// The bank's Entra tenant and groups, exactly as
// examples/policies/bank.yaml declares them, so that the policy file needs
// no change but its issuer URL.
const (
	TenantID            = "9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c"
	EntraIssuer         = "https://login.microsoftonline.com/" + TenantID + "/v2.0"
	GroupLendingRM      = "4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13"
	GroupCreditOfficers = "a83e1f52-6c4b-47d9-8e20-c5b9d4a7f261"
	GroupHRLeavers      = "e2d94c07-1b5a-4f68-a3c9-7f0e8b2d5a46"
	// AnalyticsServiceID is the object ID of the analytics-svc service
	// principal: the sub of its app-only tokens, which the fake STS role
	// trusts (see [IdP.StartSTS]).
	AnalyticsServiceID = "5a7e0c31-9d42-4b6f-8e15-0c3d2b1a9f70"
)

// Users are the scenario users who can sign in, in the order [IdP.Announce]
// lists them: amit (Lending_RM, MFA), priya (Credit_Officers, password
// only) and leo (a leaver: still active, but HR added him to HR_Leavers).
var Users = []string{idp.UserAmit, idp.UserPriya, idp.UserLeo}

var (
	passwords = map[string]string{idp.UserAmit: idp.AmitPassword, idp.UserPriya: idp.PriyaPassword, idp.UserLeo: idp.LeoPassword}
	secrets   = map[string]token.Secret{
		idp.ClientLendingWeb: idp.LendingWebSecret, idp.ClientLendingAPI: idp.LendingAPISecret,
		idp.ClientAnalyticsSvc: idp.AnalyticsSvcSecret,
	}
	roles = map[string]string{
		idp.UserAmit:  "Lending_RM, signed in with MFA (amit.r@bank.example)",
		idp.UserPriya: "Credit_Officers, password only (priya.s@bank.example)",
		idp.UserLeo:   "Lending_RM + HR_Leavers: a leaver (leo.v@bank.example)",
	}
)

// ErrUnknownUser is returned for a user name that is not in [Users].
var ErrUnknownUser = errors.New("localidp: unknown user")

// IdP is the embedded OpenID provider playing the bank's Entra tenant. Its
// issuer is https://127.0.0.1:<port> with a self-signed certificate that
// [idp.Provider.HTTPClient] trusts. Close it when done.
type IdP struct {
	*idp.Provider
}

var quietOnce sync.Once

// Start starts the provider on a random loopback port. The scenario users
// get the groups of bank.yaml; Leo's account stays enabled, so that the
// policy's leaver rule, not the provider, is what refuses him, and his
// e-mail is that of the seeded directory's leaver (leo.v).
//
// zitadel, inside the provider, logs every route at INFO to the default
// slog logger; Start makes that logger warnings-only (JSON on stderr,
// labelled embedded-idp), once per process.
func Start() (*IdP, error) {
	quietOnce.Do(func() {
		slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).
			With("log", "embedded-idp"))
	})
	p, err := idp.Start(func(o *idp.Options) {
		o.TenantID = TenantID
		for i := range o.Users {
			u := &o.Users[i]
			switch u.Username {
			case idp.UserAmit:
				u.Groups = []string{GroupLendingRM}
			case idp.UserPriya:
				u.Groups = []string{GroupCreditOfficers}
			case idp.UserLeo:
				u.Groups = []string{GroupLendingRM, GroupHRLeavers}
				u.Name, u.Email, u.Disabled = "Leo V", "leo.v@bank.example", false
			}
		}
		for i := range o.Clients {
			if o.Clients[i].ID == idp.ClientAnalyticsSvc {
				o.Clients[i].ObjectID = AnalyticsServiceID
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return &IdP{Provider: p}, nil
}

// Issuers is the provider as a validator's trusted issuer: jwks.Entra
// cannot name it (its issuer has no tenant segment), so the JWKS URL is
// given directly.
func (p *IdP) Issuers() []jwks.Issuer {
	return []jwks.Issuer{{Issuer: p.Issuer(), JWKSURL: p.JWKSURL()}}
}

// Client returns the registration of a scenario confidential client
// (idp.ClientLendingAPI, idp.ClientAnalyticsSvc, idp.ClientLendingWeb)
// with its secret, as token.ClientFromEnvironment would build it from
// AZURE_CLIENT_ID and AZURE_CLIENT_SECRET.
func (p *IdP) Client(id string) token.Client {
	return token.Client{ID: id, TokenURL: p.TokenURL(), Auth: token.ClientSecretBasic(secrets[id])}
}

// TokenOptions points a token flow at the provider: its HTTP client trusts
// the self-signed certificate.
func (p *IdP) TokenOptions(audit slog.Handler) func(*token.Options) {
	return func(o *token.Options) {
		o.HTTPClient = p.HTTPClient()
		o.Audit = audit
	}
}

// UserToken signs user in to the lending web app (authorization code flow
// with PKCE, the browser played by idp.Provider.Login) and returns the
// access token issued for scopes, such as "api://lending/Loans.Read". All
// scopes must name one resource, which becomes the token's aud.
func (p *IdP) UserToken(ctx context.Context, user string, scopes ...string) (string, error) {
	password, ok := passwords[user]
	if !ok {
		return "", fmt.Errorf("%w %q", ErrUnknownUser, user)
	}
	cfg := &oauth2.Config{
		ClientID: idp.ClientLendingWeb, ClientSecret: idp.LendingWebSecret,
		Endpoint: p.Endpoint(), RedirectURL: idp.ScenarioRedirectURI,
		Scopes: append([]string{"openid", "profile"}, scopes...),
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, p.HTTPClient())
	verifier, state := oauth2.GenerateVerifier(), rand.Text()
	callback, err := p.Login(ctx, cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)), user, password)
	if err != nil {
		return "", fmt.Errorf("localidp: %s signs in: %w", user, err)
	}
	if callback.Query().Get("state") != state {
		return "", fmt.Errorf("localidp: %s signs in: state mismatch", user)
	}
	tok, err := cfg.Exchange(ctx, callback.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		return "", fmt.Errorf("localidp: redeeming %s's code: %w", user, err)
	}
	return tok.AccessToken, nil
}

// WriteJWKS saves the provider's current JWK Set to dir/jwks.json and
// returns its path: the static key set an on-prem service that cannot
// reach the IdP is given (and must be given again after a key rotation).
func (p *IdP) WriteJWKS(ctx context.Context, dir string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.JWKSURL(), nil)
	if err != nil {
		return "", err
	}
	resp, err := p.HTTPClient().Do(req)
	if err != nil {
		return "", fmt.Errorf("localidp: fetching the JWKS: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("localidp: fetching the JWKS: status %d: %v", resp.StatusCode, err)
	}
	path := filepath.Join(dir, "jwks.json")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		return "", fmt.Errorf("localidp: %w", err)
	}
	return path, nil
}

// Hint is what [IdP.Announce] tells a person about a local run.
type Hint struct {
	App         string   // the command's name
	URL         string   // where the app listens
	Scopes      []string // scopes of the users' tokens
	Notes       []string // lines about the app's own local set-up
	Try         []string // commands to try; $AMIT, $PRIYA and $LEO are the users' tokens
	PrintTokens bool     // print the tokens (the person asked: -print-token)
}

// Announce writes the banner of a local run to w (stdout): where the
// provider is, who can sign in and what to try. With h.PrintTokens it signs
// each user in and prints "export AMIT='<token>'" lines, tokens valid while
// this process runs; without it, it says how to get them. Tokens go to w
// only, never to a log.
func (p *IdP) Announce(ctx context.Context, w io.Writer, h Hint) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: local mode, listening on %s\n", h.App, h.URL)
	fmt.Fprintf(&b, "  identity provider: embedded OpenID provider at %s playing Entra tenant %s\n", p.Issuer(), TenantID)
	for _, n := range h.Notes {
		fmt.Fprintf(&b, "  %s\n", n)
	}
	for _, u := range Users {
		if !h.PrintTokens {
			fmt.Fprintf(&b, "  user %-5s %s\n", u, roles[u])
			continue
		}
		tok, err := p.UserToken(ctx, u, h.Scopes...)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "export %s='%s'  # %s\n", strings.ToUpper(u), tok, roles[u])
	}
	if !h.PrintTokens {
		fmt.Fprintf(&b, "  bearer tokens: restart with -print-token to have them printed here as export lines\n")
	}
	for _, t := range h.Try {
		fmt.Fprintf(&b, "  try: %s\n", t)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
