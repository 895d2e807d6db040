package telemetry

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/idbridge/idbridge/internal/audit"
	"github.com/idbridge/idbridge/internal/benchcpu"
)

// benchEvent is a token.validated event as the guard's hot path emits it.
var benchEvent = audit.Event{
	Name: audit.TokenValidated, Outcome: audit.Success,
	Issuer: "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0", TenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47",
	Subject: "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ", ObjectID: "9f5bd7a6-0a8e-4ed1-a1b6-2a4b4d6a3c11",
	Client: "0f4e9c6d-7b2a-4f53-9b8e-5d2c1a3b4e6f", KeyID: "nOo3ZDrODXEK1jKWhXslHR_KXEg", Algorithm: "RS256",
	TokenID: audit.TokenID("u5Y7nQ2xKkmN3bL0pQ1aAA"), Roles: []string{"LoanViewer"},
	Route: "GET /loans/{id}", RemoteAddr: "192.0.2.7:4711", Duration: 1200 * time.Microsecond,
	Attrs: []slog.Attr{slog.String("cache", "hit")},
}

func benchLogger(b *testing.B, h slog.Handler, ctx context.Context) {
	l := audit.New(h)
	b.ReportAllocs()
	defer benchcpu.Start(b)()
	for b.Loop() {
		l.Emit(ctx, benchEvent)
	}
}

// BenchmarkEvent is the cost of one audit event on the request path:
// JSON to a discarded writer; with the telemetry handler's metrics in
// front; and with a step span too, inside a traced request.
func BenchmarkEvent(b *testing.B) {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	tp := sdktrace.NewTracerProvider() // spans are recorded, nothing exported
	defer mp.Shutdown(context.Background())
	defer tp.Shutdown(context.Background())
	traced, sp := tp.Tracer("bench").Start(context.Background(), "request")
	defer sp.End()
	jsonH := slog.NewJSONHandler(io.Discard, nil)
	tel, err := NewHandler(jsonH, func(o *Options) { o.MeterProvider, o.TracerProvider = mp, tp })
	if err != nil {
		b.Fatal(err)
	}
	metricsOnly, _ := NewHandler(nil, func(o *Options) { o.MeterProvider, o.TracerProvider = mp, tp })
	b.Run("JSON", func(b *testing.B) { benchLogger(b, jsonH, context.Background()) })
	b.Run("JSONTraceIDs", func(b *testing.B) { benchLogger(b, jsonH, traced) })
	b.Run("Metrics", func(b *testing.B) { benchLogger(b, metricsOnly, context.Background()) })
	b.Run("JSONMetrics", func(b *testing.B) { benchLogger(b, tel, context.Background()) })
	b.Run("MetricsSpan", func(b *testing.B) { benchLogger(b, metricsOnly, traced) })
	b.Run("JSONMetricsSpan", func(b *testing.B) { benchLogger(b, tel, traced) })
}
