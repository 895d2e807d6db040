package azure_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"
)

// appService is the managed identity endpoint of Azure App Service and
// Functions (api-version 2019-08-01) as the platform serves it on
// IDENTITY_ENDPOINT: GET with the resource and optional client_id,
// mi_res_id or principal_id in the query and the X-IDENTITY-HEADER secret;
// the answer carries expires_on as a string of Unix seconds. Errors are
// {"statusCode":…,"message":…}.
type appService struct {
	srv    *httptest.Server
	secret string // IDENTITY_HEADER

	mu      sync.Mutex
	queries []url.Values // guarded by mu
	fail    int          // guarded by mu: status to answer instead of a token
	life    time.Duration
}

const appServiceSecret = "853b9a84-5bfa-4b22-a3f3-0b9a43d9ad8a"

// startAppService starts the endpoint and points azidentity at it through
// the platform's variables.
func startAppService(t testing.TB) *appService {
	t.Helper()
	a := &appService{secret: appServiceSecret, life: 24 * time.Hour}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	t.Setenv("IDENTITY_ENDPOINT", a.srv.URL+"/msi/token")
	t.Setenv("IDENTITY_HEADER", a.secret)
	for _, k := range []string{"IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "MSI_ENDPOINT", "MSI_SECRET"} {
		t.Setenv(k, "")
	}
	return a
}

func (a *appService) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	q := r.URL.Query()
	a.mu.Lock()
	a.queries = append(a.queries, q)
	fail, life := a.fail, a.life
	a.mu.Unlock()
	switch {
	case r.Method != http.MethodGet || r.URL.Path != "/msi/token":
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"statusCode":404,"message":"Not found"}`)
		return
	case r.Header.Get("X-IDENTITY-HEADER") != a.secret:
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"statusCode":401,"message":"Unauthorized"}`)
		return
	case q.Get("api-version") != "2019-08-01" || q.Get("resource") == "":
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"statusCode":400,"message":"Invalid request: api-version and resource are required"}`)
		return
	case fail == http.StatusBadRequest:
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"statusCode":400,"message":"No Managed Identity found for specified ClientId/ResourceId/PrincipalId."}`)
		return
	case fail != 0:
		w.WriteHeader(fail)
		fmt.Fprintf(w, `{"statusCode":%d,"message":"An unexpected error occured while fetching the AAD Token."}`, fail)
		return
	}
	clientID := q.Get("client_id")
	if clientID == "" {
		clientID = "5e29463d-71da-4fe0-8e69-999b57db23b0" // the system-assigned identity
	}
	body, _ := json.Marshal(map[string]string{
		"access_token": "mi-token-for-" + q.Get("resource"),
		"expires_on":   strconv.FormatInt(time.Now().Add(life).Unix(), 10),
		"resource":     q.Get("resource"),
		"token_type":   "Bearer",
		"client_id":    clientID,
	})
	w.Write(body)
}

func (a *appService) requests() []url.Values {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]url.Values(nil), a.queries...)
}

func (a *appService) failWith(status int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.fail = status
}
