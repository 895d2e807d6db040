// Command lending is the bank's Lending API, deployed in Azure: an HTTP API
// that accepts Microsoft Entra ID access tokens, grants each route by a
// permission of the bank's policy file, and calls the core banking API on
// behalf of its user.
//
// # Running it against Entra ID
//
// Register the API in the tenant (App ID URI api://lending, a client
// secret or certificate for the on-behalf-of call) and start it with the
// Azure SDKs' environment variables:
//
//	export AZURE_TENANT_ID=<tenant ID> AZURE_CLIENT_ID=<API client ID> AZURE_CLIENT_SECRET=<secret>
//	go run ./examples/lending -addr :8080 \
//	    -policy examples/policies/bank.yaml -cbs-url https://cbs.bank.example -cbs-scope api://cbs/.default
//
// Every flag falls back to an environment variable, for containers:
// LENDING_ADDR, AZURE_TENANT_ID (-tenant), AZURE_CLIENT_ID (-client-id), LENDING_AUDIENCE,
// LENDING_POLICY, LENDING_POLICY_POLL, LENDING_CBS_URL, LENDING_CBS_SCOPE,
// LENDING_IDENTITY, LENDING_MANAGED_IDENTITY_CLIENT_ID.
// AZURE_CLIENT_CERTIFICATE_PATH or AZURE_FEDERATED_TOKEN_FILE replace the
// secret (token.ClientFromEnvironment); the last is AKS workload identity
// as azidentity users know it.
//
// # Running it with a managed identity (no secret)
//
// In App Service, Container Apps or on a VM, give the resource a managed
// identity, add it to the API's app registration as a federated identity
// credential (issuer https://login.microsoftonline.com/<tenant>/v2.0,
// subject the identity's object ID, audience api://AzureADTokenExchange),
// and start with -identity managed-identity (LENDING_IDENTITY); a
// user-assigned identity is chosen by -managed-identity-client-id. The
// identity's token is then the app's client assertion (token/azure):
//
//	go run ./examples/lending -tenant <tenant ID> -client-id <API client ID> -identity managed-identity
//
// # Running it locally
//
// Without a tenant it starts the embedded OpenID provider as the bank's
// tenant, a stand-in core banking API, and a copy of the policy pointed at
// the provider, and prints how to call it:
//
//	go run ./examples/lending -print-token   # prints export AMIT='...' lines
//	curl -i -H "Authorization: Bearer $AMIT" http://127.0.0.1:8080/loans/L-1001
//
// # What it shows
//
//   - jwks.EntraAPI: the tenant's v2.0 issuer and key set, and the API's
//     audiences (its client ID, the aud of v2.0 tokens, and
//     api://{client ID}), from the tenant and client ID (multi-tenant with a
//     tenant allow-list in a comment below).
//   - middleware.Guard: each route declares the permission it needs
//     (loan:read, loan:create, kyc:read); the bank policy (rbac) maps Entra
//     groups to roles and permissions. Undeclared routes are closed.
//   - rbac.Policy.Reload: the policy file is reloaded on SIGHUP, and when
//     it changes with -policy-poll; a broken file keeps the old policy, as
//     does one that no longer declares a permission a route requires.
//   - token.NewOnBehalfOf: GET /loans/{id}/account calls the core banking
//     API with a token Entra issues for the same user.
//   - Audit events (token.validated, authz.denied, policy.reloaded, ...) as
//     JSON lines on stderr; no token is ever logged.
//   - http.Server timeouts and graceful shutdown on SIGINT and SIGTERM.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/idbridge/idbridge/examples/internal/cli"
	"github.com/idbridge/idbridge/examples/internal/localidp"
	"github.com/idbridge/idbridge/integration/idp"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/jwkstest"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/rbac"
	"github.com/idbridge/idbridge/token"
	"github.com/idbridge/idbridge/token/azure"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	status := cli.Status(os.Stderr, "lending", run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil))
	stop()
	os.Exit(status)
}

// env returns the environment variable key, or def when it is unset.
func env(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}

