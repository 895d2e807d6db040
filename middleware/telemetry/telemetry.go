package telemetry

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/audit"
	"github.com/idbridge/idbridge/internal/option"
)

// ScopeName is the instrumentation scope of the spans and metrics.
const ScopeName = "github.com/idbridge/idbridge/middleware/telemetry"

func init() { audit.SetSpanIDs(spanIDs) }

// spanIDs reads the W3C IDs of the span in ctx for audit events.
func spanIDs(ctx context.Context) (string, string) {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return "", ""
	}
	return sc.TraceID().String(), sc.SpanID().String()
}

// Options configure a [Handler].
type Options struct {
	// TracerProvider starts the step spans; nil means otel's global one.
	TracerProvider trace.TracerProvider
	// MeterProvider creates the instruments; nil means otel's global one.
	MeterProvider metric.MeterProvider
}

// Handler is a slog.Handler for idbridge's Audit options: it records each
// audit event as metrics and, inside a trace, as a span, then passes the
// record to the wrapped handler. Records that are not audit events pass
// through untouched. It is safe for concurrent use by multiple goroutines.
//
// Metrics (attributes in brackets):
//
//   - idbridge.validation.duration, histogram in seconds [outcome, reason]:
//     token.validated and token.rejected.
//   - idbridge.token_cache.lookups [result: hit or miss]: the verified-token
//     cache (jwks.Options.Cache).
//   - idbridge.decisions [outcome, reason]: authz.allowed and authz.denied.
//   - idbridge.idp.requests [target: token, signin, jwks, graph or ldap;
//     outcome, reason]: token issuance and renewal, sign-ins, key and
//     metadata fetches, group lookups, directory logins.
//   - idbridge.sts.requests [outcome, reason, cached]: STS calls, and
//     refusals answered from memory (cached true).
//   - idbridge.revocations [revocation: token, session or subject].
//   - idbridge.policy.reloads [outcome].
type Handler struct {
	next   slog.Handler
	tracer trace.Tracer
	m      *instruments
}

type instruments struct {
	validation  metric.Float64Histogram
	cache       metric.Int64Counter
	decisions   metric.Int64Counter
	idp         metric.Int64Counter
	sts         metric.Int64Counter
	revocations metric.Int64Counter
	reloads     metric.Int64Counter
}

// NewHandler returns a Handler that passes records on to next; next may be
// nil for metrics and spans without an audit log.
func NewHandler(next slog.Handler, optFns ...func(*Options)) (*Handler, error) {
	o := option.New(optFns)
	if o.TracerProvider == nil {
		o.TracerProvider = otel.GetTracerProvider()
	}
	if o.MeterProvider == nil {
		o.MeterProvider = otel.GetMeterProvider()
	}
	meter := o.MeterProvider.Meter(ScopeName)
	m := &instruments{}
	var err error
	count := func(name, desc string) metric.Int64Counter {
		if err != nil {
			return nil
		}
		var c metric.Int64Counter
		c, err = meter.Int64Counter(name, metric.WithDescription(desc))
		return c
	}
	m.cache = count("idbridge.token_cache.lookups", "Lookups in the verified-token cache, by result (hit, miss).")
	m.decisions = count("idbridge.decisions", "Authorization decisions, by outcome and reason.")
	m.idp = count("idbridge.idp.requests", "Requests to the identity provider, its key set, Graph or the directory, by target and outcome.")
	m.sts = count("idbridge.sts.requests", "AWS STS exchanges, by outcome; cached marks refusals answered from memory.")
	m.revocations = count("idbridge.revocations", "Revocations recorded on this replica.")
	m.reloads = count("idbridge.policy.reloads", "RBAC policy loads and refused reloads, by outcome.")
	if err == nil {
		m.validation, err = meter.Float64Histogram("idbridge.validation.duration",
			metric.WithDescription("Time to validate a token, by outcome and reason."), metric.WithUnit("s"),
			metric.WithExplicitBucketBoundaries(0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1))
	}
	if err != nil {
		// The MeterProvider refused an instrument: a configuration problem.
		return nil, fmt.Errorf("telemetry: %w: MeterProvider: %w", idbridge.ErrInvalidOptions, err)
	}
	return &Handler{next: next, tracer: o.TracerProvider.Tracer(ScopeName), m: m}, nil
}

