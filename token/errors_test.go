package token

import (
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/reason"
)

type failingSigner struct{ crypto.Signer }

func (failingSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("HSM offline")
}

type brokenStore struct{ load, store error }

func (s brokenStore) Load(context.Context, string) (Secret, error) { return "rt", s.load }
func (s brokenStore) Store(context.Context, string, Secret) error  { return s.store }
func (s brokenStore) Delete(context.Context, string) error         { return nil }

type plainValidator struct{}

func (plainValidator) ValidateIDToken(context.Context, string, string) (*idbridge.Claims, error) {
	return nil, errors.New("bad ID token")
}

// TestErrorsCarryAReasonClass: every failure of the package, including
// those that start in the caller's code (callbacks, stores, signers,
// validators), maps to a reason class, so that idbridge.ReasonOf, audit
// events and HTTP answers can describe it.
func TestErrorsCarryAReasonClass(t *testing.T) {
	ctx := context.Background()
	idp := newFakeIdP(t, func(int, url.Values, http.Header) (int, map[string]string, string) {
		return 200, nil, `{"access_token":"at","refresh_token":"rt-2","id_token":"x"}`
	})
	key, _ := testKeyAndCert(t)
	hsm, _ := PrivateKeyJWT(failingSigner{key})
	x25519, _ := ecdh.X25519().GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(x25519)
	cases := map[string]func() error{
		"assertion callback fails": func() error {
			cc, _ := NewClientCredentials(Client{ID: "c", TokenURL: idp.URL(), Auth: ClientAssertion(func(context.Context) (string, error) { return "", errors.New("vault sealed") })}, nil)
			_, err := cc.Token(ctx)
			return err
		},
		"signer fails": func() error {
			cc, _ := NewClientCredentials(Client{ID: "c", TokenURL: idp.URL(), Auth: hsm}, nil)
			_, err := cc.Token(ctx)
			return err
		},
		"federated token file missing": func() error {
			fa, _ := NewFileAssertion(filepath.Join(t.TempDir(), "absent"))
			_, err := fa.Assertion(ctx)
			return err
		},
		"store load fails": func() error {
			r, _ := NewRefresh(Client{ID: "c", TokenURL: idp.URL()}, brokenStore{load: errors.New("db down")}, "k", nil)
			_, err := r.Token(ctx)
			return err
		},
		"store write fails": func() error {
			r, _ := NewRefresh(Client{ID: "c", TokenURL: idp.URL()}, brokenStore{store: errors.New("db down")}, "k", nil)
			_, err := r.Token(ctx)
			return err
		},
		"seed store fails": func() error {
			r, _ := NewRefresh(Client{ID: "c", TokenURL: idp.URL()}, brokenStore{store: errors.New("db down")}, "k", nil)
			return r.Seed(ctx, &Token{AccessToken: "a", RefreshToken: "r"})
		},
		"ID token validator without classes": func() error {
			ac, _ := NewAuthCode(Client{ID: "c", TokenURL: idp.URL()}, "https://idp.example/a", "https://app/cb", plainValidator{}, nil)
			a, _ := ac.Start(nil)
			_, _, err := ac.Exchange(ctx, a, url.Values{"state": {a.State}, "code": {"c"}})
			return err
		},
		"key that cannot sign": func() error {
			_, _, err := ParsePEM(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
			return err
		},
	}
	for name, fn := range cases {
		t.Run(name, func(t *testing.T) {
			err := fn()
			if err == nil {
				t.Fatal("no error")
			}
			if reason.Of(err) == "" {
				t.Fatalf("error without a reason class: %v", err)
			}
		})
	}
}

// TestSignInRequiredReasons: every way a grant is gone matches
// ErrSignInRequired, but audit and HTTP answers need to tell a revoked
// grant from a user who must only pass MFA or consent (step_up_required)
// and from a device code that ran out (expired).
func TestSignInRequiredReasons(t *testing.T) {
	tests := []struct {
		code string
		want idbridge.Reason
	}{
		{"invalid_grant", reason.Revoked},
		{"interaction_required", reason.StepUpRequired},
		{"consent_required", reason.StepUpRequired},
		{"login_required", reason.StepUpRequired},
		{"account_selection_required", reason.StepUpRequired},
		{"expired_token", reason.Expired},
		{"invalid_client", reason.Forbidden},
		{"temporarily_unavailable", reason.IdPUnavailable},
	}
	for _, tt := range tests {
		e := parseError([]byte(`{"error":"`+tt.code+`"}`), 400, http.Header{}, time.Now(), nil)
		if got := reason.Of(fmt.Errorf("wrapped: %w", e)); got != tt.want {
			t.Errorf("%s: reason %q, want %q", tt.code, got, tt.want)
		}
	}
	// The device code running out on the client's side, too.
	clock := newFakeClock()
	d, _, _ := newTestDevice(t, clock, []string{"authorization_pending"})
	dc, _ := d.Start(context.Background())
	_, err := d.Poll(context.Background(), dc)
	if !errors.Is(err, ErrSignInRequired) || reason.Of(err) != reason.Expired {
		t.Fatalf("device code expiry: %v (reason %q)", err, reason.Of(err))
	}
}
