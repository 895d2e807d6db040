package middleware

import (
	"encoding/json"
	"net/http"
	"strings"
)

// maxRouteLen bounds the request path recorded in audit events; the path
// is caller input.
const maxRouteLen = 256

// Handler returns next guarded by reqs: a request reaches next only with a
// valid bearer token that meets every requirement, and next finds the
// [Principal] with [FromContext]. With no reqs the route uses
// Options.Default, and without those it is denied.
//
// Handler checks reqs once, here. It panics, as http.ServeMux does for a
// bad pattern, when a requirement names a permission, role or scope that
// Options.Policy does not declare: such a route would
// deny every caller, and the typo must stop the service at start, not
// show up as 403s blamed on clients. Other requirements that cannot be
// evaluated (see [ErrMisconfigured]) make every request fail with 500
// rather than let any through. Put CORS handling in front of the guard:
// browsers send preflight requests without credentials.
func (g *Guard) Handler(next http.Handler, reqs ...Requirement) http.Handler {
	if len(reqs) == 0 {
		reqs = g.defaults
	}
	rt := g.compile(reqs)
	if rt.undeclared {
		panic(rt.err.Error())
	}
	if rt.skip {
		return next
	}
	return &httpGuard{g: g, rt: rt, next: next}
}

// Middleware returns [Guard.Handler] with reqs as a func(http.Handler)
// http.Handler, the shape routers such as chi take.
func (g *Guard) Middleware(reqs ...Requirement) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler { return g.Handler(next, reqs...) }
}

type httpGuard struct {
	g    *Guard
	rt   *route
	next http.Handler
}

func (h *httpGuard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g := h.g
	ctx := r.Context()
	var info *reqInfo
	if g.audit.Enabled(ctx) {
		info = &reqInfo{route: httpRoute(r), remote: r.RemoteAddr, start: g.now()}
	}
	tok, fromQuery, err := bearerFromRequest(r, g.maxSize, g.allowQuery)
	if err != nil {
		g.writeHTTP(w, r, g.rejectEarly(ctx, err, info))
		return
	}
	p, e := g.admit(ctx, h.rt, tok, info)
	if e != nil {
		g.writeHTTP(w, r, e)
		return
	}
	r2 := r.WithContext(NewContext(ctx, p))
	if fromQuery {
		r2.URL = stripQueryToken(r.URL)
		r2.RequestURI = r2.URL.RequestURI()
		// A form parsed in front of the guard holds the token too; drop it
		// so that ParseForm reads the stripped URL (PostForm is kept).
		r2.Form = nil
	}
	h.next.ServeHTTP(w, r2)
}

// httpRoute names the route for audit events: the ServeMux pattern that
// matched when there is one, else the method and path.
func httpRoute(r *http.Request) string {
	if r.Pattern != "" {
		return r.Pattern
	}
	route := r.Method + " " + r.URL.Path
	if len(route) > maxRouteLen {
		route = strings.ToValidUTF8(route[:maxRouteLen], "")
	}
	return route
}

// writeHTTP sets the challenge and hands the response to the error handler.
func (g *Guard) writeHTTP(w http.ResponseWriter, r *http.Request, e *Error) {
	h := w.Header()
	if c := g.challenge(e); c != "" {
		h.Set("WWW-Authenticate", c)
	}
	h.Set("Cache-Control", "no-store")
	g.errHandler(w, r, e)
}

// challenge builds the WWW-Authenticate value of RFC 6750 §3 for e, or ""
// when the failure is not about credentials (500, 503). It carries the
// reason class, never the token or the cause's detail.
func (g *Guard) challenge(e *Error) string {
	if e.Status != http.StatusUnauthorized && e.Status != http.StatusForbidden && e.Status != http.StatusBadRequest {
		return ""
	}
	var b strings.Builder
	b.WriteString("Bearer")
	sep := " "
	param := func(k, v string) {
		b.WriteString(sep)
		b.WriteString(k)
		b.WriteString(`="`)
		b.WriteString(v)
		b.WriteByte('"')
		sep = ", "
	}
	if g.realm != "" {
		param("realm", g.realm)
	}
	if e.Code != "" {
		if e.Code == CodeInsufficientClaims && g.authzURI != "" {
			param("authorization_uri", g.authzURI)
		}
		param("error", e.Code)
		if e.class != "" {
			param("error_description", string(e.class))
		}
		if e.Code == CodeInsufficientClaims {
			param("claims", g.stepUp)
		}
		if len(e.Scope) > 0 {
			param("scope", strings.Join(e.Scope, " "))
		}
	}
	return b.String()
}

// WriteError is the default Options.ErrorHandler: a JSON body with the
// RFC 6750 error code (or an RFC 6749 one such as temporarily_unavailable)
// and the reason class. A custom handler can call it after logging.
func WriteError(w http.ResponseWriter, _ *http.Request, e *Error) {
	code, desc := e.describe()
	body := struct {
		Error       string `json:"error"`
		Description string `json:"error_description,omitempty"`
	}{Error: code, Description: desc}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(body)
}

// describe returns what a client is told: an error code (RFC 6750's, or for
// answers it does not cover an RFC 6749-style one) and the reason class.
func (e *Error) describe() (code, desc string) {
	code, desc = e.Code, string(e.class)
	if code != "" {
		return code, desc
	}
	switch e.Status {
	case http.StatusUnauthorized:
		// No credentials: RFC 6750 §3.1 says not to explain further.
		return "unauthorized", ""
	case http.StatusServiceUnavailable:
		return "temporarily_unavailable", desc
	case http.StatusForbidden:
		return "forbidden", desc
	}
	return "server_error", ""
}
