package telemetry_test

import (
	"context"
	"fmt"
	"sort"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/jwkstest"
	"github.com/idbridge/idbridge/middleware/telemetry"
)

// A validator audits through the telemetry handler (here without an audit
// log, nil); an operator's meter provider (here an in-memory reader) sees
// validation outcomes and the verified-token cache's hits and misses (and
// the key set's fetches, idbridge.idp.requests, left out here: the key set
// records its first fetch in the background).
func ExampleNewHandler() {
	idp := jwkstest.NewServer() // stands in for the bank's identity provider
	defer idp.Close()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())

	h, err := telemetry.NewHandler(nil, func(o *telemetry.Options) { o.MeterProvider = mp })
	if err != nil {
		fmt.Println(err)
		return
	}
	v, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: idp.Issuer(), JWKSURL: idp.JWKSURL()}}
		o.Audiences = []string{jwkstest.APIClientID}
		o.Algorithms = []string{"RS256"}
		o.Cache = &jwks.CacheOptions{}
		o.Audit = h
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()
	tok := idp.Mint(map[string]any{"aud": jwkstest.APIClientID})
	for _, t := range []string{tok, tok, tok, idp.Mint(map[string]any{"aud": "api://payments"})} {
		_, _ = v.Validate(context.Background(), t)
	}

	var rm metricdata.ResourceMetrics
	_ = reader.Collect(context.Background(), &rm)
	var lines []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				if m.Name == "idbridge.idp.requests" {
					continue
				}
				for _, p := range d.DataPoints {
					lines = append(lines, fmt.Sprintf("%s{%s} %d", m.Name, p.Attributes.Encoded(attribute.DefaultEncoder()), p.Value))
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					lines = append(lines, fmt.Sprintf("%s{%s} count %d", m.Name, p.Attributes.Encoded(attribute.DefaultEncoder()), p.Count))
				}
			}
		}
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// idbridge.token_cache.lookups{result=hit} 2
	// idbridge.token_cache.lookups{result=miss} 2
	// idbridge.validation.duration{outcome=failure,reason=audience} count 1
	// idbridge.validation.duration{outcome=success} count 3
}