// run serves until ctx is done. started, when not nil, is called once the
// listener is bound (tests use it).
func run(ctx context.Context, args []string, stdout, stderr io.Writer, started func(string, *localidp.IdP)) error {
	fs := flag.NewFlagSet("lending", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", env("LENDING_ADDR", "127.0.0.1:8080"), "listen address (:8080 in a container)")
	tenant := fs.String("tenant", env("AZURE_TENANT_ID", ""), "Entra tenant ID; empty runs locally against the embedded IdP")
	clientID := fs.String("client-id", env("AZURE_CLIENT_ID", idp.LendingAppID), "the API's application (client) ID: the aud of its v2.0 tokens (api://CLIENT-ID is accepted too)")
	audience := fs.String("audience", env("LENDING_AUDIENCE", ""), "more accepted aud values, comma-separated, such as another App ID URI (api://lending)")
	policyPath := fs.String("policy", env("LENDING_POLICY", "examples/policies/bank.yaml"), "policy file")
	poll, err := time.ParseDuration(env("LENDING_POLICY_POLL", "0s"))
	if err != nil {
		return fmt.Errorf("LENDING_POLICY_POLL %q: want a duration such as 30s, or 0s to reload on SIGHUP only", env("LENDING_POLICY_POLL", ""))
	}
	fs.DurationVar(&poll, "policy-poll", poll, "also reload the policy when the file changes, checked this often (0: on SIGHUP only)")
	cbsURL := fs.String("cbs-url", env("LENDING_CBS_URL", ""), "core banking API called on behalf of the user (local: a stand-in)")
	cbsScope := fs.String("cbs-scope", env("LENDING_CBS_SCOPE", idp.ResourceCBS+"/.default"), "scope of the on-behalf-of token")
	printToken := fs.Bool("print-token", false, "local mode: print the scenario users' bearer tokens to stdout")
	identity := fs.String("identity", env("LENDING_IDENTITY", "environment"),
		"how the API proves itself for on-behalf-of: environment (AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH, or AZURE_FEDERATED_TOKEN_FILE for AKS workload identity) or managed-identity (the app trusts this resource's managed identity as a federated credential; no secret)")
	miClientID := fs.String("managed-identity-client-id", env("LENDING_MANAGED_IDENTITY_CLIENT_ID", ""),
		"with -identity managed-identity: the user-assigned identity's client ID; empty for the system-assigned one")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *identity != "environment" && *identity != "managed-identity" {
		return fmt.Errorf("-identity (LENDING_IDENTITY) %q: want environment or managed-identity", *identity)
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil)).With("service", "lending")
	audit := log.Handler() // audit events share the log: one JSON object per line

	// Production: the tenant's v2.0 issuer and keys, and the API's client ID
	// and App ID URI as audiences. A multi-tenant API trusts
	// "organizations" and must list the tenants it serves:
	//   jwks.EntraAPI("organizations", *clientID, func(o *jwks.EntraOptions) { o.Tenants = []string{"<tid>", "<tid>"} })
	trust := jwks.EntraAPI(*tenant, *clientID)
	var hc *http.Client // nil: default clients (each fetch has its own timeout)
	var local *localidp.IdP
	if *tenant == "" { // local mode: everything below this block is production code
		dir, err := os.MkdirTemp("", "lending-local-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if local, err = localidp.Start(); err != nil {
			return err
		}
		defer local.Close()
		hc = local.HTTPClient()
		trust = func(o *jwks.Options) { // its issuer has no tenant path: not Entra's shape
			o.Issuers, o.Tenants, o.Audiences = local.Issuers(), []string{localidp.TenantID}, []string{*clientID}
		}
		if *policyPath, err = jwkstest.PolicyFile(*policyPath, dir, localidp.EntraIssuer, local.Issuer()); err != nil {
			return err
		}
		if *cbsURL == "" {
			cbs, err := local.StartAPI(idp.CBSAppID)
			if err != nil {
				return err
			}
			defer cbs.Close()
			*cbsURL = cbs.URL
		}
	}

	policy, err := rbac.NewPolicy(*policyPath, func(o *rbac.Options) { o.Audit = audit })
	if err != nil {
		return err
	}
	v, err := jwks.NewValidator(trust, func(o *jwks.Options) {
		o.Audiences = append(o.Audiences, commaList(*audience)...)
		o.Algorithms = []string{"RS256"} // what Entra signs with
		o.Cache = &jwks.CacheOptions{}   // a token seen before is not verified again
		o.HTTPClient, o.Audit = hc, audit
	})
	if err != nil {
		return err
	}
	defer v.Close()
	guard, err := middleware.New(v, func(o *middleware.Options) {
		o.Policy, o.Realm, o.Audit = policy, "lending", audit
	})
	if err != nil {
		return err
	}

	// The API's own identity, for on-behalf-of calls to core banking.
	client, closeClient, err := apiClient(local, *identity, *tenant, *clientID, *miClientID, log)
	if err != nil {
		return err
	}
	defer closeClient()
	obo, err := token.NewOnBehalfOf(client, func(o *token.ExchangeOptions) { o.HTTPClient, o.Audit, o.Logger = hc, audit, log })
	if err != nil {
		return err
	}
	defer obo.Close()

	a := &api{log: log, obo: obo, cbsURL: strings.TrimSuffix(*cbsURL, "/"), cbsScope: *cbsScope,
		client: &http.Client{Timeout: 10 * time.Second}}
	mux := http.NewServeMux()
	mux.Handle("GET /loans/{id}", guard.Handler(http.HandlerFunc(getLoan), middleware.Require("loan:read")))
	mux.Handle("POST /loans", guard.Handler(http.HandlerFunc(createLoan), middleware.Require("loan:create")))
	mux.Handle("GET /customers/{id}/kyc", guard.Handler(http.HandlerFunc(getKYC), middleware.Require("kyc:read")))
	mux.Handle("GET /loans/{id}/account", guard.Handler(http.HandlerFunc(a.account), middleware.Require("loan:read")))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	watch, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go watchPolicy(watch, policy, *policyPath, poll, log)
	log.Info("listening", "url", base, "policy", *policyPath, "policy_version", policy.Version())
	if local != nil {
		err := local.Announce(ctx, stdout, localidp.Hint{App: "lending", URL: base, PrintTokens: *printToken,
			Scopes: []string{idp.ResourceLending + "/Loans.Read", idp.ResourceLending + "/Loans.ReadWrite"},
			Notes: []string{"policy: " + *policyPath + " (bank.yaml, issuer pointed at the IdP); edit it, then kill -HUP " + fmt.Sprint(os.Getpid()),
				"core banking stand-in (on-behalf-of target): " + *cbsURL},
			Try: []string{`curl -i -H "Authorization: Bearer $AMIT" ` + base + "/loans/L-1001",
				`curl -i -X POST -H "Authorization: Bearer $AMIT" ` + base + "/loans",
				`curl -i -H "Authorization: Bearer $AMIT" ` + base + "/loans/L-1001/account",
				`curl -i -H "Authorization: Bearer $PRIYA" ` + base + "/customers/C-2231/kyc   # 401 step-up (MFA)",
				`curl -i -H "Authorization: Bearer $LEO" ` + base + "/loans/L-1001   # 403 revoked"}})
		if err != nil {
			ln.Close()
			return err
		}
	}
	if started != nil {
		started(base, local)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(audit, slog.LevelWarn)}
	return serve(ctx, srv, ln, log)
}

