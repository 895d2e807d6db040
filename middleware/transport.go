package middleware

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/idbridge/idbridge/internal/loopback"
	"github.com/idbridge/idbridge/internal/option"
	"github.com/idbridge/idbridge/middleware/internal/bearer"
	"github.com/idbridge/idbridge/token"
)

// TransportOptions configure a [Transport]. [NewTransport] copies them.
type TransportOptions struct {
	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
	// Hosts, when set, are the only hosts (host or host:port, as in the
	// request URL) that receive the token; requests to other hosts are sent
	// without one, and so are redirects from https to http. Set it when the
	// client talks to more than one service, or when a redirect may lead
	// to another host of the same service.
	//
	// Empty means the token goes only to the origin (scheme, host and
	// port) of the request the Transport was given: an http.Client's
	// redirect to another origin is sent without it. A RoundTripper sees
	// every redirect hop as a new request, and net/http strips the
	// Authorization header of a cross-host hop only when the caller set
	// it, so without this rule the token would be handed to whatever host
	// the server redirects to.
	Hosts []string
	// InsecureAllowHTTP attaches tokens to http:// URLs of hosts other than
	// loopback. Anyone on the network path can then read and replay the
	// token; use it only inside a test network.
	InsecureAllowHTTP bool
	// DisableRetry turns off the one retry with a new token after a 401
	// whose challenge says error="invalid_token" (see [Transport]).
	DisableRetry bool
	// Now is the clock of the retry's rate limit; nil means time.Now.
	Now func() time.Time
}

// Transport is an http.RoundTripper that sends each request with an
// "Authorization: Bearer" header from a token.Source, like
// golang.org/x/oauth2's Transport. It is safe for concurrent use by
// multiple goroutines; give the source a cache (token.Cache) so that
// requests do not each fetch a token.
//
// The token goes only where TransportOptions.Hosts allows: by default to
// the origin of the request the Transport was given, never to the host a
// redirect leads to.
//
// A request that already has an Authorization header is sent unchanged and
// no token is fetched: the caller's explicit credential wins, for example an
// on-behalf-of token set for one call. The request is never modified: the
// header goes on a clone. On every path the request body is closed, as the
// RoundTripper contract requires.
//
// When the server answers 401 with a Bearer challenge saying
// error="invalid_token" — the token was revoked, or expired early by the
// server's clock — and the source can drop its token (it has an
// Invalidate() method, as token.Cache has), the Transport invalidates it,
// fetches a new one and sends the request once more. It does so only when
// the body can be sent again (no body, or http.Request.GetBody set, as
// http.NewRequest sets it for in-memory bodies), at most once per request,
// and invalidates at most once every 30 seconds: a server that refuses
// every token must not turn each request into a call to the IdP. Other
// challenges, such as a claims challenge (insufficient_claims), are the
// caller's to answer and are returned as they are.
type Transport struct {
	r            bearer.Renewer
	base         http.RoundTripper
	hosts        map[string]bool
	insecureHTTP bool
}

// NewTransport returns a Transport attaching tokens from src.
func NewTransport(src token.Source, optFns ...func(*TransportOptions)) (*Transport, error) {
	o := option.New(optFns)
	if src == nil {
		return nil, invalidOptions("a token source is required")
	}
	t := &Transport{base: o.Base, insecureHTTP: o.InsecureAllowHTTP}
	t.r.Init(src, o.DisableRetry, o.Now)
	if t.base == nil {
		t.base = http.DefaultTransport
	}
	if len(o.Hosts) > 0 {
		t.hosts = map[string]bool{}
		for _, h := range o.Hosts {
			if h == "" || strings.ContainsAny(h, "/@ ") {
				return nil, invalidOptions("Hosts entry %q is not a host or host:port", h)
			}
			t.hosts[strings.ToLower(h)] = true
		}
	}
	return t, nil
}

