// Command corebanking is the bank's core banking API, on premises: it
// cannot use cloud discovery, so it validates tokens against a JWKS URL or
// a key set file; it decides on the caller's AD/LDAP groups, read live from
// the directory; and users without a token sign in with their directory
// password.
//
// # Running it against Entra ID and Active Directory
//
//	export LDAP_BIND_PASSWORD=<reader password>
//	corebanking -addr :8443 -tls-cert tls.crt -tls-key tls.key \
//	    -issuer https://login.microsoftonline.com/<tenant ID>/v2.0 -audience <CBS API client ID> \
//	    -jwks-url https://login.microsoftonline.com/<tenant ID>/discovery/v2.0/keys \
//	    -ldap-url ldaps://dc1.corp.bank.example -ldap-base-dn dc=corp,dc=bank,dc=example \
//	    -ldap-bind-dn cn=cbs-reader,ou=services,dc=corp,dc=bank,dc=example \
//	    -ldap-user-filter '(&(objectClass=user)(userPrincipalName={username}))'
//
// An air-gapped install passes -jwks-file keys.json (a JWK Set copied from
// the IdP) instead of -jwks-url, and is restarted with a new file when the
// IdP rotates its keys. Flags fall back to CBS_ADDR, CBS_ISSUER,
// CBS_AUDIENCE, CBS_JWKS_URL, CBS_JWKS_FILE, CBS_POLICY, CBS_USER_CLAIM,
// CBS_TLS_CERT, CBS_TLS_KEY, LDAP_URL, LDAP_BASE_DN, LDAP_BIND_DN,
// LDAP_CA_FILE and LDAP_USER_FILTER; the bind password is read from
// LDAP_BIND_PASSWORD only, never from a flag.
//
// # Running it locally
//
// Without -issuer it starts the embedded OpenID provider as the bank's
// tenant (its keys saved to a file, to use the static key set path) and,
// without -ldap-url, OpenLDAP's slapd seeded with the bank's directory
// (apt-get install slapd):
//
//	go run ./examples/corebanking -print-token
//	curl -i -H "Authorization: Bearer $AMIT" http://127.0.0.1:8090/customers/C-2231/kyc
//	curl -i -u amit.r@bank.example http://127.0.0.1:8090/accounts/A-1/loans   # password: ldaptest.PasswordAmit
//
// # What it shows
//
//   - jwks with a JWKS URL or a static key set (jwks.ParseJWKS), no discovery.
//   - rbac's LDAP group source (rbac/ldap as Options.GroupSources): AD group
//     CBS_ViewOnly → roles LoanViewer and KYC_ReadOnly (policy.yaml), for
//     token holders (found in the directory by the token's UPN) and for
//     directory logins alike; a disabled account is refused.
//   - A directory-credential login (HTTP Basic, checked with an LDAP bind as
//     the user) beside middleware.Guard's bearer tokens, accepted only over
//     TLS or on loopback.
//   - A web portal with SAML sign-in (middleware/samlsp) when
//     -saml-metadata-url is set: /saml/ (metadata, login, acs, logout) and
//     /portal/accounts/{id}/loans, decided as the user's directory account
//     like token holders. Against Entra:
//     -saml-metadata-url https://login.microsoftonline.com/<tenant ID>/federationmetadata/2007-06/federationmetadata.xml
//     -saml-acs-url https://cbs.bank.example/saml/acs (Entra's Reply URL; the
//     Identifier defaults to https://cbs.bank.example/saml).
//   - Audit events as JSON lines on stderr; graceful shutdown.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/examples/internal/cli"
	"github.com/idbridge/idbridge/examples/internal/localidp"
	"github.com/idbridge/idbridge/integration/idp"
	"github.com/idbridge/idbridge/integration/ldaptest"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/rbac"
	rbacldap "github.com/idbridge/idbridge/rbac/ldap"
)

