package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/jwkstest"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/middleware/telemetry"
	"github.com/idbridge/idbridge/rbac"
)

const policy = `version: 1
issuers:
  - {name: idp, issuer: %q}
groups:
  - {id: 8d6b7f5e-1c2a-4b3d-9e8f-0a1b2c3d4e5f, name: Lending_RM}
roles:
  - {name: LoanViewer, permissions: [loan:read]}
mappings:
  - id: rm
    when: {group: Lending_RM}
    grant: {roles: [LoanViewer]}
`

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) events(t *testing.T) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for line := range strings.Lines(s.b.String()) {
		m := map[string]any{}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// stack is a guarded API as a service wires it: a traced request (as
// otelhttp would start), a guard and a caching validator auditing through
// one telemetry handler.
type stack struct {
	idp     *jwkstest.Server
	spans   *tracetest.SpanRecorder
	reader  *sdkmetric.ManualReader
	audit   *syncBuffer
	handler http.Handler
	tracer  trace.Tracer
}

func newStack(t *testing.T) *stack {
	t.Helper()
	s := &stack{idp: jwkstest.Start(t), spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader(), audit: &syncBuffer{}}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(s.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(s.reader))
	t.Cleanup(func() { tp.Shutdown(context.Background()); mp.Shutdown(context.Background()) })
	h, err := telemetry.NewHandler(slog.NewJSONHandler(s.audit, nil), func(o *telemetry.Options) {
		o.TracerProvider, o.MeterProvider = tp, mp
	})
	if err != nil {
		t.Fatal(err)
	}
	v, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: s.idp.Issuer(), JWKSURL: s.idp.JWKSURL()}}
		o.Audiences = []string{jwkstest.APIClientID}
		o.Algorithms = []string{"RS256"}
		o.Cache = &jwks.CacheOptions{}
		o.Audit = h
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	p, err := rbac.ParsePolicy(fmt.Appendf(nil, policy, s.idp.Issuer()))
	if err != nil {
		t.Fatal(err)
	}
	g, err := middleware.New(v, func(o *middleware.Options) { o.Policy, o.Audit = p, h })
	if err != nil {
		t.Fatal(err)
	}
	s.tracer = tp.Tracer("test")
	guarded := g.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), middleware.Require("loan:read"))
	s.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, sp := s.tracer.Start(r.Context(), "GET /loans")
		defer sp.End()
		guarded.ServeHTTP(w, r.WithContext(ctx))
	})
	return s
}

func (s *stack) do(auth string) int {
	r := httptest.NewRequest("GET", "/loans", nil)
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	w := httptest.NewRecorder()
	s.handler.ServeHTTP(w, r)
	return w.Code
}

// sums returns each counter's value per attribute set, and the
// validation histogram's count, as "name{k=v,...}" keys.
func (s *stack) sums(t *testing.T) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := s.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	enc := attribute.DefaultEncoder()
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					out[m.Name+"{"+p.Attributes.Encoded(enc)+"}"] += p.Value
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					out[m.Name+"{"+p.Attributes.Encoded(enc)+"}"] += int64(p.Count)
				}
			}
		}
	}
	return out
}

