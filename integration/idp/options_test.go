package idp_test

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/idbridge/idbridge/integration/idp"
)

func TestOptionsValidation(t *testing.T) {
	tests := []struct {
		name string
		fn   func(*idp.Options)
	}{
		{"unknown algorithm", func(o *idp.Options) { o.Algorithm = "HS256" }},
		{"no tenant", func(o *idp.Options) { o.TenantID = "" }},
		{"user without name", func(o *idp.Options) { o.Users = append(o.Users, idp.User{Password: "x"}) }},
		{"duplicate user", func(o *idp.Options) { o.Users = append(o.Users, idp.User{Username: idp.UserAmit}) }},
		{"client without id", func(o *idp.Options) { o.Clients = append(o.Clients, idp.Client{Secret: "x"}) }},
		{"duplicate client", func(o *idp.Options) { o.Clients = append(o.Clients, idp.Client{ID: idp.ClientLendingWeb, Secret: "x"}) }},
		{"public client with a secret", func(o *idp.Options) { o.Clients = append(o.Clients, idp.Client{ID: "c", Public: true, Secret: "x"}) }},
		{"confidential client without credentials", func(o *idp.Options) { o.Clients = append(o.Clients, idp.Client{ID: "c"}) }},
		{"unknown grant", func(o *idp.Options) {
			o.Clients = append(o.Clients, idp.Client{ID: "c", Secret: "x", GrantTypes: []string{"password"}})
		}},
		{"public client_credentials", func(o *idp.Options) {
			o.Clients = append(o.Clients, idp.Client{ID: "c", Public: true, GrantTypes: []string{idp.GrantClientCredentials}})
		}},
		{"unsupported key", func(o *idp.Options) {
			o.Clients = append(o.Clients, idp.Client{ID: "c", PublicKeys: map[string]crypto.PublicKey{"k": "not a key"}})
		}},
		{"bad address", func(o *idp.Options) { o.Addr = "nonsense" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := idp.Start(tc.fn)
			if err == nil {
				p.Close()
				t.Fatal("Start succeeded")
			}
			if !errors.Is(err, idp.ErrInvalidOptions) {
				t.Fatalf("err = %v, want ErrInvalidOptions", err)
			}
		})
	}
}

func TestOptionsCopied(t *testing.T) {
	o := idp.DefaultOptions()
	groups := o.Users[0].Groups
	p := idp.StartTest(t, func(opts *idp.Options) { *opts = o })
	groups[0] = "tampered"
	tr := signIn(t, p, lendingWeb(p, "openid"), idp.UserAmit, idp.AmitPassword)
	_, c := mustParse(t, p, tr.AccessToken)
	if strs(c["groups"])[0] != idp.GroupLendingRM {
		t.Fatal("the provider shares the caller's slices")
	}
}

func TestSecretsRedacted(t *testing.T) {
	key := idp.CBSBatchKey()
	values := []any{
		idp.User{Username: "u", Password: "hunter2-password"},
		idp.Client{ID: "c", Secret: "hunter2-secret"},
		key,
		idp.Options{Users: []idp.User{{Username: "u", Password: "hunter2-password"}}, Clients: []idp.Client{{ID: "c", Secret: "hunter2-secret"}}},
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	for _, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			fmt.Fprintf(&buf, verb+"\n", v)
		}
		log.Info("value", "v", v)
	}
	out := buf.String()
	for _, secret := range []string{"hunter2", key.Key.(*rsa.PrivateKey).D.String()[:24]} {
		if strings.Contains(out, secret) {
			t.Fatalf("output leaks %q:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, "[redacted]") || !strings.Contains(out, idp.CBSBatchKeyID) {
		t.Fatalf("output lacks the redaction marker or the kid:\n%s", out)
	}
}