// directoryIssuer is the iss of the claims rbac/ldap builds; policy.yaml
// declares it as the issuer corp-ad.
const directoryIssuer = "ldap://corp.bank.example"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	status := cli.Status(os.Stderr, "corebanking", run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil))
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
	fs := flag.NewFlagSet("corebanking", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", env("CBS_ADDR", "127.0.0.1:8090"), "listen address")
	issuer := fs.String("issuer", env("CBS_ISSUER", ""), "token issuer (iss); empty runs locally")
	audience := fs.String("audience", env("CBS_AUDIENCE", idp.CBSAppID), "accepted aud: the API's client ID (v2.0 tokens)")
	jwksURL := fs.String("jwks-url", env("CBS_JWKS_URL", ""), "the issuer's JWK Set URL")
	jwksFile := fs.String("jwks-file", env("CBS_JWKS_FILE", ""), "a JWK Set file, when the IdP cannot be reached")
	policyPath := fs.String("policy", env("CBS_POLICY", "examples/corebanking/policy.yaml"), "policy file")
	userClaim := fs.String("user-claim", env("CBS_USER_CLAIM", "preferred_username"), "token claim naming the directory account")
	tlsCert := fs.String("tls-cert", env("CBS_TLS_CERT", ""), "TLS certificate (PEM); directory logins need TLS off loopback")
	tlsKey := fs.String("tls-key", env("CBS_TLS_KEY", ""), "TLS private key (PEM)")
	ldapURL := fs.String("ldap-url", env("LDAP_URL", ""), "directory, ldaps:// (local: a seeded slapd)")
	baseDN := fs.String("ldap-base-dn", env("LDAP_BASE_DN", ""), "where users and groups are searched")
	bindDN := fs.String("ldap-bind-dn", env("LDAP_BIND_DN", ""), "read-only service account (password: LDAP_BIND_PASSWORD)")
	caFile := fs.String("ldap-ca-file", env("LDAP_CA_FILE", ""), "CA certificates (PEM) of the directory; empty: system roots")
	userFilter := fs.String("ldap-user-filter", env("LDAP_USER_FILTER", "(&(objectClass=inetOrgPerson)(mail={username}))"), "finds a user by UPN")
	printToken := fs.Bool("print-token", false, "local mode: print the scenario users' bearer tokens to stdout")
	samlMetadata := fs.String("saml-metadata-url", env("CBS_SAML_METADATA_URL", ""), "the tenant's SAML federation metadata URL; enables portal sign-in with SAML")
	samlEntity := fs.String("saml-entity-id", env("CBS_SAML_ENTITY_ID", ""), "the portal's SAML entity ID (Entra's Identifier); default: the ACS URL without /acs")
	samlACS := fs.String("saml-acs-url", env("CBS_SAML_ACS_URL", ""), "the portal's public https assertion consumer service URL, such as https://cbs.bank.example/saml/acs")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	// Configuration errors show at start, naming the flag and variable.
	cert, err := cli.LoadKeyPair(cli.Setting{Flag: "tls-cert", Env: "CBS_TLS_CERT", Value: *tlsCert},
		cli.Setting{Flag: "tls-key", Env: "CBS_TLS_KEY", Value: *tlsKey})
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil)).With("service", "corebanking")
	audit := log.Handler()

	bindPassword := os.Getenv("LDAP_BIND_PASSWORD")
	tlsConfig, err := directoryTLS(*caFile)
	if err != nil {
		return err
	}
	var local *localidp.IdP
	if *issuer == "" { // local mode: everything below this block is production code
		l, err := startLocal(ctx, *ldapURL == "")
		if err != nil {
			return err
		}
		defer l.Close()
		local = l.IdP
		*issuer, *jwksURL, *jwksFile = local.Issuer(), "", l.jwksFile
		if l.slapd != nil {
			*ldapURL, *baseDN, *bindDN, bindPassword, tlsConfig = l.slapd.LDAPSURL, l.slapd.BaseDN, l.slapd.BindDN, l.slapd.BindPassword, l.slapd.TLSConfig()
		}
	}

	trusted, err := trustedIssuer(*issuer, *jwksURL, *jwksFile, log)
	if err != nil {
		return err
	}
	v, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{trusted}
		o.Audiences = []string{*audience}
		o.Algorithms = []string{"RS256"}
		o.Audit = audit
	})
	if err != nil {
		return err
	}
	defer v.Close()

	dir, err := rbacldap.NewDirectory(*ldapURL, func(o *rbacldap.Options) {
		o.BindDN, o.BindPassword, o.BaseDN, o.TLSConfig = *bindDN, bindPassword, *baseDN, tlsConfig
		o.UserFilter, o.Issuer = *userFilter, directoryIssuer
	})
	if err != nil {
		return fmt.Errorf("directory settings (-ldap-url, -ldap-base-dn, -ldap-bind-dn, -ldap-user-filter, LDAP_BIND_PASSWORD): %w", err)
	}
	defer dir.Close()
	if err := dir.Check(ctx); err != nil { // fail at start, not on the first request
		return err
	}
	policy, err := rbac.NewPolicy(*policyPath, func(o *rbac.Options) {
		o.GroupSources = map[string]rbac.GroupSource{"corp-ad": dir} // groups live from the directory
		o.Audit = audit
	})
	if err != nil {
		return err
	}
	guard, err := middleware.New(v, func(o *middleware.Options) {
		o.Policy = asDirectoryUser{policy: policy, claim: *userClaim}
		o.Realm, o.Audit = "cbs", audit
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	a := &api{guard: guard, dir: dir, policy: policy, log: log, logins: loginsAllowed(*tlsCert != "", ln.Addr())}
	if !a.logins {
		log.Warn("directory logins disabled: they need -tls-cert or a loopback address")
	}
	mux := http.NewServeMux()
	mux.Handle("GET /accounts/{id}/loans", a.route("loan:read", account))
	mux.Handle("GET /customers/{id}/kyc", a.route("kyc:read", kyc))
	mux.Handle("POST /loans/{id}/approve", a.route("loan:approve", approve))
	if *samlMetadata != "" { // the web portal: SAML sign-in, decided like tokens
		p, err := newPortal(ctx, *samlMetadata, *samlEntity, *samlACS, asDirectoryUser{policy: policy, claim: *userClaim}, log)
		if err != nil {
			ln.Close()
			return err
		}
		defer p.Close()
		mux.Handle("/saml/", p.sp)
		mux.Handle("GET /portal/accounts/{id}/loans", p.page("loan:read", account))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(audit, slog.LevelWarn)}

	base := "http://" + ln.Addr().String()
	log.Info("listening", "url", base, "jwks_file", *jwksFile, "jwks_url", *jwksURL, "ldap", *ldapURL)
	if local != nil {
		if err := local.Announce(ctx, stdout, localHint(base, *jwksFile, *ldapURL, *printToken)); err != nil {
			ln.Close()
			return err
		}
	}
	if started != nil {
		started(base, local)
	}
	return serve(ctx, srv, ln, cert, log)
}

// serve runs srv on ln, over TLS when cert is set, until ctx is done, then
// shuts it down gracefully: no new connections, requests in flight get ten
// seconds to finish.
func serve(ctx context.Context, srv *http.Server, ln net.Listener, cert *tls.Certificate, log *slog.Logger) error {
	errc := make(chan error, 1)
	go func() {
		if cert != nil {
			srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12}
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
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

// localMode is what run starts without -issuer: the embedded OpenID
// provider as the bank's tenant, its keys saved to a JWK Set file and,
// when asked for, a slapd seeded with the bank's directory.
type localMode struct {
	*localidp.IdP
	dir      string // holds the key set file and slapd's files
	jwksFile string
	slapd    *ldaptest.Server // nil unless asked for
}

// startLocal starts local mode; withSlapd starts the directory too.
func startLocal(ctx context.Context, withSlapd bool) (l *localMode, err error) {
	l = &localMode{}
	if l.dir, err = os.MkdirTemp("", "corebanking-local-"); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			l.Close()
		}
	}()
	if l.IdP, err = localidp.Start(); err != nil {
		return nil, err
	}
	if l.jwksFile, err = l.WriteJWKS(ctx, l.dir); err != nil {
		return nil, err
	}
	if withSlapd {
		if l.slapd, err = ldaptest.NewServer(l.dir); err != nil {
			return nil, fmt.Errorf("local mode needs OpenLDAP's slapd (apt-get install slapd) or -ldap-url: %w", err)
		}
	}
	return l, nil
}

// Close stops what startLocal started, newest first, and removes its
// directory.
func (l *localMode) Close() {
	if l.slapd != nil {
		l.slapd.Stop()
	}
	if l.IdP != nil {
		l.IdP.Close()
	}
	os.RemoveAll(l.dir)
}

// localHint is what local mode prints once the API listens at base.
func localHint(base, jwksFile, ldapURL string, printTokens bool) localidp.Hint {
	return localidp.Hint{App: "corebanking", URL: base, PrintTokens: printTokens,
		Scopes: []string{idp.ResourceCBS + "/Accounts.Read"},
		Notes:  []string{"token keys: static key set " + jwksFile, "directory: " + ldapURL + " (amit.r, priya.s and leo.v@bank.example; passwords in integration/ldaptest)"},
		Try: []string{`curl -i -H "Authorization: Bearer $AMIT" ` + base + "/customers/C-2231/kyc",
			`curl -i -H "Authorization: Bearer $LEO" ` + base + "/accounts/A-1/loans   # 403: disabled in the directory",
			"curl -i -u amit.r@bank.example " + base + "/accounts/A-1/loans   # curl asks for the password (ldaptest.PasswordAmit)"}}
}

// directoryTLS trusts the CA certificates in caFile for the directory's
// TLS; with no file it is nil, which trusts the system roots.
func directoryTLS(caFile string) (*tls.Config, error) {
	if caFile == "" {
		return nil, nil
	}
	ca := cli.Setting{Flag: "ldap-ca-file", Env: "LDAP_CA_FILE", Value: caFile}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("%s: want the directory's CA certificates (PEM): %w", ca, err)
	}
	tlsConfig := &tls.Config{RootCAs: x509.NewCertPool(), MinVersion: tls.VersionTLS12}
	if !tlsConfig.RootCAs.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s %q holds no PEM certificate: want the directory's CA certificates", ca, caFile)
	}
	return tlsConfig, nil
}

