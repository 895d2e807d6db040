package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/idbridge/idbridge/integration/idp"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/revocation"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/middleware/telemetry"
	"github.com/idbridge/idbridge/rbac"
)

// api is one service on 127.0.0.1 whose routes a middleware.Guard protects:
// in production the lending API runs in Azure and the analytics API in AWS;
// here they share a process but nothing else — each has its own validator,
// its own copy of the policy and its own key set fetched from the provider.
type api struct {
	name      string
	url       string // http://127.0.0.1:port
	host      string // 127.0.0.1:port, for middleware.TransportOptions.Hosts
	srv       *http.Server
	validator *jwks.Validator

	mu  sync.Mutex
	log []string // the service's log lines not yet shown; guarded by mu
}

// apiConfig is what differs between the two APIs.
type apiConfig struct {
	name     string // service name, also the WWW-Authenticate realm
	audience string // the App ID URI the API accepts in aud
	policy   *rbac.Policy
	audit    slog.Handler
	routes   func(mux *http.ServeMux, g *middleware.Guard)
	// revocations, when set, is checked after validation and before the
	// policy (see story_leaver.go).
	revocations revocation.Checker
}

// startAPI builds the validator and the guard, registers the routes and
// serves them on a random loopback port.
func startAPI(p *idp.Provider, c apiConfig) (*api, error) {
	// The validator trusts one issuer and its key set, named as in the
	// tenant's metadata (jwks.Entra builds both for a real tenant; leaving
	// JWKSURL empty finds it by OpenID discovery). Audience, algorithm and
	// tenant are required: without them a validator would accept tokens
	// minted for any other API or tenant.
	v, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: p.Issuer(), JWKSURL: p.JWKSURL()}}
		o.Audiences = []string{c.audience}
		o.Algorithms = []string{"RS256"}
		o.Tenants = []string{bankTenantID}
		o.HTTPClient = p.HTTPClient()
		o.Audit = c.audit
	})
	if err != nil {
		return nil, err
	}
	a := &api{name: c.name, validator: v}
	var mv middleware.Validator = v
	if c.revocations != nil {
		mv = revocation.NewValidator(v, c.revocations)
	}
	g, err := middleware.New(mv, func(o *middleware.Options) {
		o.Policy = c.policy
		o.Realm = c.name
		o.Audit = c.audit
		// The caller only learns the reason class; the detail (which
		// mapping, which permission) goes to the service's own log.
		o.ErrorHandler = func(w http.ResponseWriter, r *http.Request, e *middleware.Error) {
			a.logf("%s log: %d %s %s: %v", c.name, e.Status, r.Method, r.URL.Path, e.Err)
			middleware.WriteError(w, r, e)
		}
	})
	if err != nil {
		v.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	c.routes(mux, g)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		v.Close()
		return nil, err
	}
	a.url, a.host = "http://"+ln.Addr().String(), ln.Addr().String()
	a.srv = &http.Server{Handler: telemetry.Extract(mux), // joins the caller's trace
		ReadHeaderTimeout: 5 * time.Second}
	go a.srv.Serve(ln) // returns http.ErrServerClosed on close
	return a, nil
}

// logf records a line of the service's own log. The demo prints it after
// the client's view of the same request (see takeLog), so that the story
// reads in order.
func (a *api) logf(format string, args ...any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.log = append(a.log, fmt.Sprintf(format, args...))
}

// takeLog returns and forgets the log lines recorded so far.
func (a *api) takeLog() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	l := a.log
	a.log = nil
	return l
}

// close stops the server, waiting for requests in flight, and the validator's
// key set.
func (a *api) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a.srv.Shutdown(ctx)
	a.validator.Close()
}

// lendingRoutes are the lending API's routes, each with the permission the
// bank policy must grant. Requirements are declared on the route, so an
// undeclared route is closed rather than open.
func lendingRoutes(mux *http.ServeMux, g *middleware.Guard) {
	mux.Handle("GET /me", g.Handler(http.HandlerFunc(whoami), middleware.Authenticated()))
	mux.Handle("GET /loans/{id}", g.Handler(http.HandlerFunc(ok), middleware.Require("loan:read")))
	mux.Handle("GET /kyc/{customer}", g.Handler(http.HandlerFunc(ok), middleware.Require("kyc:read")))
	mux.Handle("POST /loans", g.Handler(http.HandlerFunc(ok), middleware.Require("loan:create")))
	mux.Handle("POST /loans/{id}/approve", g.Handler(http.HandlerFunc(ok), middleware.Require("loan:approve")))
}

// analyticsRoutes are the analytics API's: reading the loan book needs the
// same loan:read permission, from the same policy file.
func analyticsRoutes(mux *http.ServeMux, g *middleware.Guard) {
	mux.Handle("GET /reports/loan-book", g.Handler(http.HandlerFunc(ok), middleware.Require("loan:read")))
}

// reply is what the APIs answer; it is made for the demo to print.
type reply struct {
	Name    string   `json:"name"`
	OID     string   `json:"oid"`
	TID     string   `json:"tid,omitempty"`
	Scopes  []string `json:"scp,omitempty"`
	AMR     []string `json:"amr,omitempty"`
	Groups  []string `json:"groups,omitempty"`
	Roles   []string `json:"roles"`
	Explain string   `json:"explain,omitempty"`
}

// ok answers an admitted request with who the caller is and the roles the
// policy gave them. The guard has checked everything already.
func ok(w http.ResponseWriter, r *http.Request) {
	p, _ := middleware.FromContext(r.Context())
	writeJSON(w, reply{Name: p.Claims.Name, OID: p.Claims.ObjectID, Roles: p.Decision.Roles()})
}

// whoami answers with the verified claims and the policy's explanation of
// its decision: what a support engineer asks for first.
func whoami(w http.ResponseWriter, r *http.Request) {
	p, _ := middleware.FromContext(r.Context())
	c := p.Claims
	writeJSON(w, reply{
		Name: c.Name, OID: c.ObjectID, TID: c.TenantID, Scopes: c.Scopes, AMR: c.AMR, Groups: c.Groups,
		Roles: p.Decision.Roles(), Explain: p.Decision.Explain().String(),
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// answer is one API call as the client saw it.
type answer struct {
	status    int
	challenge string // WWW-Authenticate, on 401 and 403
	reply     reply
}

// call sends one request through client, whose middleware.Transport
// attaches the bearer token.
func call(ctx context.Context, client *http.Client, method, url string) (answer, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return answer{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, challenge: resp.Header.Get("WWW-Authenticate")}
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&a.reply); err != nil {
			return a, fmt.Errorf("demo: %s %s: %w", method, url, err)
		}
	}
	return a, nil
}

// describe renders an answer in one line: the roles on success, the RFC
// 6750 error and its reason class otherwise.
func (a answer) describe() string {
	if a.status == http.StatusOK {
		return fmt.Sprintf("200  roles %s", strings.Join(a.reply.Roles, ", "))
	}
	if a.challenge == "" {
		return fmt.Sprint(a.status)
	}
	return fmt.Sprintf("%d  %s", a.status, a.challenge)
}

// errUnexpected marks an API answer the story did not expect.
var errUnexpected = errors.New("demo: unexpected answer")
