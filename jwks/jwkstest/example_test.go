package jwkstest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/jwkstest"
	"github.com/idbridge/idbridge/middleware"
)

// A test of a protected handler with an allowed and a denied caller: the
// fake Entra mints app-only tokens exactly as Entra issues them for the API
// (aud its client ID, iss its tenant's v2.0 issuer, roles, idtyp app).
func Example_protectedHandler() {
	entra := jwkstest.NewServer(func(o *jwkstest.Options) { o.Entra = true })
	defer entra.Close()
	v, _ := jwks.NewValidator(entra.EntraAPI(jwkstest.TenantID, jwkstest.APIClientID))
	defer v.Close()
	guard, _ := middleware.New(v)
	h := guard.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), middleware.RequireRole("Loans.Read"))
	for _, role := range []string{"Loans.Read", "Reports.Read"} {
		req := httptest.NewRequest(http.MethodGet, "/loans/L-1", nil)
		req.Header.Set("Authorization", "Bearer "+entra.EntraAppToken(jwkstest.EntraToken{Roles: []string{role}}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Println(role, rec.Code)
	}
	// Output:
	// Loans.Read 200
	// Reports.Read 403
}