// apiClient is the API's own Entra registration, for on-behalf-of: the
// tenant, the client ID and a secret, certificate or federated token file
// from the environment, or the resource's managed identity as the
// credential. In local mode it is the embedded provider's lending-api
// client. closeClient stops the managed identity's token renewal.
func apiClient(local *localidp.IdP, identity, tenant, clientID, miClientID string, log *slog.Logger) (client token.Client, closeClient func(), err error) {
	switch {
	case local != nil:
		return local.Client(idp.ClientLendingAPI), func() {}, nil
	case identity == "managed-identity":
		tokenURL, err := token.EntraTokenURL(os.Getenv(token.EnvAuthorityHost), tenant)
		if err != nil {
			return token.Client{}, nil, err
		}
		mi, err := azure.ManagedIdentity([]string{azure.TokenExchangeScope}, func(o *azure.ManagedIdentityOptions) {
			o.ClientID, o.Logger = miClientID, log
		})
		if err != nil {
			return token.Client{}, nil, fmt.Errorf("-identity managed-identity: %w", err)
		}
		client = token.Client{ID: clientID, TokenURL: tokenURL, Auth: token.ClientAssertion(azure.Assertion(mi))}
		return client, func() { mi.Close() }, nil
	default:
		client, err = token.ClientFromEnvironment(func(o *token.EnvironmentOptions) { o.Tenant, o.ClientID = tenant, clientID })
		return client, func() {}, err
	}
}

