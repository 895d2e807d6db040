package middleware_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/token"
)

// TestClosedIntrospectorWire pins what a client is told when the guard's
// introspector was closed (a shutdown racing a request): 503 with no
// invalid_token challenge, as at 7ac0e62 (token.ErrClosed had class
// idp_unavailable). The token was not judged, so the client must not be
// told to throw it away.
func TestClosedIntrospectorWire(t *testing.T) {
	intro := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("a closed introspector called its server")
	}))
	defer intro.Close()
	in, err := token.NewIntrospector(token.Client{ID: "api", Auth: token.ClientSecretBasic("s3cr3t")}, intro.URL, func(o *token.IntrospectorOptions) {
		o.Issuers = []string{"https://idp.example"}
		o.Audiences = []string{"api"}
		o.InsecureAllowHTTP = true
	})
	if err != nil {
		t.Fatal(err)
	}
	in.Close()
	checkClosedWire(t, in)
}

// closedValidator is a validator already shut down, as a *jwks.Validator
// whose key set was closed answers for a key it has not loaded.
type closedValidator struct{}

func (closedValidator) Validate(context.Context, string) (*idbridge.Claims, error) {
	return nil, fmt.Errorf("jwks: %w", idbridge.ErrClosed)
}

// TestClosedValidatorWire: every validator error of class closed gets the
// same answer, 503 without a challenge. At 7ac0e62 a closed Introspector
// answered 503 and a closed jwks validator, whose ErrClosed had no class,
// 401 invalid_token; with one ErrClosed (class closed) one of the two had
// to change, and telling a client to drop a token nobody judged is the
// wrong one.
func TestClosedValidatorWire(t *testing.T) { checkClosedWire(t, closedValidator{}) }

func checkClosedWire(t *testing.T, v middleware.Validator) {
	t.Helper()
	g, err := middleware.New(v)
	if err != nil {
		t.Fatal(err)
	}
	h := g.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("handler ran") }), middleware.Authenticated())
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Bearer opaque-token-value")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", rec.Code)
	}
	if c := rec.Header().Get("WWW-Authenticate"); strings.Contains(c, "invalid_token") {
		t.Errorf("challenge %q tells the client its token is invalid", c)
	}
}
