package token_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"

	"github.com/idbridge/idbridge"
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

func (stubValidator) ValidateIDToken(_ context.Context, idToken, _ string) (*idbridge.Claims, error) {
	return &idbridge.Claims{}, nil
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

// A command-line tool signs its user in with the device authorization grant:
// it shows the user code, and Poll waits until the user has approved it in
// a browser elsewhere.
func ExampleDevice() {
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/devicecode" {
			fmt.Fprint(w, `{"device_code":"dc-1","user_code":"WDJB-MJHT","verification_uri":"https://microsoft.com/devicelogin","expires_in":900,"interval":1}`)
			return
		}
		// The user approves at once; a real IdP answers
		// authorization_pending until then.
		fmt.Fprint(w, `{"access_token":"access-1","token_type":"Bearer","expires_in":3600,"refresh_token":"refresh-1"}`)
	}))
	defer idp.Close()

	d, err := token.NewDevice(token.Client{ID: "bank-cli", TokenURL: idp.URL + "/token"}, idp.URL+"/devicecode",
		[]string{"openid", "offline_access", "api://lending/Loans.Read"})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dc, err := d.Start(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("Open %s and enter %s\n", dc.VerificationURI, dc.UserCode)
	tok, err := d.Poll(ctx, dc)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.AccessToken, "with a refresh token:", tok.RefreshToken != "")
	// Output:
	// Open https://microsoft.com/devicelogin and enter WDJB-MJHT
	// access-1 with a refresh token: true
}

// A workload in Kubernetes proves itself with its projected service account
// token instead of a secret (Entra workload identity federation): the file
// is read again as the kubelet renews it.
func ExampleFileAssertion() {
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		fmt.Println("IdP got", r.PostForm.Get("client_assertion_type"))
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"access-1","token_type":"Bearer","expires_in":3600}`)
	}))
	defer idp.Close()
	dir, _ := os.MkdirTemp("", "workload")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "azure-identity-token") // AZURE_FEDERATED_TOKEN_FILE
	os.WriteFile(path, []byte("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6YW5hbHl0aWNzOmFwaSJ9.sig"), 0o600)

	fa, err := token.NewFileAssertion(path)
	if err != nil {
		log.Fatal(err)
	}
	src, err := token.NewCachedClientCredentials(token.Client{
		ID:       "analytics-svc",
		TokenURL: idp.URL + "/oauth2/v2.0/token",
		Auth:     token.ClientAssertion(fa.Assertion),
	}, []string{"api://lending/.default"})
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close()
	tok, err := src.Token(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.AccessToken)
	// Output:
	// IdP got urn:ietf:params:oauth:client-assertion-type:jwt-bearer
	// access-1
}

// A batch job authenticates with a certificate (private_key_jwt): each
// request carries a fresh, short-lived assertion signed with PS256 and
// naming the certificate by its SHA-256 thumbprint, as Entra asks.
func ExamplePrivateKeyJWT() {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cbs-batch"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	cert, _ := x509.ParseCertificate(der)

	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		header, _, _ := strings.Cut(r.PostForm.Get("client_assertion"), ".")
		b, _ := base64.RawURLEncoding.DecodeString(header)
		var h map[string]string
		json.Unmarshal(b, &h)
		fmt.Println("assertion alg:", h["alg"], "thumbprint header present:", h["x5t#S256"] != "")
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"access-1","token_type":"Bearer","expires_in":3600}`)
	}))
	defer idp.Close()

	auth, err := token.PrivateKeyJWT(key, func(o *token.JWTOptions) {
		o.Certificate = cert
		o.Algorithm = token.PS256
	})
	if err != nil {
		log.Fatal(err)
	}
	cc, _ := token.NewClientCredentials(token.Client{ID: "cbs-batch", TokenURL: idp.URL + "/token", Auth: auth}, []string{"api://core-banking/.default"})
	if _, err := cc.Token(context.Background()); err != nil {
		log.Fatal(err)
	}
	// Output: assertion alg: PS256 thumbprint header present: true
}

// Any OpenID provider's endpoints come from its issuer URL; the document
// must name that very issuer.
func ExampleDiscover() {
	var issuer string
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"issuer":%q,"authorization_endpoint":"%[1]s/authorize","token_endpoint":"%[1]s/token","device_authorization_endpoint":"%[1]s/device","jwks_uri":"%[1]s/keys"}`, issuer)
	}))
	defer idp.Close()
	issuer = idp.URL + "/tenant-1/v2.0"

	ep, err := token.Discover(context.Background(), issuer)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.TrimPrefix(ep.TokenURL, idp.URL), strings.TrimPrefix(ep.DeviceAuthURL, idp.URL))
	// Output: /tenant-1/v2.0/token /tenant-1/v2.0/device
}

// The common Entra case needs no code beyond the scopes: tenant, client and
// credential come from the same AZURE_* variables the Azure SDKs read.
func ExampleFromEnvironment() {
	var requests atomic.Int64
	idp := tokenEndpoint(&requests)
	defer idp.Close()
	for k, v := range map[string]string{
		token.EnvTenantID:      "contoso-bank",
		token.EnvClientID:      "analytics-svc",
		token.EnvClientSecret:  "from-a-kubernetes-secret",
		token.EnvAuthorityHost: idp.URL, // omit for the public cloud
	} {
		os.Setenv(k, v)
		defer os.Unsetenv(k)
	}

	src, err := token.FromEnvironment([]string{"api://lending/.default"})
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close()
	tok, err := src.Token(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.AccessToken)
	// Output: access-1
}