// TestRequestTelemetry: one traced request is followed through its audit
// events by the request's trace ID, its validation and decision become
// child spans, and the metrics count validations, cache hits and misses and
// decisions; an anonymous request is not a validation.
func TestRequestTelemetry(t *testing.T) {
	s := newStack(t)
	tok := s.idp.Mint(map[string]any{"aud": jwkstest.APIClientID, "groups": []string{"8d6b7f5e-1c2a-4b3d-9e8f-0a1b2c3d4e5f"}})
	for _, tt := range []struct {
		auth string
		code int
	}{{"Bearer " + tok, 200}, {"Bearer " + tok, 200}, {"Bearer x.y.z", 401}, {"", 401}} {
		if got := s.do(tt.auth); got != tt.code {
			t.Fatalf("%q: status %d, want %d", tt.auth, got, tt.code)
		}
	}

	// Correlation: every request event carries its request's trace.
	requests := map[string]trace.SpanContext{}
	var children []sdktrace.ReadOnlySpan
	for _, sp := range s.spans.Ended() {
		if sp.Name() == "GET /loans" {
			requests[sp.SpanContext().TraceID().String()] = sp.SpanContext()
		} else {
			children = append(children, sp)
		}
	}
	if len(requests) != 4 {
		t.Fatalf("%d request traces, want 4", len(requests))
	}
	for _, ev := range s.audit.events(t) {
		if strings.HasPrefix(ev["event"].(string), "jwks.") {
			continue // the key set's own loading, outside any request
		}
		tid, _ := ev["trace_id"].(string)
		sc, ok := requests[tid]
		if !ok || ev["span_id"] != sc.SpanID().String() {
			t.Errorf("%v: trace_id %v span_id %v belong to no request", ev["event"], ev["trace_id"], ev["span_id"])
		}
	}

	// Spans: validate and decide under each admitted request; a refused
	// token's validation with status Error.
	var names []string
	for _, sp := range children {
		names = append(names, sp.Name())
		if _, ok := requests[sp.Parent().TraceID().String()]; !ok || !sp.Parent().IsValid() {
			t.Errorf("span %s has no request parent", sp.Name())
		}
		if sp.EndTime().Before(sp.StartTime()) {
			t.Errorf("span %s ends before it starts", sp.Name())
		}
	}
	slices.Sort(names)
	want := []string{"idbridge.decide", "idbridge.decide", "idbridge.validate", "idbridge.validate", "idbridge.validate", "idbridge.validate"}
	if !slices.Equal(names, want) {
		t.Errorf("spans %v, want %v", names, want)
	}

	got := s.sums(t)
	for k, v := range map[string]int64{
		"idbridge.validation.duration{outcome=success}":                  2,
		"idbridge.validation.duration{outcome=failure,reason=malformed}": 1,
		"idbridge.token_cache.lookups{result=miss}":                      2, // x.y.z is compact: looked up, missed
		"idbridge.token_cache.lookups{result=hit}":                       1,
		"idbridge.decisions{outcome=success}":                            2,
	} {
		if got[k] != v {
			t.Errorf("%s = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
	for k := range got {
		if strings.Contains(k, "reason=missing") {
			t.Errorf("an anonymous request was counted as a validation: %s", k)
		}
	}
}

// TestTransportPropagatesTraceContext: a call made for a traced request
// carries its traceparent; one without a span carries none, and the
// caller's request is not modified.
func TestTransportPropagatesTraceContext(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("traceparent"))
	}))
	defer srv.Close()
	c := telemetry.HTTPClient(srv.Client())
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(context.Background())
	ctx, sp := tp.Tracer("test").Start(context.Background(), "request")
	defer sp.End()

	for _, ctx := range []context.Context{ctx, context.Background()} {
		r, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/token", nil)
		resp, err := c.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if r.Header.Get("traceparent") != "" {
			t.Fatal("the caller's request was modified")
		}
	}
	sc := sp.SpanContext()
	want := "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-01"
	if len(got) != 2 || got[0] != want || got[1] != "" {
		t.Fatalf("traceparent %q, want [%q \"\"]", got, want)
	}
}

// TestCoreImportsNoOpenTelemetry: only this package links OpenTelemetry;
// the core packages keep their imports lean.
func TestCoreImportsNoOpenTelemetry(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	core := []string{"github.com/idbridge/idbridge", "github.com/idbridge/idbridge/jwks", "github.com/idbridge/idbridge/token",
		"github.com/idbridge/idbridge/rbac", "github.com/idbridge/idbridge/middleware", "github.com/idbridge/idbridge/federation"}
	cmd := exec.Command(goBin, append([]string{"list", "-deps"}, core...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	for line := range strings.Lines(string(out)) {
		if strings.HasPrefix(line, "go.opentelemetry.io/") {
			t.Errorf("a core package links %s", strings.TrimSpace(line))
		}
	}
}