// Enabled reports true for audit levels, so metrics see every event even
// when the wrapped handler filters them out.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || h.next != nil && h.next.Enabled(ctx, l)
}

// WithAttrs and WithGroup derive from the wrapped handler; metrics and
// spans are shared.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	if h.next == nil {
		return h
	}
	return &Handler{next: h.next.WithAttrs(as), tracer: h.tracer, m: h.m}
}

func (h *Handler) WithGroup(name string) slog.Handler {
	if h.next == nil {
		return h
	}
	return &Handler{next: h.next.WithGroup(name), tracer: h.tracer, m: h.m}
}

// event is what the handler reads from an audit record.
type event struct {
	name, outcome, reason string
	dur                   time.Duration
	cache, source, kind   string
	tokenID, permission   string
	cached                bool
}

func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	var ev event
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case idbridge.FieldEvent:
			ev.name = a.Value.String()
		case idbridge.FieldOutcome:
			ev.outcome = a.Value.String()
		case idbridge.FieldReason:
			ev.reason = a.Value.String()
		case idbridge.FieldDuration:
			if a.Value.Kind() == slog.KindFloat64 {
				ev.dur = time.Duration(a.Value.Float64() * float64(time.Millisecond))
			}
		case idbridge.FieldCache:
			ev.cache = a.Value.String()
		case idbridge.FieldSource:
			ev.source = a.Value.String()
		case idbridge.FieldRevocation:
			ev.kind = a.Value.String()
		case idbridge.FieldTokenID:
			ev.tokenID = a.Value.String()
		case idbridge.FieldPermission:
			ev.permission = a.Value.String()
		case idbridge.FieldCached:
			ev.cached = a.Value.Kind() == slog.KindBool && a.Value.Bool()
		}
		return true
	})
	if ev.name != "" {
		h.record(ctx, &ev)
		if trace.SpanContextFromContext(ctx).IsValid() {
			h.span(ctx, r.Time, &ev)
		}
	}
	if h.next == nil || !h.next.Enabled(ctx, r.Level) {
		return nil
	}
	return h.next.Handle(ctx, r)
}

// The attribute sets of the common cases are built once: metrics on the
// request path must not allocate for them.
var (
	setSuccess = metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", idbridge.OutcomeSuccess)))
	setHit     = metric.WithAttributeSet(attribute.NewSet(attribute.String("result", "hit")))
	setMiss    = metric.WithAttributeSet(attribute.NewSet(attribute.String("result", "miss")))
)

func outcome(ev *event, extra ...attribute.KeyValue) metric.MeasurementOption {
	if ev.outcome == idbridge.OutcomeSuccess && len(extra) == 0 {
		return setSuccess
	}
	kv := append([]attribute.KeyValue{attribute.String("outcome", ev.outcome)}, extra...)
	if ev.reason != "" {
		kv = append(kv, attribute.String("reason", ev.reason))
	}
	return metric.WithAttributes(kv...)
}

