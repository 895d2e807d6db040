package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/reason"
	"github.com/idbridge/idbridge/rbac"
	"github.com/idbridge/idbridge/rbac/graph"
	"github.com/idbridge/idbridge/token"
)

const (
	tenant   = "9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c"
	oid      = "0d6f1e0b-1c0e-4d5a-9d8e-3b1f2a7c9e01"
	appToken = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.app-token-secret"
	rmGroup  = "4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13"
)

// fakeGraph answers getMemberObjects the way Microsoft Graph v1.0 does,
// and fails the test on any request that does not follow the documented
// shape.
type fakeGraph struct {
	t        *testing.T
	calls    atomic.Int32
	mu       sync.Mutex
	respond  func(n int, w http.ResponseWriter) // n counts from 1
	wantBody string
}

func newFakeGraph(t *testing.T, respond func(n int, w http.ResponseWriter)) (*fakeGraph, *httptest.Server) {
	f := &fakeGraph{t: t, respond: respond, wantBody: `{"securityEnabledOnly":true}`}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeGraph) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(f.calls.Add(1))
	body, _ := io.ReadAll(r.Body)
	switch {
	case r.Method != http.MethodPost:
		f.t.Errorf("method %s", r.Method)
	case r.URL.Path != "/v1.0/users/"+oid+"/getMemberObjects":
		f.t.Errorf("path %s", r.URL.Path)
	case r.Header.Get("Authorization") != "Bearer "+appToken:
		f.t.Errorf("authorization header %q", r.Header.Get("Authorization"))
	case r.Header.Get("Content-Type") != "application/json":
		f.t.Errorf("content type %q", r.Header.Get("Content-Type"))
	case string(body) != f.wantBody:
		f.t.Errorf("body %s, want %s", body, f.wantBody)
	}
	f.mu.Lock()
	respond := f.respond
	f.mu.Unlock()
	respond(n, w)
}

func ok(ids ...string) func(int, http.ResponseWriter) {
	return func(_ int, w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8")
		fmt.Fprintf(w, `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#Collection(Edm.String)","value":[%s]}`, quoteAll(ids))
	}
}

func graphError(status int, code, msg string, header ...string) func(int, http.ResponseWriter) {
	return func(_ int, w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":{"code":%q,"message":%q,"innerError":{"date":"2024-05-01T10:00:00","request-id":"a1b2","client-request-id":"a1b2"}}}`, code, msg)
	}
}

func quoteAll(ids []string) string {
	q := make([]string, len(ids))
	for i, id := range ids {
		q[i] = `"` + id + `"`
	}
	return strings.Join(q, ",")
}

var staticToken = token.SourceFunc(func(context.Context) (*token.Token, error) {
	return &token.Token{AccessToken: appToken, TokenType: "Bearer"}, nil
})

