package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"

	"go.opentelemetry.io/otel/trace"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/integration/idp"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/middleware/telemetry"
	"github.com/idbridge/idbridge/token"
)

// This file follows one request across services by one trace ID (issue:
// correlation). lending-web starts a trace and calls the lending API's
// GET /loans/{id}/book; the lending API (telemetry.Extract outside its
// guard, see apis.go) joins that trace, exchanges Amit's token on his
// behalf for one the analytics API accepts, and calls the analytics API,
// which joins the same trace. telemetry.HTTPClient sends traceparent on
// each hop, the token endpoint included, and every audit event of the
// request carries its trace_id.

// bookPath is the lending API route that calls the analytics API.
const bookPath = "GET /loans/{id}/book"

// tracedLending registers the lending API's routes and the one that calls
// downstream on Amit's behalf.
func (s *story) tracedLending(mux *http.ServeMux, g *middleware.Guard) {
	lendingRoutes(mux, g)
	mux.Handle(bookPath, g.Handler(http.HandlerFunc(s.loanBook), middleware.Require("loan:read")))
}

// downstream is what the lending API needs to call the analytics API on a
// user's behalf; set by oneTrace before the first call.
type downstream struct {
	obo    *token.Exchange
	url    string // the analytics API that accepts on-behalf-of tokens
	client *http.Client
}

// loanBook is the lending API's handler: it asks the analytics API for
// the loan book as the caller, with a token the provider issued on his
// behalf (audience: the analytics API), never with the caller's own token.
func (s *story) loanBook(w http.ResponseWriter, r *http.Request) {
	p, _ := middleware.FromContext(r.Context())
	d := s.down
	tok, err := d.obo.Token(r.Context(), p.Token(), []string{idp.ResourceAnalytics + "/.default"})
	if err != nil {
		s.lending.logf("lending-api log: on-behalf-of: %v", err)
		http.Error(w, "downstream unavailable", http.StatusBadGateway)
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, d.url+"/reports/loan-book", nil)
	if err != nil {
		http.Error(w, "downstream unavailable", http.StatusBadGateway)
		return
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := d.client.Do(req)
	if err != nil {
		s.lending.logf("lending-api log: analytics: %v", err)
		http.Error(w, "downstream unavailable", http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, io.LimitReader(resp.Body, 1<<20))
}

// oneTrace is step 3's sequel: one request, three services, one trace ID.
func (s *story) oneTrace(ctx context.Context) error {
	fmt.Fprintln(s.out)
	s.say("One trace across services: lending-web → lending API → on-behalf-of token → analytics API")
	p := s.idp
	// The analytics API as a downstream of the lending API: it accepts only
	// tokens issued for it (aud = its client ID), as the on-behalf-of
	// token is.
	analytics, err := s.startAPI("analytics-api", analyticsRoutes, func(c *apiConfig) { c.audience = idp.AnalyticsAppID })
	if err != nil {
		return err
	}
	obo, err := token.NewOnBehalfOf(token.Client{
		ID: idp.ClientLendingAPI, TokenURL: p.TokenURL(), Auth: token.ClientSecretPost(idp.LendingAPISecret),
	}, func(o *token.ExchangeOptions) {
		o.HTTPClient = telemetry.HTTPClient(p.HTTPClient())
		o.Audit = s.auditFor("lending-api")
	})
	if err != nil {
		return err
	}
	s.onClose(func() { obo.Close() })
	s.down = &downstream{obo: obo, url: analytics.url, client: telemetry.HTTPClient(nil)}

	// lending-web starts the trace (a tracer of the OpenTelemetry SDK would
	// do the same) and sends traceparent with the bearer token.
	var tid trace.TraceID
	var sid trace.SpanID
	rand.Read(tid[:])
	rand.Read(sid[:])
	ctx = trace.ContextWithSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled,
	}))
	client := telemetry.HTTPClient(s.amit.client)
	ans, err := call(ctx, client, http.MethodGet, s.lending.url+"/loans/L-1001/book")
	if err != nil {
		return err
	}
	s.say("%-4s %-38s → %s", http.MethodGet, "lending-api /loans/L-1001/book", ans.describe())
	for _, l := range s.lending.takeLog() {
		s.say("       %s", l)
	}
	if ans.status != http.StatusOK {
		return fmt.Errorf("%w: GET /loans/L-1001/book: status %d, want 200", errUnexpected, ans.status)
	}
	if s.audit == nil {
		s.say("one trace across services: trace_id %s (audit is off: no events to follow)", tid)
		return nil
	}
	s.say("one trace across services: trace_id %s", tid)
	for _, e := range s.traced.of(tid.String()) {
		s.say("       %-14s %s", e.service, e.event)
	}
	return nil
}

// tracedEvent is one audit event that carried a trace ID.
type tracedEvent struct{ trace, service, event string }

// traceLog keeps the events that carried a trace ID, for oneTrace to list.
type traceLog struct {
	mu     sync.Mutex
	events []tracedEvent
}

func (l *traceLog) of(traceID string) []tracedEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []tracedEvent
	for _, e := range l.events {
		if e.trace == traceID {
			out = append(out, e)
		}
	}
	return out
}

// traceTee passes every audit event on and notes those with a trace_id.
type traceTee struct {
	next    slog.Handler
	service string
	log     *traceLog
}

func (t traceTee) Enabled(ctx context.Context, l slog.Level) bool { return t.next.Enabled(ctx, l) }
func (t traceTee) WithAttrs(as []slog.Attr) slog.Handler {
	t.next = t.next.WithAttrs(as)
	return t
}
func (t traceTee) WithGroup(name string) slog.Handler {
	t.next = t.next.WithGroup(name)
	return t
}
func (t traceTee) Handle(ctx context.Context, r slog.Record) error {
	var tid, name string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case idbridge.FieldTraceID:
			tid = a.Value.String()
		case idbridge.FieldEvent:
			name = a.Value.String()
		}
		return true
	})
	if tid != "" {
		t.log.mu.Lock()
		t.log.events = append(t.log.events, tracedEvent{trace: tid, service: t.service, event: name})
		t.log.mu.Unlock()
	}
	return t.next.Handle(ctx, r)
}
