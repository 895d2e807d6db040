package discovery

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestIssuerMatches(t *testing.T) {
	for _, tt := range []struct {
		doc, issuer string
		want        bool
	}{
		{"https://idp.example", "https://idp.example", true},
		{"https://idp.example/", "https://idp.example", false},
		{"https://evil.example", "https://idp.example", false},
		{"https://login.microsoftonline.com/{tenantid}/v2.0", "https://login.microsoftonline.com/common/v2.0", true},
		{"https://login.microsoftonline.com/{tenantid}/v2.0", "https://login.microsoftonline.com/organizations/v2.0", true},
		{"https://login.microsoftonline.com/{tenantid}/v2.0", "https://login.microsoftonline.com/Consumers/v2.0", true},
		{"https://sts.windows.net/{tenantid}/", "https://login.microsoftonline.com/common", true},
		{"https://sts.windows.net/{tenantid}/", "https://login.microsoftonline.com/common/v2.0", false},
		{"https://login.microsoftonline.us/{tenantid}/v2.0", "https://login.microsoftonline.us/common/v2.0", true},
		// A template is not accepted for a single tenant, another host,
		// another path, or a segment that is not the tenant's.
		{"https://login.microsoftonline.com/{tenantid}/v2.0", "https://login.microsoftonline.com/contoso.com/v2.0", false},
		{"https://evil.example/{tenantid}/v2.0", "https://login.microsoftonline.com/common/v2.0", false},
		{"https://login.microsoftonline.com/{tenantid}/v1.0", "https://login.microsoftonline.com/common/v2.0", false},
		{"https://login.microsoftonline.com/{tenantid}/v2.0", "https://login.microsoftonline.com/x/common/v2.0", false},
		{"https://idp.example/{tenantid}", "https://idp.example/commonwealth", false},
		{"https://u@idp.example/{tenantid}", "https://u@idp.example/common", false},
	} {
		if got := IssuerMatches(tt.doc, tt.issuer); got != tt.want {
			t.Errorf("IssuerMatches(%q, %q) = %v, want %v", tt.doc, tt.issuer, got, tt.want)
		}
	}
}

func TestRead(t *testing.T) {
	const issuer = "https://idp.example/"
	var asked string
	body := `{"issuer":"https://idp.example/","token_endpoint":"https://idp.example/token","jwks_uri":"https://idp.example/keys","grant_types_supported":["client_credentials"]}`
	get := func(_ context.Context, u string) ([]byte, error) { asked = u; return []byte(body), nil }
	d, err := Read(context.Background(), issuer, get)
	if err != nil {
		t.Fatal(err)
	}
	if asked != "https://idp.example/.well-known/openid-configuration" {
		t.Errorf("asked %q", asked)
	}
	if d.TokenURL != "https://idp.example/token" || d.JWKSURL != "https://idp.example/keys" || d.GrantTypes[0] != "client_credentials" {
		t.Errorf("document %+v", d)
	}

	body = `{"issuer":"https://evil.example/?secret=s3cr3t"}`
	if _, err := Read(context.Background(), issuer, get); !errors.Is(err, ErrIssuerMismatch) || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("mismatch: %v", err)
	}
	body = "<html>"
	if _, err := Read(context.Background(), issuer, get); !errors.Is(err, ErrMalformed) {
		t.Errorf("not JSON: %v", err)
	}
	boom := errors.New("boom")
	if _, err := Read(context.Background(), issuer, func(context.Context, string) ([]byte, error) { return nil, boom }); err != boom {
		t.Errorf("getter error: %v", err)
	}
}
