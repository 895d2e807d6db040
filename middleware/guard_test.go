package middleware_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/reason"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/middleware/internal/guardtest"
	"github.com/idbridge/idbridge/rbac"
)

// The SDK's own types satisfy the consumer-side interfaces.
var (
	_ middleware.Validator = (*jwks.Validator)(nil)
	_ middleware.Policy    = (*rbac.Policy)(nil)
)

func TestErrorReason(t *testing.T) {
	// The guard's answer to a validator that gave up with the request's
	// context: the cause has no class, the answer says idp_unavailable.
	var e *middleware.Error
	g, err := middleware.New(guardtest.StubValidator{Err: context.Canceled}, func(o *middleware.Options) {
		o.Default = []middleware.Requirement{middleware.Authenticated()}
		o.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, got *middleware.Error) {
			e = got
			w.WriteHeader(got.Status)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer abc")
	g.Handler(whoami).ServeHTTP(httptest.NewRecorder(), r)
	if e == nil {
		t.Fatal("the error handler was not called")
	}
	if idbridge.ReasonOf(e) != reason.IdPUnavailable || !errors.Is(e, context.Canceled) {
		t.Errorf("Reason %q, Is(Canceled) %v", idbridge.ReasonOf(e), errors.Is(e, context.Canceled))
	}
	if got := e.Error(); got != "middleware: Service Unavailable: context canceled" {
		t.Errorf("Error() = %q", got)
	}
	// An Error built by hand has the class of its cause.
	if got := (&middleware.Error{Status: 401, Err: jwks.ErrExpired}).Reason(); got != reason.Expired {
		t.Errorf("Reason() of a hand-made Error = %q, want %q", got, reason.Expired)
	}
}

func TestTransportNilHeader(t *testing.T) {
	base := &capture{}
	tr, _ := middleware.NewTransport(&countingSource{Tok: goodToken()}, func(o *middleware.TransportOptions) { o.Base = base })
	req, _ := http.NewRequest("GET", "https://api.bank.example/", nil)
	req.Header = nil
	if _, err := tr.RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	if base.req.Header.Get("Authorization") == "" {
		t.Fatal("no token attached")
	}
}
