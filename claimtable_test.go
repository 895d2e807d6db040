package idbridge_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/idbridge/idbridge"
)

// TestClaimTable: one mapping from IdP claim names to typed claims, shared
// by every reader: scp and scope are the scopes, azp, appid and client_id
// the client, and a payload whose names disagree is malformed.
func TestClaimTable(t *testing.T) {
	tests := []struct {
		payload       string
		scopes        []string
		client, field string
		wantMalformed bool
	}{
		{`{"scp":"a b"}`, []string{"a", "b"}, "", "", false},
		{`{"scope":"a b","client_id":"c"}`, []string{"a", "b"}, "c", "", false},
		{`{"scope":["a"],"azp":"c","client_id":"c"}`, []string{"a"}, "c", "", false},
		{`{"scp":"b a","scope":"a b"}`, []string{"b", "a"}, "", "", false},
		{`{"appid":"v1","client_id":"v1"}`, nil, "v1", "", false},
		{`{"scp":"a","scope":"b"}`, nil, "", "", true},
		{`{"azp":"a","client_id":"b"}`, nil, "", "", true},
		{`{"azp":"a","appid":"b"}`, nil, "", "", true},
		{`{"scope":7}`, nil, "", "", true},
		{`{"client_id":["c"]}`, nil, "", "", true},
	}
	for _, tt := range tests {
		c, err := idbridge.ParseClaims([]byte(tt.payload))
		if tt.wantMalformed {
			if !errors.Is(err, idbridge.ErrMalformed) {
				t.Errorf("%s: %v, want malformed", tt.payload, err)
			}
			continue
		}
		if err != nil || !slices.Equal(c.Scopes, tt.scopes) || c.Client() != tt.client {
			t.Errorf("%s: scopes %q client %q, %v", tt.payload, c.Scopes, c.Client(), err)
		}
	}
	c, _ := idbridge.ParseClaims([]byte(`{"scope":"profile","client_id":"svc","roles":["R"]}`))
	for name, want := range map[string]string{"scp": "Scopes", "scope": "Scopes", "azp": "AuthorizedParty", "client_id": "ClientID", "roles": "Roles", "exp": "ExpiresAt"} {
		r, ok := idbridge.LookupClaim(name)
		if !ok || r.Field() != want || r.Name() != name {
			t.Errorf("LookupClaim(%q) = %q %v", name, r.Field(), ok)
		}
	}
	if r, _ := idbridge.LookupClaim("scp"); !r.Multi() || !slices.Equal(r.Strings(c), []string{"profile"}) {
		t.Errorf("scp reads %q", r.Strings(c))
	}
	if r, _ := idbridge.LookupClaim("client_id"); r.Multi() || r.String(c) != "svc" {
		t.Errorf("client_id reads %q", r.String(c))
	}
	if _, ok := idbridge.LookupClaim("department"); ok {
		t.Error("an untyped claim was found")
	}
	if n := len(idbridge.TypedClaimNames()); n < 30 {
		t.Errorf("%d typed claims", n)
	}
}

// TestNilClaims: every Claims method answers for nil claims (what a failed
// validation returns) without panicking, and the checks that grant
// something deny.
func TestNilClaims(t *testing.T) {
	var c *idbridge.Claims
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"HasScope", c.HasScope("orders.read"), false},
		{"HasScope empty", c.HasScope(""), false},
		{"HasRole", c.HasRole("Admin"), false},
		{"InGroup", c.InGroup("4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13"), false},
		{"Client", c.Client(), ""},
		{"GroupsOverage", c.GroupsOverage(), false},
		{"IDTokenClaim", c.IDTokenClaim(), ""},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s on nil claims = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	if v, ok := c.Get("sub"); ok || v != nil {
		t.Errorf("Get on nil claims = %s, %v", v, ok)
	}
	if b, err := c.MarshalJSON(); err != nil || string(b) != "null" {
		t.Errorf("MarshalJSON on nil claims = %s, %v", b, err)
	}
}
