// Command oidcapp is leanapp's API built with go-oidc and x/oauth2 (the
// usual hand-rolled glue): verify, check a group, call downstream with a
// client-credentials token. It is only built, to compare what it links.
package main

import (
	"context"
	"log"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2/clientcredentials"
)

func main() {
	ctx := context.Background()
	provider, err := oidc.NewProvider(ctx, "https://login.microsoftonline.com/"+os.Getenv("AZURE_TENANT_ID")+"/v2.0")
	if err != nil {
		log.Fatal(err)
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: os.Getenv("AZURE_CLIENT_ID")})
	cc := clientcredentials.Config{ClientID: "app", TokenURL: "https://idp.example/token", Scopes: []string{"api://downstream/.default"}}
	downstream := cc.Client(ctx)
	mux := http.NewServeMux()
	mux.Handle("GET /loans/{id}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		tok, err := verifier.Verify(r.Context(), raw)
		if err != nil {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		var c struct {
			Groups []string `json:"groups"`
		}
		if err := tok.Claims(&c); err != nil || !slices.Contains(c.Groups, "4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13") {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		resp, err := downstream.Get("https://downstream.example/loans/" + r.PathValue("id"))
		if err == nil {
			resp.Body.Close()
		}
	}))
	log.Fatal(http.ListenAndServe(":8080", mux))
}
