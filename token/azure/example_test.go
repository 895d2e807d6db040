package azure_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/idbridge/idbridge/token/azure"
)

// A service in Azure App Service asks for a token for the core banking API
// with its managed identity: no secret anywhere. The platform runs the
// identity endpoint beside the app and sets IDENTITY_ENDPOINT and
// IDENTITY_HEADER; here a local endpoint speaking the same protocol stands
// in for it.
func ExampleManagedIdentity() {
	platform := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-IDENTITY-HEADER") != "platform-secret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"eyJ0eXAiOiJKV1Qi.e30.c2ln","expires_on":"%d","resource":%q,"token_type":"Bearer","client_id":"5e29463d-71da-4fe0-8e69-999b57db23b0"}`,
			time.Now().Add(24*time.Hour).Unix(), r.URL.Query().Get("resource"))
	}))
	defer platform.Close()
	for k, v := range map[string]string{"IDENTITY_ENDPOINT": platform.URL + "/msi/token", "IDENTITY_HEADER": "platform-secret"} {
		old, had := os.LookupEnv(k)
		os.Setenv(k, v)
		defer func() {
			if had {
				os.Setenv(k, old)
			} else {
				os.Unsetenv(k)
			}
		}()
	}

	tokens, err := azure.ManagedIdentity([]string{"api://core-banking/.default"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tokens.Close() // stops the background renewal
	tok, err := tokens.Token(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tok.Type(), "token, valid for", time.Until(tok.Expiry).Round(time.Hour))
	// Output: Bearer token, valid for 24h0m0s
}
