package token

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/idbridge/idbridge"
)

func benchCache(b *testing.B) *Cache {
	src := SourceFunc(func(context.Context) (*Token, error) {
		return &Token{AccessToken: "at", Expiry: time.Now().Add(time.Hour)}, nil
	})
	c, err := NewCache(src)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	if _, err := c.Token(context.Background()); err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkCacheToken measures the hot path: a fresh cached token.
func BenchmarkCacheToken(b *testing.B) {
	c := benchCache(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Token(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCacheTokenParallel measures the hot path under contention.
func BenchmarkCacheTokenParallel(b *testing.B) {
	c := benchCache(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Token(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkExchangeToken measures a cached on-behalf-of lookup, which
// hashes the incoming token.
func BenchmarkExchangeToken(b *testing.B) {
	x, err := NewOnBehalfOf(Client{ID: "c", TokenURL: "https://idp.example/token", Auth: ClientSecretPost("s")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { x.Close() })
	e, _ := x.entry("incoming", nil)
	e.cur.Store(e.schedule(&Token{AccessToken: "at", Expiry: time.Now().Add(time.Hour)}, time.Now()))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := x.Token(ctx, "incoming", nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExchangeForget measures dropping one user's entries from a full
// cache (10,000 entries, the default MaxEntries), as a revocation does.
func BenchmarkExchangeForget(b *testing.B) {
	x, err := NewOnBehalfOf(Client{ID: "c", TokenURL: "https://idp.example/token", Auth: ClientSecretPost("s")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { x.Close() })
	for i := range defaultMaxEntries {
		if _, err := x.entry(fakeJWT(map[string]any{"tid": "t", "oid": fmt.Sprint("user-", i), "iat": 1}), nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		x.Forget(func(c *idbridge.Claims) bool { return c.TenantID == "t" && c.ObjectID == "nobody" })
	}
}
