package idp_test

import (
	"context"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/idbridge/idbridge/integration/idp"
)

// BenchmarkClientCredentials measures a full token request over HTTPS: how
// fast the provider can feed a load test.
func BenchmarkClientCredentials(b *testing.B) {
	p := idp.StartTest(b)
	cfg := clientcredentials.Config{ClientID: idp.ClientAnalyticsSvc, ClientSecret: idp.AnalyticsSvcSecret,
		TokenURL: p.TokenURL(), Scopes: []string{idp.ResourceLending + "/.default"}, AuthStyle: oauth2.AuthStyleInHeader}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, p.HTTPClient())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cfg.Token(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