func (h *Handler) record(ctx context.Context, ev *event) {
	m := h.m
	switch ev.name {
	case idbridge.EventTokenValidated, idbridge.EventTokenRejected:
		if ev.reason == string(idbridge.ReasonMissing) {
			return // no token, nothing validated
		}
		m.validation.Record(ctx, ev.dur.Seconds(), outcome(ev))
		switch ev.cache {
		case "hit":
			m.cache.Add(ctx, 1, setHit)
		case "miss":
			m.cache.Add(ctx, 1, setMiss)
		}
	case idbridge.EventAuthzAllowed, idbridge.EventAuthzDenied:
		m.decisions.Add(ctx, 1, outcome(ev))
	case idbridge.EventTokenIssued, idbridge.EventTokenRefreshed, idbridge.EventTokenRefreshFailed:
		m.idp.Add(ctx, 1, outcome(ev, attribute.String("target", "token")))
	case idbridge.EventSignInFailed:
		m.idp.Add(ctx, 1, outcome(ev, attribute.String("target", "signin")))
	case idbridge.EventJWKSRefreshed, idbridge.EventJWKSRefreshFailed:
		m.idp.Add(ctx, 1, outcome(ev, attribute.String("target", "jwks")))
	case idbridge.EventGroupsResolved:
		m.idp.Add(ctx, 1, outcome(ev, attribute.String("target", ev.source)))
	case idbridge.EventDirectoryLogin:
		m.idp.Add(ctx, 1, outcome(ev, attribute.String("target", "ldap")))
	case idbridge.EventSTSAssumed, idbridge.EventSTSFailed:
		m.sts.Add(ctx, 1, outcome(ev, attribute.Bool("cached", ev.cached)))
	case idbridge.EventRevocationAdded:
		m.revocations.Add(ctx, 1, metric.WithAttributes(attribute.String("revocation", ev.kind)))
	case idbridge.EventPolicyReloaded:
		m.reloads.Add(ctx, 1, outcome(ev))
	}
}

// spanNames names the step span of each event.
var spanNames = map[string]string{
	idbridge.EventTokenValidated:     "idbridge.validate",
	idbridge.EventTokenRejected:      "idbridge.validate",
	idbridge.EventAuthzAllowed:       "idbridge.decide",
	idbridge.EventAuthzDenied:        "idbridge.decide",
	idbridge.EventTokenIssued:        "idbridge.token",
	idbridge.EventTokenRefreshed:     "idbridge.token",
	idbridge.EventTokenRefreshFailed: "idbridge.token",
	idbridge.EventSignInFailed:       "idbridge.signin",
	idbridge.EventSTSAssumed:         "idbridge.sts",
	idbridge.EventSTSFailed:          "idbridge.sts",
	idbridge.EventGroupsResolved:     "idbridge.groups",
	idbridge.EventDirectoryLogin:     "idbridge.directory_login",
	idbridge.EventJWKSRefreshed:      "idbridge.jwks",
	idbridge.EventJWKSRefreshFailed:  "idbridge.jwks",
	idbridge.EventPolicyReloaded:     "idbridge.policy",
	idbridge.EventRevocationAdded:    "idbridge.revoke",
}

// span records the step that ended at end and took ev.dur as a child of
// the span in ctx. It is started after the fact: the audit event is where
// idbridge already measures each step, so no package needs a tracer.
func (h *Handler) span(ctx context.Context, end time.Time, ev *event) {
	name, ok := spanNames[ev.name]
	if !ok {
		return
	}
	attrs := []attribute.KeyValue{
		attribute.String("idbridge.event", ev.name),
		attribute.String("idbridge.outcome", ev.outcome),
	}
	if ev.reason != "" {
		attrs = append(attrs, attribute.String("idbridge.reason", ev.reason))
	}
	if ev.tokenID != "" {
		attrs = append(attrs, attribute.String("idbridge.token_id", ev.tokenID))
	}
	if ev.permission != "" {
		attrs = append(attrs, attribute.String("idbridge.permission", ev.permission))
	}
	if ev.cache != "" {
		attrs = append(attrs, attribute.String("idbridge.cache", ev.cache))
	}
	_, sp := h.tracer.Start(ctx, name, trace.WithTimestamp(end.Add(-ev.dur)), trace.WithAttributes(attrs...))
	if ev.outcome == idbridge.OutcomeFailure && ev.reason != string(idbridge.ReasonMissing) {
		sp.SetStatus(codes.Error, ev.reason)
	}
	sp.End(trace.WithTimestamp(end))
}
