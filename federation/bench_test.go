package federation_test

import (
	"testing"

	"github.com/idbridge/idbridge/federation"
)

// BenchmarkRetrieveCached is the hot path: credentials from the cache, no
// token fetch, no STS call. The provider runs on the system clock, as in
// production (an injected clock costs a call per Retrieve).
func BenchmarkRetrieveCached(b *testing.B) {
	e := newEnv(b)
	p, err := federation.NewProvider(e.client, roleARN, idSource(e.idToken(nil)))
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	ctx := testContext(b)
	if _, err := p.Retrieve(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := p.Retrieve(ctx); err != nil {
			b.Fatal(err)
		}
	}
	if n := e.stsCalls(); n != 1 {
		b.Fatalf("%d STS calls", n)
	}
}

func BenchmarkRetrieveCachedParallel(b *testing.B) {
	e := newEnv(b)
	p, err := federation.NewProvider(e.client, roleARN, idSource(e.idToken(nil)))
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	ctx := testContext(b)
	if _, err := p.Retrieve(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := p.Retrieve(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkRetrieveUncached is one full exchange against the local fake
// STS (token parse, STS call over loopback HTTP, token verification by the
// fake), for scale: what a cache miss costs.
func BenchmarkRetrieveUncached(b *testing.B) {
	e := newEnv(b)
	p := e.provider(b, idSource(e.idToken(nil)))
	ctx := testContext(b)
	b.ReportAllocs()
	for b.Loop() {
		p.Invalidate()
		if _, err := p.Retrieve(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