func newSource(t *testing.T, srv *httptest.Server, optFns ...func(*graph.Options)) *graph.Source {
	t.Helper()
	fns := append([]func(*graph.Options){func(o *graph.Options) {
		o.Endpoint = srv.URL + "/v1.0"
		o.HTTPClient = srv.Client()
	}}, optFns...)
	s, err := graph.NewSource(tenant, staticToken, fns...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func user() *idbridge.Claims {
	return &idbridge.Claims{ObjectID: oid, TenantID: tenant, ClaimNames: map[string]string{"groups": "src1"}}
}

func TestGroupsAndCache(t *testing.T) {
	f, srv := newFakeGraph(t, ok(strings.ToUpper(rmGroup), "fee2c45b-915a-4a64-b130-f4eb9e75525e"))
	now := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	var clock atomic.Pointer[time.Time]
	clock.Store(&now)
	s := newSource(t, srv, func(o *graph.Options) { o.TTL = time.Minute; o.Now = func() time.Time { return *clock.Load() } })

	for i := 0; i < 3; i++ {
		g, err := s.Groups(context.Background(), user())
		if err != nil {
			t.Fatal(err)
		}
		if len(g) != 2 || g[0] != rmGroup {
			t.Fatalf("groups %v", g)
		}
	}
	if n := f.calls.Load(); n != 1 {
		t.Fatalf("%d requests, want 1 (cached)", n)
	}
	later := now.Add(61 * time.Second)
	clock.Store(&later)
	if _, err := s.Groups(context.Background(), user()); err != nil {
		t.Fatal(err)
	}
	if n := f.calls.Load(); n != 2 {
		t.Fatalf("%d requests after TTL, want 2", n)
	}
	s.Forget(strings.ToUpper(oid))
	if _, err := s.Groups(context.Background(), user()); err != nil || f.calls.Load() != 3 {
		t.Fatalf("Forget did not drop the entry: %v, %d calls", err, f.calls.Load())
	}
}

func TestAllGroups(t *testing.T) {
	f, srv := newFakeGraph(t, ok(rmGroup))
	f.wantBody = `{"securityEnabledOnly":false}`
	s := newSource(t, srv, func(o *graph.Options) { o.AllGroups = true })
	if _, err := s.Groups(context.Background(), user()); err != nil {
		t.Fatal(err)
	}
}

// inMemory serves a client's requests with a handler, without sockets, so
// that a test can run in a synctest bubble.
type inMemory struct{ h http.Handler }

func (m inMemory) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	m.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

func TestConcurrentLookupsShareOneRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		f := &fakeGraph{t: t, wantBody: `{"securityEnabledOnly":true}`, respond: func(n int, w http.ResponseWriter) {
			<-release
			ok(rmGroup)(n, w)
		}}
		s, err := graph.NewSource(tenant, staticToken, func(o *graph.Options) {
			o.Endpoint = "https://graph.example/v1.0"
			o.HTTPClient = &http.Client{Transport: inMemory{f}}
		})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 10)
		for i := 0; i < 10; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.Groups(context.Background(), user())
				errs <- err
			}()
		}
		synctest.Wait() // all ten wait: one in the request, nine for its result
		close(release)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if n := f.calls.Load(); n != 1 {
			t.Fatalf("%d requests for 10 concurrent callers", n)
		}
	})
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name    string
		respond func(int, http.ResponseWriter)
		calls   int32
		code    string
		status  int
	}{
		{"not found", graphError(404, "Request_ResourceNotFound", "Resource '"+oid+"' does not exist or one of its queried reference-property objects are not present."), 1, "Request_ResourceNotFound", 404},
		{"forbidden", graphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."), 1, "Authorization_RequestDenied", 403},
		{"too many groups", graphError(400, "Directory_ResultSizeLimitExceeded", "Request result size exceeds the limit."), 1, "Directory_ResultSizeLimitExceeded", 400},
		{"throttled for too long", graphError(429, "TooManyRequests", "Too many requests.", "Retry-After", "3600"), 1, "TooManyRequests", 429},
		{"throttled every time", graphError(429, "TooManyRequests", "Too many requests.", "Retry-After", "0"), 3, "TooManyRequests", 429},
		{"server error, not JSON", func(_ int, w http.ResponseWriter) { w.WriteHeader(502); io.WriteString(w, "<html>bad gateway</html>") }, 1, "", 502},
		{"malformed body", func(_ int, w http.ResponseWriter) { io.WriteString(w, `{"value":`) }, 1, "", 0},
		{"no value", func(_ int, w http.ResponseWriter) { io.WriteString(w, `{"@odata.context":"x"}`) }, 1, "", 0},
		{"value not IDs", ok("not-a-guid"), 1, "", 0},
		{"value wrong type", func(_ int, w http.ResponseWriter) { io.WriteString(w, `{"value":"x"}`) }, 1, "", 0},
		{"a page of several", func(_ int, w http.ResponseWriter) {
			io.WriteString(w, `{"value":["`+rmGroup+`"],"@odata.nextLink":"https://graph.microsoft.com/v1.0/users/x/getMemberObjects?$skiptoken=abc"}`)
		}, 1, "", 0},
		{"huge body", func(_ int, w http.ResponseWriter) { io.WriteString(w, `{"value":["`+strings.Repeat("a", 5<<20)+`"]}`) }, 1, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, srv := newFakeGraph(t, tt.respond)
			s := newSource(t, srv)
			_, err := s.Groups(context.Background(), user())
			if !errors.Is(err, graph.ErrUnavailable) || reason.Of(err) != reason.IdPUnavailable {
				t.Fatalf("err %v, want ErrUnavailable", err)
			}
			if strings.Contains(err.Error(), appToken) || strings.Contains(fmt.Sprintf("%+v %#v", err, err), appToken) {
				t.Fatal("error carries the app token")
			}
			if n := f.calls.Load(); n != tt.calls {
				t.Errorf("%d requests, want %d", n, tt.calls)
			}
			var ge *graph.Error
			if tt.status != 0 {
				if !errors.As(err, &ge) || ge.Status != tt.status || ge.Code != tt.code {
					t.Errorf("graph error %+v, want %d %s", ge, tt.status, tt.code)
				}
			}
		})
	}
}

