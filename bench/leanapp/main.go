// Command leanapp is the HTTP-only service used to measure what idbridge
// links: a validator, a policy, the HTTP guard, a token cache and the
// client Transport. oidcapp is the same API built with go-oidc.
package main

import (
	"log"
	"net/http"
	"os"

	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/rbac"
	"github.com/idbridge/idbridge/token"
)

func main() {
	v, err := jwks.NewValidator(jwks.EntraAPI(os.Getenv("AZURE_TENANT_ID"), os.Getenv("AZURE_CLIENT_ID")))
	if err != nil {
		log.Fatal(err)
	}
	policy, err := rbac.NewPolicy("policy.yaml")
	if err != nil {
		log.Fatal(err)
	}
	guard, err := middleware.New(v, func(o *middleware.Options) { o.Policy = policy })
	if err != nil {
		log.Fatal(err)
	}
	src, err := token.NewCachedClientCredentials(token.Client{ID: "app", TokenURL: "https://idp.example/token"}, []string{"api://downstream/.default"})
	if err != nil {
		log.Fatal(err)
	}
	tr, err := middleware.NewTransport(src)
	if err != nil {
		log.Fatal(err)
	}
	downstream := &http.Client{Transport: tr}
	mux := http.NewServeMux()
	mux.Handle("GET /loans/{id}", guard.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := downstream.Get("https://downstream.example/loans/" + r.PathValue("id"))
		if err == nil {
			resp.Body.Close()
		}
	}), middleware.Require("loan:read")))
	log.Fatal(http.ListenAndServe(":8080", mux))
}