// trustedIssuer is the token issuer and where its keys come from: a URL
// fetched and refreshed by the validator, or a file read once. Never
// discovery.
func trustedIssuer(issuer, jwksURL, jwksFile string, log *slog.Logger) (jwks.Issuer, error) {
	if (jwksURL == "") == (jwksFile == "") {
		return jwks.Issuer{}, errors.New("set one of -jwks-url (CBS_JWKS_URL) and -jwks-file (CBS_JWKS_FILE): the issuer's JWK Set URL, or a JWK Set file")
	}
	if jwksURL != "" {
		return jwks.Issuer{Issuer: issuer, JWKSURL: jwksURL}, nil
	}
	raw, err := os.ReadFile(jwksFile)
	if err != nil {
		return jwks.Issuer{}, fmt.Errorf("-jwks-file (CBS_JWKS_FILE): want a JWK Set file: %w", err)
	}
	keys, skipped, err := jwks.ParseJWKS(raw)
	if err != nil {
		return jwks.Issuer{}, fmt.Errorf("-jwks-file (CBS_JWKS_FILE) %q: want a JWK Set: %w", jwksFile, err)
	}
	for _, s := range skipped {
		log.Warn("key skipped", "file", jwksFile, "err", s)
	}
	return jwks.Issuer{Issuer: issuer, Keys: jwks.NewStaticKeySet(keys...)}, nil
}

