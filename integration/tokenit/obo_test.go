package tokenit

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/integration/idp"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/token"
)

// accessTokenValidator verifies the provider's access tokens for any of
// audiences, in the scenario tenant.
func accessTokenValidator(t *testing.T, p *idp.Provider, audiences ...string) *jwks.Validator {
	t.Helper()
	v, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: p.Issuer(), JWKSURL: p.JWKSURL()}}
		o.Audiences = audiences
		o.Algorithms = []string{"RS256"}
		o.Tenants = []string{idp.ScenarioTenantID}
		o.HTTPClient = p.HTTPClient()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

func lendingAPI(p *idp.Provider) token.Client {
	return token.Client{ID: idp.ClientLendingAPI, TokenURL: p.TokenURL(), Auth: token.ClientSecretBasic(idp.LendingAPISecret)}
}

// TestOnBehalfOf drives Entra's on-behalf-of request (jwt-bearer grant,
// requested_token_use=on_behalf_of) from token.NewOnBehalfOf against the
// provider: lending-api, called with amit's token, calls downstream APIs as
// amit.
func TestOnBehalfOf(t *testing.T) {
	p := idp.StartTest(t)
	ctx := testContext(t)
	// amit signs in to lending-web for the lending API (aud idp.LendingAppID, requested as api://lending,
	// lending-api's resource): the token lending-api receives.
	incoming := signIn(t, p, idp.UserAmit, idp.AmitPassword, idp.ResourceLending+"/Loans.Read").AccessToken
	if c := claims(t, incoming); !hasAud(c, idp.LendingAppID) || c["oid"] != idp.AmitObjectID {
		t.Fatalf("incoming token claims %v", c)
	}
	x, err := token.NewOnBehalfOf(lendingAPI(p), exchangeOpts(p, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	v := accessTokenValidator(t, p, idp.CBSAppID, idp.AnalyticsAppID)
	p.ResetRequests()

	// The steps run in order and share x's cache: wantRequests is the
	// provider's token-endpoint count after each step.
	var first *token.Token
	steps := []struct {
		name         string
		scopes       []string
		wantAud      string
		wantScp      []string
		wantRequests int64
		wantCached   bool // after the first step: want the first step's very token
	}{
		{"cbs default", []string{idp.ResourceCBS + "/.default"}, idp.CBSAppID, []string{"user_impersonation"}, 1, false},
		{"same token and scopes from the cache", []string{idp.ResourceCBS + "/.default"}, idp.CBSAppID, []string{"user_impersonation"}, 1, true},
		{"same scope set, duplicated", []string{idp.ResourceCBS + "/.default", idp.ResourceCBS + "/.default"}, idp.CBSAppID, []string{"user_impersonation"}, 1, true},
		{"other scope on the same resource", []string{idp.ResourceCBS + "/Accounts.Read"}, idp.CBSAppID, []string{"Accounts.Read"}, 2, false},
		{"other resource", []string{idp.ResourceAnalytics + "/Reports.Read"}, idp.AnalyticsAppID, []string{"Reports.Read"}, 3, false},
	}
	for i, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			down, err := x.Token(ctx, incoming, st.scopes)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Requests(idp.EndpointToken); got != st.wantRequests {
				t.Fatalf("token endpoint requests = %d, want %d", got, st.wantRequests)
			}
			if i == 0 {
				first = down
			} else if (down == first) != st.wantCached {
				t.Fatalf("served the first step's token: %v, want %v", down == first, st.wantCached)
			}
			if down.AccessToken == incoming {
				t.Fatal("downstream token is the incoming token")
			}
			c, err := v.Validate(ctx, down.AccessToken)
			if err != nil {
				t.Fatalf("downstream token does not validate: %v", err)
			}
			if c.ObjectID != idp.AmitObjectID || c.TenantID != idp.ScenarioTenantID || c.AuthorizedParty != idp.ClientLendingAPI ||
				!slices.Equal(c.Audience, []string{st.wantAud}) || !slices.Equal(c.Scopes, st.wantScp) || c.IDType != "user" {
				t.Fatalf("downstream claims oid %q tid %q azp %q aud %v scp %v idtyp %q", c.ObjectID, c.TenantID, c.AuthorizedParty, c.Audience, c.Scopes, c.IDType)
			}
		})
	}

	// A token amit got for lending-web itself (aud lending-web) was not
	// issued for lending-api: the provider refuses the on-behalf-of request.
	t.Run("incoming token for another client", func(t *testing.T) {
		foreign := signIn(t, p, idp.UserAmit, idp.AmitPassword, "openid").AccessToken
		if c := claims(t, foreign); !hasAud(c, idp.ClientLendingWeb) || hasAud(c, idp.LendingAppID) {
			t.Fatalf("foreign token claims %v", c)
		}
		p.ResetRequests()
		down, err := x.Token(ctx, foreign, []string{idp.ResourceCBS + "/.default"})
		if down != nil || err == nil {
			t.Fatal("token issued for another client was exchanged")
		}
		var oe *token.Error
		if !errors.Is(err, token.ErrSignInRequired) || !errors.As(err, &oe) || oe.Code != "invalid_grant" || oe.Status != 400 {
			t.Fatalf("err = %v", err)
		}
		if got := idbridge.ReasonOf(err); got != "revoked" {
			t.Fatalf("Reason = %q, want %q", got, "revoked")
		}
		if p.Requests(idp.EndpointToken) != 1 {
			t.Fatalf("%d token requests, want 1", p.Requests(idp.EndpointToken))
		}
		for _, secret := range []string{foreign, idp.LendingAPISecret} {
			if strings.Contains(err.Error(), secret) || strings.Contains(oe.Message, secret) {
				t.Fatal("error leaks the incoming token or the client secret")
			}
		}
	})
}
