package jwks_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/jwkstest"
)

// Load the keys before taking traffic, answer a readiness probe, and send
// operational problems (an IdP that stops answering) to a logger even
// without audit.
func ExampleValidator_Ready() {
	idp := jwkstest.NewServer() // stands in for your OpenID provider
	defer idp.Close()

	v, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: idp.Issuer()}}
		o.Audiences = []string{"api://orders"}
		o.Algorithms = []string{"RS256"}
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	// At start-up: NewValidator has begun loading the keys; wait for them.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := v.Ready(ctx); err != nil {
		log.Fatalf("identity provider keys: %v", err)
	}
	fmt.Println("keys loaded")

	// A readiness probe: an atomic load once the keys are in.
	readyz := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := v.Ready(r.Context()); err != nil {
			http.Error(w, "signing keys not loaded", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	rec := httptest.NewRecorder()
	readyz.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	fmt.Println(rec.Code)
	// Output:
	// keys loaded
	// 200
}
