package samlsp_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/idbridge/idbridge/federation/saml"
	"github.com/idbridge/idbridge/federation/saml/samltest"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/middleware/samlsp"
)

// The core banking portal accepts Entra SAML sign-in in a few lines; its
// handlers read the principal as behind the bearer guard.
func ExampleNew() {
	entra := samltest.New("9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c") // in production: saml.NewRemoteMetadata
	md, _ := saml.ParseMetadata(entra.Metadata())
	v, _ := saml.NewValidator(md, "https://cbs.bank.example/saml", "https://cbs.bank.example/saml/acs")
	sp, err := samlsp.New(v)
	if err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()
	mux.Handle("/saml/", sp)
	mux.Handle("/accounts/", sp.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := middleware.FromContext(r.Context())
		fmt.Fprintln(w, "hello", p.Claims.Name)
	})))

	// A browser without a session is sent to Entra.
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "https://cbs.bank.example/accounts/42", nil))
	fmt.Println(rec.Code, rec.Header().Get("Location")[:len(entra.SSOURL())] == entra.SSOURL())
	// Output:
	// 302 true
}