// RoundTrip sends req with a bearer token unless it already has an
// Authorization header or its destination may not receive the token (see
// TransportOptions.Hosts), and retries once with a new token as described
// on [Transport].
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL == nil {
		return t.base.RoundTrip(req) // refused there ("nil Request.URL"), with no token
	}
	if _, set := req.Header["Authorization"]; set || !t.forHost(req) {
		return t.base.RoundTrip(req)
	}
	fail := func(err error) (*http.Response, error) {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	if req.URL.Scheme != "https" && !(t.insecureHTTP || loopback.Host(req.URL.Hostname())) {
		return fail(fmt.Errorf("%w: %s URL for host %s", ErrInsecureTransport, req.URL.Scheme, req.URL.Hostname()))
	}
	tok, err := t.r.Src.Token(req.Context())
	if err != nil {
		return fail(fmt.Errorf("middleware: token for %s: %w", req.URL.Host, err))
	}
	if !bearer.Usable(tok) {
		return fail(ErrNoAccessToken)
	}
	// Whether the body can be sent twice is known only before the first
	// send: GetBody may not be set on the clone's behalf afterwards.
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	resp, err := t.base.RoundTrip(withToken(req, req.Body, tok.AccessToken))
	if err != nil || resp.StatusCode != http.StatusUnauthorized || !t.r.CanRenew() || !replayable || req.Context().Err() != nil {
		return resp, err
	}
	return t.retry(req, resp, tok.AccessToken)
}

// retry sends req once more with a new token when resp, the 401 answer to
// the refused token, says invalid_token and a new token and body can be
// had; otherwise it returns resp, its body unread.
func (t *Transport) retry(req *http.Request, resp *http.Response, refused string) (*http.Response, error) {
	if bearer.ChallengeError(resp.Header.Values("WWW-Authenticate")) != CodeInvalidToken {
		return resp, nil
	}
	fresh, ok := t.r.Renew(req.Context(), refused)
	if !ok {
		return resp, nil
	}
	body := req.Body
	if req.GetBody != nil && body != nil && body != http.NoBody {
		var err error
		if body, err = req.GetBody(); err != nil {
			// The first answer stands; its body is still unread.
			return resp, nil
		}
	}
	// Read a little of the refused answer so the connection can be reused.
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
	resp.Body.Close()
	return t.base.RoundTrip(withToken(req, body, fresh))
}

// withToken returns a clone of req with body and the Authorization header.
func withToken(req *http.Request, body io.ReadCloser, tok string) *http.Request {
	r := req.Clone(req.Context())
	r.Body = body
	if r.Header == nil {
		r.Header = make(http.Header)
	}
	r.Header.Set("Authorization", "Bearer "+tok)
	return r
}

// forHost reports whether req may carry the token. An http.Client's
// redirect hop carries the response that caused it (req.Response), whose
// Request is the hop before; the first request of the chain is the one
// the caller gave. Without Hosts only that request's origin gets the
// token; with Hosts every listed host does. Either way a hop never gets it
// over http when the chain began on https.
func (t *Transport) forHost(req *http.Request) bool {
	first := req
	for hops := 0; first.Response != nil; hops++ {
		prev := first.Response.Request
		if prev == nil || prev == first || hops > maxRedirectChain {
			// A base RoundTripper that did not record the request: the
			// origin is unknown, so the hop is treated as foreign.
			return false
		}
		first = prev
	}
	if first != req && strings.EqualFold(first.URL.Scheme, "https") && !strings.EqualFold(req.URL.Scheme, "https") {
		return false
	}
	if t.hosts == nil {
		return first == req || sameOrigin(first.URL, req.URL)
	}
	h := strings.ToLower(req.URL.Host)
	return t.hosts[h] || t.hosts[strings.ToLower(req.URL.Hostname())]
}

// maxRedirectChain bounds the walk to the first request of a redirect
// chain; net/http's Client stops after 10 redirects.
const maxRedirectChain = 64

// sameOrigin reports whether a and b have the same scheme, host and port
// (RFC 6454), the port defaulting by scheme.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) &&
		originPort(a) == originPort(b)
}

func originPort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "https") {
		return "443"
	}
	return "80"
}
