package samlsp

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/federation/saml"
	"github.com/idbridge/idbridge/internal/option"
	"github.com/idbridge/idbridge/internal/reason"
	"github.com/idbridge/idbridge/middleware"
)

const (
	// The defaults of Options.SessionTTL and Options.MaxSessions.
	defaultSessionTTL  = 8 * time.Hour
	defaultMaxSessions = 100000
	// requestTTL is how long a browser has to come back from the IdP.
	requestTTL   = 10 * time.Minute
	maxPending   = 100000
	sessionName  = "__Host-idbridge-saml"
	requestName  = "__Host-idbridge-saml-req"
	maxFormBytes = 1 << 20
)

// ErrNoSession is the error class of a request without a valid session.
var ErrNoSession = reason.New(reason.MissingClaim, "samlsp: no SAML session")

// Options configure an [SP]. New copies them.
type Options struct {
	// Policy decides on the claims at sign-in, as the bearer guard's
	// Options.Policy does (*rbac.Policy, or an adapter that decides as the
	// user's directory account); the Principal carries its Decision. Nil
	// leaves the zero Decision, which denies everything.
	Policy middleware.Policy
	// SessionTTL bounds a session; the IdP's SessionNotOnOrAfter may end it
	// sooner. Zero (or less) means 8 hours.
	SessionTTL time.Duration
	// MaxSessions bounds the session store. Zero (or less) means 100,000.
	MaxSessions int
	// AfterLogout is where the browser goes when the IdP has no single
	// logout endpoint; "" means "/".
	AfterLogout string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives operational warnings (a refused response), never
	// the response itself; nil means none. Audit events come from the
	// validator.
	Logger *slog.Logger
}

// SP is a SAML service provider for one web application. It is an
// http.Handler for its routes and wraps the application's handlers with
// Require. Safe for concurrent use by multiple goroutines.
type SP struct {
	v      *saml.Validator
	o      Options
	base   string // path prefix of the routes, e.g. "/saml/"
	acs    string // path of the ACS
	origin string // the SP's own origin, from the ACS URL: "https://host[:port]"

	mu       sync.Mutex
	sessions map[string]*session // guarded by mu
	pending  map[string]pending  // request ID → return path; guarded by mu
}

type session struct {
	p       *middleware.Principal
	nameID  string
	expires time.Time
}

type pending struct {
	returnTo string
	expires  time.Time
}

// New returns an SP answering at the routes beside v's ACS URL.
func New(v *saml.Validator, opts ...func(*Options)) (*SP, error) {
	if v == nil {
		return nil, fmt.Errorf("samlsp: %w: nil validator", idbridge.ErrInvalidOptions)
	}
	o := option.New(opts)
	option.Positive(&o.SessionTTL, defaultSessionTTL)
	option.Positive(&o.MaxSessions, defaultMaxSessions)
	if o.AfterLogout == "" {
		o.AfterLogout = "/"
	}
	if !localPath(o.AfterLogout) {
		return nil, fmt.Errorf("samlsp: %w: AfterLogout must be a local path", idbridge.ErrInvalidOptions)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	u, err := url.Parse(v.ACSURL())
	if err != nil || u.Path == "" || u.Path == "/" {
		return nil, fmt.Errorf("samlsp: %w: the validator's ACS URL needs a path such as /saml/acs", idbridge.ErrInvalidOptions)
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("samlsp: %w: the ACS URL must be https: the session cookie is Secure", idbridge.ErrInvalidOptions)
	}
	base := path.Dir(u.Path)
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	return &SP{v: v, o: o, base: base, acs: u.Path, origin: "https://" + strings.TrimSuffix(strings.ToLower(u.Host), ":443"),
		sessions: map[string]*session{}, pending: map[string]pending{}}, nil
}

// ServeHTTP serves the SP's routes (see the package doc).
func (sp *SP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case sp.acs:
		sp.serveACS(w, r)
	case sp.base + "metadata":
		b, err := sp.v.ServiceProviderMetadata()
		if err != nil {
			http.Error(w, "metadata unavailable", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/samlmetadata+xml")
		w.Write(b)
	case sp.base + "login":
		sp.startLogin(w, r, r.URL.Query().Get("return"))
	case sp.base + "logout":
		sp.serveLogout(w, r)
	default:
		http.NotFound(w, r)
	}
}

// Require runs next for requests with a session, with the Principal in
// the context (middleware.FromContext). A GET without one is sent to the
// IdP and brought back; anything else gets 401.
func (sp *SP) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s := sp.session(r); s != nil {
			next.ServeHTTP(w, r.WithContext(middleware.NewContext(r.Context(), s.p)))
			return
		}
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			sp.startLogin(w, r, r.URL.RequestURI())
			return
		}
		w.Header().Set("WWW-Authenticate", `SAML realm="`+sp.v.EntityID()+`"`)
		http.Error(w, "sign-in required", http.StatusUnauthorized)
	})
}

// Principal returns the principal of r's session, if any.
func (sp *SP) Principal(r *http.Request) (*middleware.Principal, bool) {
	if s := sp.session(r); s != nil {
		return s.p, true
	}
	return nil, false
}

