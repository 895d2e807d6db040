package samlsts_test

import (
	"context"
	"testing"
)

// BenchmarkRetrieveCached is the cost of a credentials lookup on the hot
// path: the aws.CredentialsCache answers, no assertion, no STS.
func BenchmarkRetrieveCached(b *testing.B) {
	p, err := newCachedProvider(b)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := p.Retrieve(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Retrieve(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
