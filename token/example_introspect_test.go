package token_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/token"
)

// introspectionEndpoint stands in for the authorization server's RFC 7662
// endpoint: it knows one live opaque token, and counts the requests.
func introspectionEndpoint(requests *atomic.Int64) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		id, secret, _ := r.BasicAuth()
		if id != "core-banking" || secret != "from-a-vault" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if r.PostFormValue("token") != "2YotnFZFEjr1zCsicMWpAA" {
			fmt.Fprint(w, `{"active":false}`)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{
			"active": true, "iss": "https://idp.bank.example", "aud": "api://cbs",
			"client_id": "teller-app", "sub": "amit", "scope": "Accounts.Read",
			"exp": time.Now().Add(time.Hour).Unix(), "oid": "a1b2c3d4-0001",
			"groups": []string{"CBS_ViewOnly"},
		})
	}))
}

// A legacy core-banking API that cannot verify JWTs asks the authorization
// server about each opaque token, and reuses the answer for a minute.
func ExampleNewIntrospector() {
	var requests atomic.Int64
	idp := introspectionEndpoint(&requests)
	defer idp.Close()

	in, err := token.NewIntrospector(
		token.Client{ID: "core-banking", Auth: token.ClientSecretBasic("from-a-vault")},
		idp.URL+"/oauth2/introspect",
		func(o *token.IntrospectorOptions) {
			o.Issuers = []string{"https://idp.bank.example"}
			o.Audiences = []string{"api://cbs"}
			o.CacheTTL = time.Minute // a revoked token works for up to a minute
		})
	if err != nil {
		log.Fatal(err)
	}
	defer in.Close()

	ctx := context.Background()
	for range 3 {
		c, err := in.Validate(ctx, "2YotnFZFEjr1zCsicMWpAA")
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(c.Client(), c.ObjectID, c.Groups, c.HasScope("Accounts.Read"))
	}
	fmt.Println("requests:", requests.Load())

	_, err = in.Validate(ctx, "a-token-the-server-never-issued")
	fmt.Println(errors.Is(err, token.ErrInactive), idbridge.ReasonOf(err))
	// Output:
	// teller-app a1b2c3d4-0001 [CBS_ViewOnly] true
	// teller-app a1b2c3d4-0001 [CBS_ViewOnly] true
	// teller-app a1b2c3d4-0001 [CBS_ViewOnly] true
	// requests: 1
	// true revoked
}