func (sp *SP) session(r *http.Request) *session {
	c, err := r.Cookie(sessionName)
	if err != nil {
		return nil
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	s, ok := sp.sessions[c.Value]
	if !ok {
		return nil
	}
	if !sp.o.Now().Before(s.expires) {
		delete(sp.sessions, c.Value)
		return nil
	}
	return s
}

func (sp *SP) startLogin(w http.ResponseWriter, r *http.Request, returnTo string) {
	if !localPath(returnTo) {
		returnTo = "/"
	}
	// The RelayState is an opaque handle: the return path stays here.
	handle := randomID()
	redirect, id, err := sp.v.AuthnRequest(handle)
	if err != nil {
		sp.warn(r.Context(), "saml authn request failed", err)
		http.Error(w, "sign-in unavailable", http.StatusServiceUnavailable)
		return
	}
	now := sp.o.Now()
	sp.mu.Lock()
	if len(sp.pending) >= maxPending {
		for k, p := range sp.pending {
			if !now.Before(p.expires) {
				delete(sp.pending, k)
			}
		}
	}
	full := len(sp.pending) >= maxPending
	if !full {
		sp.pending[id] = pending{returnTo: returnTo, expires: now.Add(requestTTL)}
	}
	sp.mu.Unlock()
	if full {
		http.Error(w, "too many sign-ins in progress", http.StatusServiceUnavailable)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: requestName, Value: id, Path: "/", MaxAge: int(requestTTL / time.Second),
		Secure: true, HttpOnly: true, SameSite: http.SameSiteNoneMode})
	http.Redirect(w, r, redirect, http.StatusFound)
}

func (sp *SP) serveACS(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	// Only the request this browser started may be answered.
	var ids []string
	var p pending
	if c, err := r.Cookie(requestName); err == nil {
		sp.mu.Lock()
		if pp, ok := sp.pending[c.Value]; ok && sp.o.Now().Before(pp.expires) {
			ids, p = []string{c.Value}, pp
		}
		sp.mu.Unlock()
	}
	a, err := sp.v.Validate(r.Context(), r.PostForm.Get("SAMLResponse"), ids...)
	if err != nil {
		sp.warn(r.Context(), "saml response refused", err)
		http.Error(w, "sign-in refused ("+string(reason.Of(err))+")", http.StatusForbidden)
		return
	}
	if len(ids) > 0 {
		sp.mu.Lock()
		delete(sp.pending, ids[0])
		sp.mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: requestName, Value: "", Path: "/", MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteNoneMode})
	}
	pr := &middleware.Principal{Claims: a.Claims}
	if sp.o.Policy != nil {
		pr.Decision = sp.o.Policy.DecideContext(r.Context(), a.Claims)
	}
	now := sp.o.Now()
	exp := now.Add(sp.o.SessionTTL)
	if !a.SessionNotOnOrAfter.IsZero() && a.SessionNotOnOrAfter.Before(exp) {
		exp = a.SessionNotOnOrAfter
	}
	id := randomID()
	sp.mu.Lock()
	if len(sp.sessions) >= sp.o.MaxSessions {
		for k, s := range sp.sessions {
			if !now.Before(s.expires) {
				delete(sp.sessions, k)
			}
		}
	}
	full := len(sp.sessions) >= sp.o.MaxSessions
	if !full {
		sp.sessions[id] = &session{p: pr, nameID: a.NameID, expires: exp}
	}
	sp.mu.Unlock()
	if full {
		http.Error(w, "too many sessions", http.StatusServiceUnavailable)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionName, Value: id, Path: "/", Expires: exp,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	returnTo := p.returnTo
	if returnTo == "" {
		returnTo = "/"
	}
	http.Redirect(w, r, returnTo, http.StatusSeeOther)
}

// serveLogout ends the session. Only a same-origin POST may: a GET (a
// cross-site link or <img>) or a form posted from another site would let
// any page log the user out (logout CSRF). The SameSite=Lax session cookie
// alone does not stop it: a cross-site top-level POST still receives the
// response that clears the cookie.
func (sp *SP) serveLogout(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	if !sp.sameOrigin(r) {
		http.Error(w, "cross-origin logout refused", http.StatusForbidden)
		return
	}
	var nameID string
	if c, err := r.Cookie(sessionName); err == nil {
		sp.mu.Lock()
		if s, ok := sp.sessions[c.Value]; ok {
			nameID = s.nameID
			delete(sp.sessions, c.Value)
		}
		sp.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: sessionName, Value: "", Path: "/", MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	to := sp.o.AfterLogout
	if nameID != "" {
		if u, err := sp.v.LogoutRequest(nameID, ""); err == nil && u != "" {
			to = u
		}
	}
	http.Redirect(w, r, to, http.StatusFound)
}

// sameOrigin reports whether r comes from the SP's own pages. Browsers
// send Origin on every POST (Origin: null from sandboxed or redirected
// contexts, refused) and Sec-Fetch-Site on every request; a request with
// neither is not from a browser page that could be forged cross-site.
func (sp *SP) sameOrigin(r *http.Request) bool {
	if o := r.Header.Values("Origin"); len(o) > 0 {
		return len(o) == 1 && strings.EqualFold(o[0], sp.origin)
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return true
	}
	return false // cross-site, same-site (a sibling subdomain), or unknown
}

func (sp *SP) warn(ctx context.Context, msg string, err error) {
	if sp.o.Logger != nil {
		sp.o.Logger.WarnContext(ctx, msg, "reason", reason.Of(err), "error", err.Error())
	}
}

// localPath reports whether p is a path on this site: "/x", never
// "//host" or "/\host", which browsers treat as another origin, nor one
// with a control character: browsers drop tabs and newlines from a
// Location, so "/\t/host" is "//host".
func localPath(p string) bool {
	for i := 0; i < len(p); i++ {
		if p[i] < 0x20 || p[i] == 0x7f {
			return false
		}
	}
	return strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "//") && !strings.HasPrefix(p, "/\\")
}

func randomID() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}