// commaList splits a comma-separated flag value; empty is no value.
func commaList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// serve runs srv on ln until ctx is done, then shuts it down gracefully:
// no new connections, requests in flight get ten seconds to finish.
func serve(ctx context.Context, srv *http.Server, ln net.Listener, log *slog.Logger) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

// watchPolicy reloads the policy on SIGHUP and, when every > 0, when the
// file's size or modification time changes. Reload swaps the policy
// atomically, keeps the current one when the new file does not load or
// would break the guard's routes, and records policy.reloaded either way.
func watchPolicy(ctx context.Context, p *rbac.Policy, path string, every time.Duration, log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	var tick <-chan time.Time
	if every > 0 {
		t := time.NewTicker(every)
		defer t.Stop()
		tick = t.C
	}
	stamp := func() string {
		fi, err := os.Stat(path)
		if err != nil {
			return ""
		}
		return fmt.Sprint(fi.Size(), fi.ModTime().UnixNano())
	}
	last := stamp()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		case <-tick:
			s := stamp()
			if s == last {
				continue
			}
			last = s
		}
		if err := p.Reload(ctx); err != nil {
			log.Error("policy not reloaded, the current one stays", "err", err)
		}
	}
}

// api holds what the on-behalf-of route needs.
type api struct {
	log      *slog.Logger
	obo      *token.Exchange
	cbsURL   string
	cbsScope string
	client   *http.Client
}

// account answers with the loan's account as the core banking API shows it
// to the caller: the API is called with a token Entra issues for the same
// user (on-behalf-of), never with the caller's token, whose audience is
// this API.
func (a *api) account(w http.ResponseWriter, r *http.Request) {
	p, _ := middleware.FromContext(r.Context())
	tok, err := a.obo.Token(r.Context(), p.Token(), []string{a.cbsScope})
	if err != nil {
		a.log.Warn("on-behalf-of failed", "oid", p.Claims.ObjectID, "err", err)
		status := http.StatusBadGateway
		if errors.Is(err, token.ErrSignInRequired) { // consent, MFA or a CAE claims challenge
			status = http.StatusUnauthorized
		}
		reply(w, status, map[string]any{"error": "downstream_token"})
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, a.cbsURL+"/accounts/"+url.PathEscape(r.PathValue("id")), nil)
	if err != nil {
		reply(w, http.StatusInternalServerError, nil)
		return
	}
	tok.SetAuthHeader(req)
	resp, err := a.client.Do(req)
	if err != nil {
		a.log.Warn("core banking unreachable", "err", err)
		reply(w, http.StatusBadGateway, map[string]any{"error": "downstream_unavailable"})
		return
	}
	defer resp.Body.Close()
	var body any
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body) != nil {
		a.log.Warn("core banking refused", "status", resp.StatusCode)
		reply(w, http.StatusBadGateway, map[string]any{"error": "downstream_refused"})
		return
	}
	reply(w, http.StatusOK, map[string]any{"loan": r.PathValue("id"), "core_banking": body})
}

// The handlers below stand in for the lending domain: the guard has checked
// everything, so they only read who the caller is.

func getLoan(w http.ResponseWriter, r *http.Request) {
	reply(w, http.StatusOK, caller(r, map[string]any{"loan": r.PathValue("id"), "status": "under_review"}))
}

func createLoan(w http.ResponseWriter, r *http.Request) {
	reply(w, http.StatusCreated, caller(r, map[string]any{"loan": "L-2001", "status": "submitted"}))
}

func getKYC(w http.ResponseWriter, r *http.Request) {
	reply(w, http.StatusOK, caller(r, map[string]any{"customer": r.PathValue("id"), "kyc": "verified"}))
}

// caller adds who called (Entra's immutable oid, never the mutable
// preferred_username) and the roles the policy gave them.
func caller(r *http.Request, m map[string]any) map[string]any {
	p, _ := middleware.FromContext(r.Context())
	m["caller"], m["roles"] = p.Claims.ObjectID, p.Decision.Roles()
	return m
}

func reply(w http.ResponseWriter, status int, body map[string]any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}
