package middleware_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/idbridge/idbridge/jwks/jwkstest"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/token"
)

// A route that needs the permission loan:read. The relationship manager's
// token passes; a request without a token gets a bare challenge, and a loan
// approver who signed in without MFA is asked to step up.
func ExampleGuard_Handler() {
	idp, v, policy := exampleSetup()
	defer idp.Close()
	defer v.Close()

	g, err := middleware.New(v, func(o *middleware.Options) {
		o.Policy = policy
		o.Realm = "lending"
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	loans := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := middleware.FromContext(r.Context())
		fmt.Fprintf(w, "loans for %s, roles %v", p.Claims.ObjectID, p.Decision.Roles())
	})
	mux := http.NewServeMux()
	mux.Handle("GET /loans", g.Handler(loans, middleware.Require("loan:read")))
	mux.Handle("POST /loans/{id}/approve", g.Handler(loans, middleware.Require("loan:approve")))

	send := func(method, path, tok string) {
		r := httptest.NewRequest(method, path, nil)
		if tok != "" {
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		fmt.Println(strings.TrimSpace(fmt.Sprint(w.Code, " ", w.Header().Get("WWW-Authenticate"))))
		if w.Code == http.StatusOK {
			fmt.Println(w.Body)
		}
	}
	amit := idp.Mint(map[string]any{"aud": jwkstest.APIClientID, "oid": "amit", "groups": []string{groupRM}})
	// Priya's client declares it handles claims challenges (xms_cc cp1, as
	// MSAL sets it), so she is told exactly what to bring; a client that
	// does not gets RFC 9470's step-up answer instead.
	priya := idp.Mint(map[string]any{"aud": jwkstest.APIClientID, "oid": "priya", "groups": []string{groupApprover}, "amr": []string{"pwd"}, "xms_cc": []string{"cp1"}})
	priyaOldClient := idp.Mint(map[string]any{"aud": jwkstest.APIClientID, "oid": "priya", "groups": []string{groupApprover}, "amr": []string{"pwd"}})
	send("GET", "/loans", "")
	send("GET", "/loans", amit)
	send("POST", "/loans/7/approve", amit)
	send("POST", "/loans/7/approve", priya)
	send("POST", "/loans/7/approve", priyaOldClient)
	// Output:
	// 401 Bearer realm="lending"
	// 200
	// loans for amit, roles [LoanViewer]
	// 403 Bearer realm="lending", error="insufficient_scope", error_description="insufficient_role"
	// 401 Bearer realm="lending", error="insufficient_claims", error_description="step_up_required", claims="eyJhY2Nlc3NfdG9rZW4iOnsiYW1yIjp7ImVzc2VudGlhbCI6dHJ1ZSwidmFsdWVzIjpbIm1mYSJdfX19"
	// 401 Bearer realm="lending", error="insufficient_user_authentication", error_description="step_up_required"
}

// A client attaches its token with a Transport; give it a token.Cache in
// production so requests do not each ask the IdP.
func ExampleNewTransport() {
	idp, v, _ := exampleSetup()
	defer idp.Close()
	defer v.Close()
	g, _ := middleware.New(v)
	api := httptest.NewServer(g.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := middleware.FromContext(r.Context())
		fmt.Fprintf(w, "hello %s", p.Claims.Client())
	}), middleware.RequireRole("Reports.Read")))
	defer api.Close()

	src := token.SourceFunc(func(context.Context) (*token.Token, error) {
		tok := idp.Mint(map[string]any{"aud": jwkstest.APIClientID, "azp": "reports-job", "roles": []string{"Reports.Read"}})
		return &token.Token{AccessToken: tok, TokenType: "Bearer"}, nil
	})
	t, err := middleware.NewTransport(src, func(o *middleware.TransportOptions) {
		o.Hosts = []string{api.Listener.Addr().String()} // never hand the token to anyone else
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, err := (&http.Client{Transport: t}).Get(api.URL + "/reports")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output:
	// 200 hello reports-job
}