// loginsAllowed says whether directory logins (passwords) may be accepted:
// only over TLS or on a loopback address.
func loginsAllowed(overTLS bool, addr net.Addr) bool {
	tcp, _ := addr.(*net.TCPAddr)
	return overTLS || (tcp != nil && tcp.IP.IsLoopback())
}

// asDirectoryUser decides for a token holder as for their directory
// account: the token proves who calls, the directory (the policy's LDAP
// group source) says what they may do. The account is named by the token
// claim claim, the UPN in preferred_username by default; with Entra, an
// on-premises attribute emitted as an optional claim is sturdier.
type asDirectoryUser struct {
	policy *rbac.Policy
	claim  string
}

// DecideContext implements middleware.Policy.
func (d asDirectoryUser) DecideContext(ctx context.Context, c *idbridge.Claims) rbac.Decision {
	var account string
	if raw, ok := c.Get(d.claim); ok {
		json.Unmarshal(raw, &account) // not a string: "" finds no one
	}
	return d.policy.DecideContext(ctx, &idbridge.Claims{Issuer: directoryIssuer, PreferredUsername: account,
		ObjectID: c.ObjectID, TenantID: c.TenantID, AMR: c.AMR})
}

// api admits requests with a bearer token or directory credentials.
type api struct {
	guard  *middleware.Guard
	dir    *rbacldap.Directory
	policy *rbac.Policy
	log    *slog.Logger
	logins bool // directory logins allowed (TLS or loopback)
}

