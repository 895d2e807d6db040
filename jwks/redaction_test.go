package jwks_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/jwkstest"
)

// withSecrets returns u with user info and a query that hold secrets, as a
// JWKS URL on a storage account (SAS signature) or behind basic auth would.
func withSecrets(u string) string {
	return strings.Replace(u, "://", "://reader:s3cret-pass@", 1) + "?sv=2024-05-04&sig=s3cret-sig"
}

func assertNoSecret(t *testing.T, what, s string) {
	t.Helper()
	if strings.Contains(s, "s3cret") || strings.Contains(s, "reader") {
		t.Errorf("%s prints a secret: %s", what, s)
	}
}

// TestURLSecretsNeverPrinted: user info and query of JWKS and discovery
// URLs appear in no error, audit event, log record or %v.
func TestURLSecretsNeverPrinted(t *testing.T) {
	ctx := context.Background()
	idp := jwkstest.Start(t)
	audit, logs := &syncWriter{w: &bytes.Buffer{}}, &syncWriter{w: &bytes.Buffer{}}
	opts := func(o *jwks.KeySetOptions) {
		o.Audit = slog.NewJSONHandler(audit, nil)
		o.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	}
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()

	t.Run("errors", func(t *testing.T) {
		idp.SetStatus(http.StatusInternalServerError)
		defer idp.SetStatus(0)
		for _, tc := range []struct {
			name string
			new  func() (*jwks.RemoteKeySet, error)
		}{
			{"JWKS answers 500", func() (*jwks.RemoteKeySet, error) { return jwks.NewKeySet(ctx, withSecrets(idp.JWKSURL()), opts) }},
			{"discovery answers 500", func() (*jwks.RemoteKeySet, error) { return jwks.Discover(ctx, withSecrets(idp.Issuer()), opts) }},
			{"JWKS unreachable", func() (*jwks.RemoteKeySet, error) { return jwks.NewKeySet(ctx, withSecrets(gone.URL+"/keys"), opts) }},
			{"plain http off loopback", func() (*jwks.RemoteKeySet, error) {
				return jwks.NewKeySet(ctx, withSecrets("http://idp.example/keys"), opts)
			}},
			{"bad escape", func() (*jwks.RemoteKeySet, error) {
				return jwks.NewKeySet(ctx, withSecrets("https://idp.example/%zz"), opts)
			}},
		} {
			_, err := tc.new()
			if err == nil {
				t.Fatalf("%s: no error", tc.name)
			}
			assertNoSecret(t, tc.name, err.Error())
		}
		if !strings.Contains(audit.String(), "jwks.refresh_failed") || !strings.Contains(logs.String(), "key refresh failed") {
			t.Fatalf("failures not reported:\naudit %s\nlogs %s", audit.String(), logs.String())
		}
	})

	t.Run("discovery issuer mismatch", func(t *testing.T) {
		// An issuer has no query (OpenID Connect Discovery §2): user info only.
		withUser := func(u string) string { return strings.Replace(u, "://", "://reader:s3cret-pass@", 1) }
		other := jwkstest.Start(t, func(o *jwkstest.Options) { o.Issuer = withUser("https://someone.else") })
		_, err := jwks.Discover(ctx, withUser(other.URL), opts)
		if err == nil || !strings.Contains(err.Error(), "differs") {
			t.Fatalf("issuer mismatch: %v", err)
		}
		assertNoSecret(t, "mismatch", err.Error())
	})

	t.Run("success and %v", func(t *testing.T) {
		ks, err := jwks.NewKeySet(ctx, withSecrets(idp.JWKSURL()), opts)
		if err != nil {
			t.Fatal(err)
		}
		defer ks.Close()
		if _, err := ks.Key(ctx, idp.KeyID(), ""); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(audit.String(), "jwks.refreshed") {
			t.Fatalf("no jwks.refreshed event: %s", audit.String())
		}
		for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
			assertNoSecret(t, format+" of a key set", fmt.Sprintf(format, ks))
			is := jwks.Issuer{Issuer: idp.Issuer(), JWKSURL: withSecrets(idp.JWKSURL())}
			assertNoSecret(t, format+" of an Issuer", fmt.Sprintf(format, is))
			assertNoSecret(t, format+" of Options", fmt.Sprintf(format, jwks.Options{Issuers: []jwks.Issuer{is}}))
		}
		if got := fmt.Sprint(ks); got != "jwks.RemoteKeySet("+idp.JWKSURL()+")" {
			t.Fatalf("%%v of a key set = %s", got)
		}
	})

	t.Run("validator", func(t *testing.T) {
		idp.SetStatus(http.StatusBadGateway)
		defer idp.SetStatus(0)
		v, err := jwks.NewValidator(func(o *jwks.Options) {
			o.Issuers = []jwks.Issuer{{Issuer: idp.Issuer(), JWKSURL: withSecrets(idp.JWKSURL())}}
			o.Audiences = []string{"api://orders"}
			o.Algorithms = []string{"RS256"}
			o.Audit = slog.NewJSONHandler(audit, nil)
		})
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		err = v.Ready(ctx)
		if !errors.Is(err, jwks.ErrUnavailable) {
			t.Fatalf("Ready with the IdP down: %v", err)
		}
		assertNoSecret(t, "Ready", err.Error())
		_, err = v.Validate(ctx, idp.Mint(map[string]any{"aud": "api://orders"}))
		if !errors.Is(err, jwks.ErrUnavailable) {
			t.Fatalf("Validate with the IdP down: %v", err)
		}
		assertNoSecret(t, "Validate", err.Error())
		_, err = jwks.NewValidator(func(o *jwks.Options) {
			o.Issuers = []jwks.Issuer{{Issuer: "https://idp.example", JWKSURL: withSecrets("http://idp.example/keys")}}
			o.Audiences = []string{"api://orders"}
			o.Algorithms = []string{"RS256"}
		})
		if err == nil {
			t.Fatal("http JWKS URL off loopback accepted")
		}
		assertNoSecret(t, "NewValidator", err.Error())
	})

	assertNoSecret(t, "audit", audit.String())
	assertNoSecret(t, "logs", logs.String())
}
