package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/idbridge/idbridge/middleware"
)

// hopLog records, per request path, whether the request carried a token.
type hopLog struct {
	mu   sync.Mutex
	hops []string
}

func (l *hopLog) add(r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	mark := "-"
	if r.Header.Get("Authorization") == "Bearer "+secretToken {
		mark = "+"
	} else if r.Header.Get("Authorization") != "" {
		mark = "?"
	}
	l.hops = append(l.hops, mark+r.URL.Path)
}

func (l *hopLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.hops)
}

// redirector answers /go?to=URL with a 302 to URL and everything else 200.
func redirector(log *hopLog) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.add(r)
		if to := r.URL.Query().Get("to"); to != "" {
			http.Redirect(w, r, to, http.StatusFound)
		}
	})
}

// Without Hosts the token goes to the origin of the request the Transport
// was given and nowhere else, whatever the redirects say: net/http strips
// only the Authorization header the caller set, not one a RoundTripper
// adds on each hop.
func TestTransportRedirectDefaultOrigin(t *testing.T) {
	var apiLog, otherLog hopLog
	api := httptest.NewServer(redirector(&apiLog))
	t.Cleanup(api.Close)
	other := httptest.NewServer(redirector(&otherLog))
	t.Cleanup(other.Close)
	alias := strings.Replace(api.URL, "127.0.0.1", "localhost", 1) // same server, another host name

	tests := []struct {
		name      string
		url       string
		api, othr []string
	}{
		{"same origin", api.URL + "/go?to=/landing", []string{"+/go", "+/landing"}, nil},
		{"other host", api.URL + "/go?to=" + other.URL + "/landing", []string{"+/go"}, []string{"-/landing"}},
		{"other host name for the same server", api.URL + "/go?to=" + alias + "/landing", []string{"+/go", "-/landing"}, nil},
		{"other port", api.URL + "/go?to=" + other.URL + "/go?to=" + api.URL + "/back",
			[]string{"+/go", "+/back"}, []string{"-/go"}},
		{"started elsewhere", other.URL + "/go?to=" + api.URL + "/landing", []string{"-/landing"}, []string{"+/go"}},
		{"relative redirect", api.URL + "/go?to=landing", []string{"+/go", "+/landing"}, nil},
		{"protocol-relative to another host", api.URL + "/go?to=" + url.QueryEscape("//"+other.Listener.Addr().String()+"/landing"), []string{"+/go"}, []string{"-/landing"}},
		// net/http sends the user info as Basic credentials ("?"); the token stays.
		{"user info naming the API, host another", api.URL + "/go?to=" + url.QueryEscape("http://"+api.Listener.Addr().String()+"@"+other.Listener.Addr().String()+"/landing"), []string{"+/go"}, []string{"?/landing"}},
		{"user info on the same origin (its Basic credentials, not the token)", api.URL + "/go?to=" + url.QueryEscape("http://u:p@"+api.Listener.Addr().String()+"/landing"), []string{"+/go", "?/landing"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			apiLog.hops, otherLog.hops = nil, nil
			tr, err := middleware.NewTransport(&countingSource{Tok: goodToken()})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := (&http.Client{Transport: tr}).Get(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := apiLog.get(); !slices.Equal(got, tt.api) {
				t.Errorf("api saw %q, want %q", got, tt.api)
			}
			if got := otherLog.get(); !slices.Equal(got, tt.othr) {
				t.Errorf("other host saw %q, want %q", got, tt.othr)
			}
		})
	}
}

// A redirect from https to http never carries the token, even to a host
// that Hosts lists.
func TestTransportRedirectDowngrade(t *testing.T) {
	var secureLog, plainLog hopLog
	plain := httptest.NewServer(redirector(&plainLog))
	t.Cleanup(plain.Close)
	secure := httptest.NewTLSServer(redirector(&secureLog))
	t.Cleanup(secure.Close)

	for name, hosts := range map[string][]string{"default": nil, "listed host": {"127.0.0.1"}} {
		t.Run(name, func(t *testing.T) {
			secureLog.hops, plainLog.hops = nil, nil
			tr, err := middleware.NewTransport(&countingSource{Tok: goodToken()}, func(o *middleware.TransportOptions) {
				o.Base = secure.Client().Transport
				o.Hosts = hosts
			})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := (&http.Client{Transport: tr}).Get(secure.URL + "/go?to=" + plain.URL + "/landing")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := secureLog.get(); !slices.Equal(got, []string{"+/go"}) {
				t.Errorf("https server saw %q", got)
			}
			if got := plainLog.get(); !slices.Equal(got, []string{"-/landing"}) {
				t.Errorf("http server saw %q, want the hop without a token", got)
			}
		})
	}
}

// A base RoundTripper that does not record the request on its response
// hides where a redirect chain began: the hop is sent without a token.
func TestTransportRedirectUnknownOrigin(t *testing.T) {
	var log hopLog
	api := httptest.NewServer(redirector(&log))
	t.Cleanup(api.Close)
	tr, err := middleware.NewTransport(&countingSource{Tok: goodToken()}, func(o *middleware.TransportOptions) {
		o.Base = roundTripFunc(func(r *http.Request) (*http.Response, error) {
			resp, err := http.DefaultTransport.RoundTrip(r)
			if resp != nil {
				resp.Request = nil
			}
			return resp, err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: tr}).Get(api.URL + "/go?to=/landing")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := log.get(); !slices.Equal(got, []string{"+/go", "-/landing"}) {
		t.Errorf("saw %q", got)
	}
}

// The caller's own Authorization header is the caller's: net/http's rules
// for it apply (stripped on a hop to another domain), the Transport adds
// nothing.
func TestTransportRedirectCallerHeader(t *testing.T) {
	var apiLog, otherLog hopLog
	api := httptest.NewServer(redirector(&apiLog))
	t.Cleanup(api.Close)
	other := httptest.NewServer(redirector(&otherLog))
	t.Cleanup(other.Close)
	src := &countingSource{Tok: goodToken()}
	tr, _ := middleware.NewTransport(src)
	req, _ := http.NewRequest("GET", api.URL+"/go?to="+strings.Replace(other.URL, "127.0.0.1", "localhost", 1)+"/landing", nil)
	req.Header.Set("Authorization", "Bearer "+secretToken)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := otherLog.get(); !slices.Equal(got, []string{"-/landing"}) {
		t.Errorf("other host saw %q", got)
	}
	if src.Calls.Load() != 0 {
		t.Error("a token was fetched although the caller set one")
	}
}
