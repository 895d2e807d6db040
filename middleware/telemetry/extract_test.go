package telemetry_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/idbridge/idbridge/middleware/telemetry"
)

// TestExtractJoinsTheCallersTrace: a valid traceparent becomes the remote
// parent in the request's context; anything else leaves the context alone.
// Sent back out through Transport, the caller's trace continues.
func TestExtractJoinsTheCallersTrace(t *testing.T) {
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	tests := []struct {
		name, traceparent string
		wantTrace         string // "" = no span context
	}{
		{"valid", parent, "4bf92f3577b34da6a3ce929d0e0e4736"},
		{"absent", "", ""},
		{"malformed", "00-xyz-00f067aa0ba902b7-01", ""},
		{"zero trace id", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", ""},
		{"zero span id", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", ""},
		{"bad version", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got trace.SpanContext
			var sent string
			downstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				sent = r.Header.Get("traceparent")
			}))
			defer downstream.Close()
			h := telemetry.Extract(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = trace.SpanContextFromContext(r.Context())
				req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, downstream.URL, nil)
				resp, err := telemetry.HTTPClient(nil).Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
			}))
			req := httptest.NewRequest(http.MethodGet, "/loans/L-1", nil)
			if tt.traceparent != "" {
				req.Header.Set("Traceparent", tt.traceparent)
			}
			h.ServeHTTP(httptest.NewRecorder(), req)
			if tt.wantTrace == "" {
				if got.IsValid() || sent != "" {
					t.Fatalf("span context %v, downstream traceparent %q; want none", got, sent)
				}
				return
			}
			if got.TraceID().String() != tt.wantTrace || !got.IsRemote() {
				t.Fatalf("trace %s remote %v; want %s remote", got.TraceID(), got.IsRemote(), tt.wantTrace)
			}
			if sent != parent {
				t.Fatalf("downstream traceparent %q; want %q", sent, parent)
			}
		})
	}
}
