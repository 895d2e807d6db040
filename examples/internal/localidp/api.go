package localidp

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"time"

	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/middleware"
)

// API is a downstream API that accepts the provider's tokens for one
// audience and answers every GET with who called it: a stand-in for the
// core banking API that the lending API calls on behalf of its user.
type API struct {
	// URL is http://127.0.0.1:<port>.
	URL string

	srv *http.Server
	v   *jwks.Validator
}

// StartAPI starts an API accepting tokens whose aud is audience. Close it
// when done.
func (p *IdP) StartAPI(audience string) (*API, error) {
	v, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = p.Issuers()
		o.Audiences = []string{audience}
		o.Algorithms = []string{"RS256"}
		o.Tenants = []string{TenantID}
		o.HTTPClient = p.HTTPClient()
	})
	if err != nil {
		return nil, err
	}
	g, err := middleware.New(v, func(o *middleware.Options) { o.Realm = "downstream" })
	if err != nil {
		v.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		v.Close()
		return nil, err
	}
	echo := func(w http.ResponseWriter, r *http.Request) {
		pr, _ := middleware.FromContext(r.Context())
		c := pr.Claims
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"path": r.URL.Path, "oid": c.ObjectID, "name": c.Name,
			"azp": c.Client(), "aud": c.Audience, "scp": c.Scopes,
		})
	}
	mux := http.NewServeMux()
	mux.Handle("GET /", g.Handler(http.HandlerFunc(echo), middleware.Authenticated()))
	a := &API{URL: "http://" + ln.Addr().String(), v: v,
		srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}}
	go a.srv.Serve(ln) // returns http.ErrServerClosed on Close
	return a, nil
}

// Close stops the API, waiting up to five seconds for requests in flight.
func (a *API) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := a.srv.Shutdown(ctx)
	a.v.Close()
	return err
}
