package token_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"

	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/token"
)

// tokenEndpoint is a stand-in for the IdP's token endpoint: it answers every
// grant with a fresh access token and counts the requests.
func tokenEndpoint(requests *atomic.Int64) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		n := requests.Add(1)
		resp := map[string]any{"access_token": fmt.Sprintf("access-%d", n), "token_type": "Bearer", "expires_in": 3600}
		switch r.PostForm.Get("grant_type") {
		case "authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code":
			resp["refresh_token"] = fmt.Sprintf("refresh-%d", n)
			resp["id_token"] = "id-" + r.PostForm.Get("code")
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(resp)
	}))
}

// A service calls an API with its own token: one request to the IdP, however
// many calls and goroutines.
func ExampleNewCachedClientCredentials() {
	var requests atomic.Int64
	idp := tokenEndpoint(&requests)
	defer idp.Close()

	src, err := token.NewCachedClientCredentials(token.Client{
		ID:       "analytics-svc",
		TokenURL: idp.URL + "/oauth2/v2.0/token",
		Auth:     token.ClientSecretBasic("from-a-vault"),
	}, []string{"api://lending/.default"})
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close()

	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			if _, err := src.Token(context.Background()); err != nil {
				log.Fatal(err)
			}
		})
	}
	wg.Wait()
	tok, _ := src.Token(context.Background())
	fmt.Println(tok.Type(), tok.AccessToken)
	fmt.Println("requests to the IdP:", requests.Load())
	// Output:
	// Bearer access-1
	// requests to the IdP: 1
}

// Tokens and secrets print redacted, so logging one by mistake leaks nothing.
func ExampleToken() {
	tok := &token.Token{AccessToken: "eyJ0eXAi.secret.sig", TokenType: "Bearer", RefreshToken: "0.AXo-secret",
		Expiry: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	fmt.Println(tok)
	b, _ := json.Marshal(tok)
	fmt.Println(string(b))
	fmt.Printf("%v\n", token.Secret("client-secret"))
	// Output:
	// {AccessToken:[redacted] TokenType:Bearer Expiry:2026-11-27T10:00:00Z RefreshToken:[redacted] IDToken: Scopes:[]}
	// {"access_token":"[redacted]","token_type":"Bearer","expiry":"2026-11-27T10:00:00Z","refresh_token":"[redacted]"}
	// [redacted]
}

// Any Source plugs into golang.org/x/oauth2, here to authorize an HTTP client.
func ExampleOAuth2() {
	var requests atomic.Int64
	idp := tokenEndpoint(&requests)
	defer idp.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "API saw: ", r.Header.Get("Authorization"))
	}))
	defer api.Close()

	src, _ := token.NewCachedClientCredentials(token.Client{ID: "analytics-svc", TokenURL: idp.URL, Auth: token.ClientSecretPost("s")}, nil)
	defer src.Close()
	client := oauth2.NewClient(context.Background(), token.OAuth2(context.Background(), src))
	resp, err := client.Get(api.URL)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 256)
	n, _ := resp.Body.Read(buf)
	sb.Write(buf[:n])
	fmt.Println(sb.String())
	// Output: API saw: Bearer access-1
}

// A service calls a downstream API on behalf of the signed-in user, once per
// user token and scope set.
func ExampleNewOnBehalfOf() {
	var requests atomic.Int64
	idp := tokenEndpoint(&requests)
	defer idp.Close()

	obo, err := token.NewOnBehalfOf(token.Client{ID: "lending-api", TokenURL: idp.URL, Auth: token.ClientSecretPost("s")})
	if err != nil {
		log.Fatal(err)
	}
	defer obo.Close()
	scopes := []string{"api://core-banking/Accounts.Read"}
	for _, incoming := range []string{"amit-token", "amit-token", "priya-token"} {
		tok, err := obo.Token(context.Background(), incoming, scopes)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(incoming, "->", tok.AccessToken)
	}
	// Output:
	// amit-token -> access-1
	// amit-token -> access-1
	// priya-token -> access-2
}

// stubValidator stands in for a *jwks.Validator in this example.
type stubValidator struct{}

func (stubValidator) ValidateIDToken(_ context.Context, idToken, _ string) (*jwks.Claims, error) {
	return &jwks.Claims{}, nil
}

// A web app signs a user in with authorization code and PKCE, then keeps the
// session alive with the refresh token, rotated in a RefreshStore.
func ExampleAuthCode() {
	var requests atomic.Int64
	idp := tokenEndpoint(&requests)
	defer idp.Close()
	client := token.Client{ID: "lending-web", TokenURL: idp.URL + "/token", Auth: token.ClientSecretBasic("s")}

	ac, err := token.NewAuthCode(client, idp.URL+"/authorize", "https://lending.example/callback",
		stubValidator{}, []string{"offline_access", "api://lending/Loans.Read"})
	if err != nil {
		log.Fatal(err)
	}
	signIn, _ := ac.Start(nil) // keep signIn in the server-side session
	u, _ := url.Parse(signIn.URL)
	fmt.Println("redirect to", u.Path, "with PKCE", u.Query().Get("code_challenge_method"))

	// The browser comes back to the callback with code and state.
	callback := url.Values{"code": {"abc"}, "state": {signIn.State}}
	tok, _, err := ac.Exchange(context.Background(), signIn, callback)
	if err != nil {
		log.Fatal(err)
	}

	store := token.NewMemoryStore()
	refresh, _ := token.NewRefresh(client, store, "lending-web/amit", nil)
	refresh.Seed(context.Background(), tok)
	session, _ := token.NewCache(refresh)
	defer session.Close()
	t1, _ := session.Token(context.Background())
	session.Invalidate() // as if it had expired
	t2, _ := session.Token(context.Background())
	rt, _ := store.Load(context.Background(), "lending-web/amit")
	fmt.Println(t1.AccessToken, "then", t2.AccessToken, "; stored refresh token rotated:", rt.Reveal() == "refresh-2")
	// Output:
	// redirect to /authorize with PKCE S256
	// access-1 then access-2 ; stored refresh token rotated: true
}

// Every error of the package matches a sentinel with errors.Is and carries
// the IdP's details.
func ExampleError() {
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215],"trace_id":"0f7e","correlation_id":"3c1b"}`)
	}))
	defer idp.Close()
	cc, _ := token.NewClientCredentials(token.Client{ID: "analytics-svc", TokenURL: idp.URL, Auth: token.ClientSecretBasic("wrong")}, nil)
	_, err := cc.Token(context.Background())
	fmt.Println(err)
	var oe *token.Error
	if errors.As(err, &oe) {
		fmt.Println(oe.ErrorCodes, oe.CorrelationID)
	}
	// Output:
	// token: invalid_client (HTTP 401): AADSTS7000215: Invalid client secret provided. [error codes [7000215], trace ID 0f7e, correlation ID 3c1b]
	// [7000215] 3c1b
}
