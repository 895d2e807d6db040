package telemetry_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/idbridge/idbridge/middleware/telemetry"
	"github.com/idbridge/idbridge/token"
)

// TestDownstreamTokenJoinsTheRequestTrace: a request that needs a token for
// a downstream call (here client credentials through a token.Cache) leaves
// one trace: the token endpoint receives the request's traceparent, and the
// token.issued event carries the request's trace ID, though the Cache
// fetches on its own goroutine. Renewals nobody asked for start no trace.
func TestDownstreamTokenJoinsTheRequestTrace(t *testing.T) {
	var mu sync.Mutex
	var parents []string
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		parents = append(parents, r.Header.Get("traceparent"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"eyJ0eXAiOiJKV1QifQ.e30.c2ln"}`)
	}))
	defer idp.Close()

	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer tp.Shutdown(context.Background())
	var audit syncBuffer
	h, err := telemetry.NewHandler(slog.NewJSONHandler(&audit, nil), func(o *telemetry.Options) { o.TracerProvider = tp })
	if err != nil {
		t.Fatal(err)
	}
	src, err := token.NewCachedClientCredentials(token.Client{ID: "lending-api", TokenURL: idp.URL + "/oauth2/v2.0/token", Auth: token.ClientSecretPost("lending-api-secret-3f9")},
		[]string{"api://core-banking/.default"}, func(o *token.CachedOptions) {
			o.HTTPClient = telemetry.HTTPClient(idp.Client())
			o.Audit = h
		})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()

	ctx, sp := tp.Tracer("test").Start(context.Background(), "GET /loans")
	if _, err := src.Token(ctx); err != nil {
		t.Fatal(err)
	}
	sp.End()
	sc := sp.SpanContext()
	src.Close() // waits for the fetch goroutine, which audits after answering

	mu.Lock()
	defer mu.Unlock()
	if len(parents) != 1 || !strings.Contains(parents[0], sc.TraceID().String()) {
		t.Fatalf("token endpoint saw traceparent %q, want trace %s", parents, sc.TraceID())
	}
	evs := audit.events(t)
	if len(evs) != 1 || evs[0]["event"] != "token.issued" || evs[0]["trace_id"] != sc.TraceID().String() {
		t.Fatalf("events %v, want token.issued in trace %s", evs, sc.TraceID())
	}
	var found bool
	for _, s := range spans.Ended() {
		if s.Name() == "idbridge.token" && s.Parent().SpanID() == sc.SpanID() {
			found = true
		}
	}
	if !found {
		t.Error("no idbridge.token span under the request")
	}
	if strings.Contains(audit.b.String(), "lending-api-secret-3f9") {
		t.Fatal("the client secret reached the audit log")
	}
}
