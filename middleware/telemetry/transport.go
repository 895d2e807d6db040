package telemetry

import (
	"net/http"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// w3c writes traceparent and tracestate (W3C Trace Context).
var w3c = propagation.TraceContext{}

// Transport returns an http.RoundTripper that sends the W3C trace context
// of the request's span (traceparent, tracestate) through base, so the IdP,
// STS or Graph call that idbridge makes for a request joins its trace. A
// request without a span is sent unchanged. nil base means
// http.DefaultTransport.
func Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{base: base}
}

// HTTPClient returns a copy of c (nil means a zero http.Client) whose
// transport is [Transport] over c's, for idbridge's HTTPClient options.
func HTTPClient(c *http.Client) *http.Client {
	var out http.Client
	if c != nil {
		out = *c
	}
	out.Transport = Transport(out.Transport)
	return &out
}

type transport struct{ base http.RoundTripper }

func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	if !trace.SpanContextFromContext(r.Context()).IsValid() {
		return t.base.RoundTrip(r)
	}
	// A RoundTripper must not modify the request it was given.
	r2 := r.Clone(r.Context())
	w3c.Inject(r.Context(), propagation.HeaderCarrier(r2.Header))
	return t.base.RoundTrip(r2)
}

// Extract returns an http.Handler that joins the trace of the caller: it
// reads the W3C trace context (traceparent, tracestate) of each request
// into the request's context as the remote parent, so the guard's audit
// events (token.validated, authz.*) carry the caller's trace_id, and calls
// made for the request through [Transport] continue the same trace. A
// request without a valid traceparent is served unchanged. Put it outside
// the guard; a service that already runs otelhttp.NewHandler does not need
// it (otelhttp extracts and also starts a server span).
//
// Until a tracer starts a span for the request, the span_id of the events
// is the caller's.
func Extract(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Traceparent") == "" {
			next.ServeHTTP(w, r)
			return
		}
		ctx := w3c.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		if !trace.SpanContextFromContext(ctx).IsValid() {
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
