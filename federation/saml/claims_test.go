package saml_test

import (
	"errors"
	"testing"
	"time"

	"github.com/idbridge/idbridge/federation/saml"
	"github.com/idbridge/idbridge/federation/saml/samltest"
)

func TestClaimsMapping(t *testing.T) {
	idp, _ := testIdP(t)
	u := amit
	u.Groups = nil
	u.MFA = false
	u.Roles = []string{"CBS.Viewer"}
	u.Extra = map[string][]string{
		saml.AttrGroupsLink: {"https://graph.windows.net/" + tenant + "/users/" + amitOID + "/getMemberObjects"},
		saml.AttrWIDs:       {"b79fbf4d-3ef9-4689-8143-76b194e85509"},
	}
	v := newValidator(t, func(o *saml.Options) {
		o.AllowIdPInitiated = true
		o.ClaimsIssuer = "https://login.microsoftonline.com/{tenantid}/v2.0"
	})
	r := request()
	r.InResponseTo = ""
	a, err := v.Validate(ctx, samltest.Encode(idp.Response(u, r)))
	if err != nil {
		t.Fatal(err)
	}
	c := a.Claims
	if c.Issuer != "https://login.microsoftonline.com/"+tenant+"/v2.0" {
		t.Errorf("iss %s", c.Issuer)
	}
	if !c.GroupsOverage() || len(c.Groups) != 0 {
		t.Errorf("groups.link did not become overage: %v %v", c.GroupsOverage(), c.Groups)
	}
	if !c.HasRole("CBS.Viewer") || len(c.WIDs) != 1 {
		t.Errorf("roles %v wids %v", c.Roles, c.WIDs)
	}
	if len(c.AMR) != 1 || c.AMR[0] != "pwd" {
		t.Errorf("amr %v, want [pwd] without multipleauthn", c.AMR)
	}
	if c.ACR != "urn:oasis:names:tc:SAML:2.0:ac:classes:Password" || c.SessionID != a.SessionIndex {
		t.Errorf("acr %q sid %q", c.ACR, c.SessionID)
	}
}

func TestMemoryReplayCacheIsBounded(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := saml.NewMemoryReplayCache(2, func() time.Time { return now })
	if err := c.Consume("a", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := c.Consume("a", now.Add(time.Minute)); !errors.Is(err, saml.ErrReplayed) {
		t.Fatalf("second use: %v", err)
	}
	if err := c.Consume("b", now.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	// Full of live IDs: refuse rather than forget one.
	if err := c.Consume("c", now.Add(time.Minute)); !errors.Is(err, saml.ErrIdPUnavailable) {
		t.Fatalf("full: %v", err)
	}
	// Once "a" expires its slot is reused, and "a" is new again.
	now = now.Add(90 * time.Second)
	if err := c.Consume("c", now.Add(time.Minute)); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if c.Len() != 2 {
		t.Fatalf("Len %d", c.Len())
	}
}
