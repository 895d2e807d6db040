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
