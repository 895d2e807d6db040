package middleware_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/reason"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/rbac"
)

// The SDK's own types satisfy the consumer-side interfaces.
var (
	_ middleware.Validator = (*jwks.Validator)(nil)
	_ middleware.Policy    = (*rbac.Policy)(nil)
)

func TestErrorReason(t *testing.T) {
	e := &middleware.Error{Status: 503, Class: reason.IdPUnavailable, Err: context.Canceled}
	if idbridge.Reason(e) != reason.IdPUnavailable || !errors.Is(e, context.Canceled) {
		t.Errorf("Reason %q, Is(Canceled) %v", idbridge.Reason(e), errors.Is(e, context.Canceled))
	}
	if got := e.Error(); got != "middleware: Service Unavailable: context canceled" {
		t.Errorf("Error() = %q", got)
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
