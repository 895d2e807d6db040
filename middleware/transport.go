package middleware

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/idbridge/idbridge/internal/loopback"

	"github.com/idbridge/idbridge/token"
)

// TransportOptions configure a [Transport]. [NewTransport] copies them.
type TransportOptions struct {
	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
	// Hosts, when set, are the only hosts (host or host:port, as in the
	// request URL) that receive the token; requests to other hosts are sent
	// without one. Set it whenever the client may follow redirects or talk
	// to more than one service: a RoundTripper sees every redirect hop, and
	// a token attached to a foreign host is a token handed to it.
	Hosts []string
	// InsecureAllowHTTP attaches tokens to http:// URLs of hosts other than
	// loopback. Anyone on the network path can then read and replay the
	// token; use it only inside a test network.
	InsecureAllowHTTP bool
}

// Transport is an http.RoundTripper that sends each request with an
// "Authorization: Bearer" header from a token.Source, like
// golang.org/x/oauth2's Transport. It is safe for concurrent use by
// multiple goroutines; give the source a cache (token.Cache) so that
// requests do not each fetch a token.
//
// A request that already has an Authorization header is sent unchanged and
// no token is fetched: the caller's explicit credential wins, for example an
// on-behalf-of token set for one call. The request is never modified: the
// header goes on a clone. On every path the request body is closed, as the
// RoundTripper contract requires.
type Transport struct {
	src          token.Source
	base         http.RoundTripper
	hosts        map[string]bool
	insecureHTTP bool
}

// NewTransport returns a Transport attaching tokens from src.
func NewTransport(src token.Source, optFns ...func(*TransportOptions)) (*Transport, error) {
	var o TransportOptions
	for _, fn := range optFns {
		if fn != nil {
			fn(&o)
		}
	}
	if src == nil {
		return nil, fmt.Errorf("%w: a token source is required", ErrInvalidOptions)
	}
	t := &Transport{src: src, base: o.Base, insecureHTTP: o.InsecureAllowHTTP}
	if t.base == nil {
		t.base = http.DefaultTransport
	}
	if len(o.Hosts) > 0 {
		t.hosts = map[string]bool{}
		for _, h := range o.Hosts {
			if h == "" || strings.ContainsAny(h, "/@ ") {
				return nil, fmt.Errorf("%w: Hosts entry %q is not a host or host:port", ErrInvalidOptions, h)
			}
			t.hosts[strings.ToLower(h)] = true
		}
	}
	return t, nil
}

// RoundTrip sends req with a bearer token unless it already has an
// Authorization header or its host is not in TransportOptions.Hosts.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
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
	tok, err := t.src.Token(req.Context())
	if err != nil {
		return fail(fmt.Errorf("middleware: token for %s: %w", req.URL.Host, err))
	}
	if tok == nil || tok.AccessToken == "" || tok.Type() != "Bearer" || !isB64Token(tok.AccessToken) {
		return fail(ErrNoAccessToken)
	}
	req2 := req.Clone(req.Context())
	if req2.Header == nil {
		req2.Header = make(http.Header)
	}
	req2.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	return t.base.RoundTrip(req2)
}

func (t *Transport) forHost(req *http.Request) bool {
	if t.hosts == nil {
		return true
	}
	h := strings.ToLower(req.URL.Host)
	return t.hosts[h] || t.hosts[strings.ToLower(req.URL.Hostname())]
}

// isLoopback reports whether host is localhost or a loopback address.
