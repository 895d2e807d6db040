package saml_test

import (
	"errors"
	"testing"

	"github.com/idbridge/idbridge/federation/saml"
	"github.com/idbridge/idbridge/federation/saml/samltest"
	"github.com/idbridge/idbridge/internal/reason"
)

func TestValidateEntraAssertion(t *testing.T) {
	idp, _ := testIdP(t)
	v := newValidator(t)
	resp := samltest.Encode(idp.Response(amit, request()))
	a, err := v.Validate(ctx, resp, "id-4f2b9c")
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	c := a.Claims
	checks := []struct{ name, got, want string }{
		{"iss", c.Issuer, "https://sts.windows.net/" + tenant + "/"},
		{"sub", c.Subject, "amit.r@bank.example"},
		{"oid", c.ObjectID, amitOID},
		{"tid", c.TenantID, tenant},
		{"name", c.Name, "Amit R"},
		{"preferred_username", c.PreferredUsername, "amit.r@bank.example"},
		{"email", c.Email, "amit.r@bank.example"},
		{"jti", c.ID, a.ID},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %q, want %q", ck.name, ck.got, ck.want)
		}
	}
	if !c.InGroup(lendRM) {
		t.Errorf("groups = %v, want %s", c.Groups, lendRM)
	}
	if len(c.AMR) != 2 || c.AMR[0] != "pwd" || c.AMR[1] != "mfa" {
		t.Errorf("amr = %v, want [pwd mfa]", c.AMR)
	}
	if len(c.Audience) != 1 || c.Audience[0] != spEntity {
		t.Errorf("aud = %v", c.Audience)
	}
	if c.ExpiresAt.IsZero() || c.ExpiresAt.Unix() != a.NotOnOrAfter.Unix() {
		t.Errorf("exp = %v, want %v", c.ExpiresAt, a.NotOnOrAfter)
	}
	if raw, ok := c.Get(saml.AttrObjectID); !ok || string(raw) != `["`+amitOID+`"]` {
		t.Errorf("Get(objectidentifier) = %s, %v", raw, ok)
	}
	if a.SessionIndex == "" || a.NameID != "amit.r@bank.example" {
		t.Errorf("SessionIndex %q NameID %q", a.SessionIndex, a.NameID)
	}
	// One-time use.
	_, err = v.Validate(ctx, resp, "id-4f2b9c")
	if !errors.Is(err, saml.ErrReplayed) || reason.Of(err) != reason.Revoked {
		t.Fatalf("replay: %v (reason %q), want ErrReplayed", err, reason.Of(err))
	}
}