func TestRetryAfterThenSuccess(t *testing.T) {
	f, srv := newFakeGraph(t, func(n int, w http.ResponseWriter) {
		if n == 1 {
			graphError(429, "TooManyRequests", "Too many requests.", "Retry-After", "0")(n, w)
			return
		}
		ok(rmGroup)(n, w)
	})
	s := newSource(t, srv)
	g, err := s.Groups(context.Background(), user())
	if err != nil || len(g) != 1 || f.calls.Load() != 2 {
		t.Fatalf("groups %v, err %v, %d calls", g, err, f.calls.Load())
	}
}

func TestRejectedBeforeAnyRequest(t *testing.T) {
	f, srv := newFakeGraph(t, ok(rmGroup))
	s := newSource(t, srv)
	tests := []struct {
		name string
		c    *idbridge.Claims
		want error
	}{
		{"nil", nil, graph.ErrNoUser},
		{"no oid", &idbridge.Claims{TenantID: tenant}, graph.ErrNoUser},
		{"oid with a path", &idbridge.Claims{ObjectID: "../../groups", TenantID: tenant}, graph.ErrNoUser},
		{"other tenant", &idbridge.Claims{ObjectID: oid, TenantID: "00000000-0000-0000-0000-000000000000"}, graph.ErrTenant},
	}
	for _, tt := range tests {
		if _, err := s.Groups(context.Background(), tt.c); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	if f.calls.Load() != 0 {
		t.Error("a request was sent")
	}
}

func TestTokenFailure(t *testing.T) {
	_, srv := newFakeGraph(t, ok(rmGroup))
	boom := errors.New("token endpoint down")
	for _, tf := range []token.SourceFunc{
		func(context.Context) (*token.Token, error) { return nil, boom },
		func(context.Context) (*token.Token, error) { return &token.Token{}, nil },
	} {
		s, err := graph.NewSource(tenant, tf, func(o *graph.Options) { o.Endpoint = srv.URL + "/v1.0" })
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Groups(context.Background(), user()); !errors.Is(err, graph.ErrUnavailable) {
			t.Errorf("token failure: %v", err)
		}
	}
}

func TestCallerContextEndsWait(t *testing.T) {
	stop := make(chan struct{})
	_, srv := newFakeGraph(t, func(n int, w http.ResponseWriter) { <-stop })
	defer close(stop)
	s := newSource(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.Groups(ctx, user())
	if !errors.Is(err, graph.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("caller waited past its context")
	}
}

func TestNewSourceValidates(t *testing.T) {
	tests := []struct {
		tenant   string
		tok      token.Source
		endpoint string
	}{
		{"contoso", staticToken, ""},
		{tenant, nil, ""},
		{tenant, staticToken, "http://graph.example/v1.0"},
		{tenant, staticToken, "::"},
		{tenant, staticToken, "https://graph.example/v1.0?x=1"},
	}
	for _, tt := range tests {
		if _, err := graph.NewSource(tt.tenant, tt.tok, func(o *graph.Options) { o.Endpoint = tt.endpoint }); !errors.Is(err, idbridge.ErrInvalidOptions) {
			t.Errorf("NewSource(%q, endpoint %q) accepted", tt.tenant, tt.endpoint)
		}
	}
}

// The app token goes to Graph as the bearer token.
func TestTokenSource(t *testing.T) {
	_, srv := newFakeGraph(t, ok(rmGroup))
	src := token.SourceFunc(func(context.Context) (*token.Token, error) {
		return &token.Token{AccessToken: appToken, TokenType: "Bearer"}, nil
	})
	s, err := graph.NewSource(tenant, src, func(o *graph.Options) { o.Endpoint = srv.URL + "/v1.0" })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Groups(context.Background(), user()); err != nil {
		t.Fatal(err)
	}
}

// The whole path: an overage token, groups from Graph, a decision.
func TestPolicyWithGraphOverage(t *testing.T) {
	_, srv := newFakeGraph(t, ok(rmGroup))
	s := newSource(t, srv)
	p, err := rbac.NewPolicy("../../examples/policies/bank.yaml", func(o *rbac.Options) { o.Groups = s })
	if err != nil {
		t.Fatal(err)
	}
	c := user()
	c.Issuer = "https://login.microsoftonline.com/" + tenant + "/v2.0"
	d := p.DecideContext(context.Background(), c)
	if !d.OK() || !d.Allowed("loan:read") {
		t.Fatalf("overage RM: %v", d.Err())
	}

	_, down := newFakeGraph(t, graphError(503, "ServiceUnavailable", "Service unavailable.", "Retry-After", "3600"))
	p2, _ := rbac.NewPolicy("../../examples/policies/bank.yaml", func(o *rbac.Options) { o.Groups = newSource(t, down) })
	d = p2.Decide(c)
	if d.OK() || !errors.Is(d.Err(), rbac.ErrGroupSource) || d.Reason() != reason.IdPUnavailable {
		t.Fatalf("Graph down: %v (%s)", d.Err(), d.Reason())
	}
}

// A token source that returns neither a token nor an error fails the lookup
// instead of panicking.
func TestNilToken(t *testing.T) {
	_, srv := newFakeGraph(t, ok(rmGroup))
	src := token.SourceFunc(func(context.Context) (*token.Token, error) { return nil, nil })
	s, err := graph.NewSource(tenant, src, func(o *graph.Options) { o.Endpoint = srv.URL + "/v1.0" })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Groups(context.Background(), user()); !errors.Is(err, graph.ErrUnavailable) {
		t.Fatalf("nil token: %v", err)
	}
}

// TestLookupsAreAudited: each Graph lookup is one groups.resolved event
// (none for a cache hit), a Graph refusal carries its code, a user of
// another tenant is recorded before any request, and the app token never
// appears.
func TestLookupsAreAudited(t *testing.T) {
	var buf bytes.Buffer
	_, srv := newFakeGraph(t, ok(rmGroup, "fee2c45b-915a-4a64-b130-f4eb9e75525e"))
	s := newSource(t, srv, func(o *graph.Options) { o.Audit = slog.NewJSONHandler(&buf, nil) })
	for range 2 {
		if _, err := s.Groups(context.Background(), user()); err != nil {
			t.Fatal(err)
		}
	}
	other := user()
	other.TenantID = "0b6a1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d"
	_, _ = s.Groups(context.Background(), other)
	_, denied := newFakeGraph(t, graphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."))
	_, _ = newSource(t, denied, func(o *graph.Options) { o.Audit = slog.NewJSONHandler(&buf, nil) }).Groups(context.Background(), user())

	var evs []map[string]any
	for line := range strings.Lines(buf.String()) {
		m := map[string]any{}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, m)
	}
	want := []struct{ outcome, reason, code string }{
		{"success", "", ""},
		{"failure", "tenant", ""},
		{"failure", "idp_unavailable", "Authorization_RequestDenied"},
	}
	if len(evs) != len(want) {
		t.Fatalf("%d events, want %d:\n%s", len(evs), len(want), buf.String())
	}
	for i, w := range want {
		ev := evs[i]
		if ev["event"] != "groups.resolved" || ev["source"] != "graph" || ev["outcome"] != w.outcome || ev["oid"] != oid {
			t.Errorf("event %d: %v", i, ev)
		}
		if w.reason != "" && (ev["reason"] != w.reason || ev["level"] != "WARN") {
			t.Errorf("event %d reason %v, want %s", i, ev["reason"], w.reason)
		}
		if w.code != "" && ev["error_code"] != w.code {
			t.Errorf("event %d error_code %v", i, ev["error_code"])
		}
	}
	if evs[0]["groups"] != 2.0 {
		t.Errorf("groups %v, want 2", evs[0]["groups"])
	}
	if strings.Contains(buf.String(), appToken) {
		t.Fatal("the app token reached the audit log")
	}
}