// route requires permission of a bearer token (the guard) or, for users
// without one, of HTTP Basic directory credentials: an LDAP bind as the
// user checks the password, then the policy decides on the account.
// Password guessing is bounded by the directory's own lockout policy.
func (a *api) route(permission string, h http.HandlerFunc) http.Handler {
	bearer := a.guard.Handler(h, middleware.Require(permission))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, password, ok := r.BasicAuth()
		if !ok || !a.logins {
			bearer.ServeHTTP(w, r)
			return
		}
		claims, err := a.dir.Authenticate(r.Context(), user, password)
		if err != nil { // wrong password, unknown user and disabled account look the same
			a.log.Warn("directory login refused", "reason", idbridge.ReasonOf(err), "remote_addr", r.RemoteAddr)
			w.Header().Set("WWW-Authenticate", `Basic realm="cbs", charset="UTF-8"`)
			status := http.StatusUnauthorized
			if errors.Is(err, rbacldap.ErrUnavailable) {
				status = http.StatusServiceUnavailable
			}
			http.Error(w, http.StatusText(status), status)
			return
		}
		d, err := a.policy.Authorize(r.Context(), claims, permission) // records authz.allowed/denied
		if err != nil {
			status := http.StatusForbidden
			if idbridge.ReasonOf(err) == "idp_unavailable" {
				status = http.StatusServiceUnavailable
			}
			http.Error(w, http.StatusText(status), status)
			return
		}
		h(w, r.WithContext(middleware.NewContext(r.Context(), &middleware.Principal{Claims: claims, Decision: d})))
	})
}

// The handlers stand in for the core banking domain; the caller is the
// token's oid or the directory account's DN.

func account(w http.ResponseWriter, r *http.Request) {
	reply(w, r, map[string]any{"account": r.PathValue("id"), "loans": []string{"L-1001"}})
}

func kyc(w http.ResponseWriter, r *http.Request) {
	reply(w, r, map[string]any{"customer": r.PathValue("id"), "kyc": "verified"})
}

func approve(w http.ResponseWriter, r *http.Request) {
	reply(w, r, map[string]any{"loan": r.PathValue("id"), "status": "approved"})
}

func reply(w http.ResponseWriter, r *http.Request, m map[string]any) {
	p, _ := middleware.FromContext(r.Context())
	m["caller"], m["roles"] = p.Claims.ObjectID, p.Decision.Roles()
	if p.Claims.ObjectID == "" {
		m["caller"] = p.Claims.Subject
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(m)
}
