package tokenit

import (
	"context"
	"testing"
	"time"

	"github.com/idbridge/idbridge/integration/redistest"
	"github.com/idbridge/idbridge/token"
	"github.com/idbridge/idbridge/token/redisstore"
)

// BenchmarkRedisL2Hit measures a second-level hit on loopback: a replica
// whose token.Cache misses finds the token another replica stored (one
// GET, AES-GCM open, JSON decode). Each iteration is a new Source, since a
// Source does not take back the token it handed out.
func BenchmarkRedisL2Hit(b *testing.B) {
	srv := redistest.Start(b)
	st := replicaStore(b, srv.Addr, []redisstore.Key{keyA})
	ctx := context.Background()
	at := "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9." + string(make([]byte, 900)) + ".sig"
	src := token.SourceFunc(func(context.Context) (*token.Token, error) {
		return &token.Token{AccessToken: at, TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)}, nil
	})
	first, _ := st.Source("bench", src)
	if _, err := first.Token(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		l2, _ := st.Source("bench", token.SourceFunc(func(context.Context) (*token.Token, error) {
			b.Fatal("L2 missed")
			return nil, nil
		}))
		if _, err := l2.Token(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRedisL1Hit: a token.Cache over the second level serves its hits
// as a bare token.Cache does (token's BenchmarkCacheToken): Redis is not
// on the hot path.
func BenchmarkRedisL1Hit(b *testing.B) {
	srv := redistest.Start(b)
	st := replicaStore(b, srv.Addr, []redisstore.Key{keyA})
	l2, _ := st.Source("bench", token.SourceFunc(func(context.Context) (*token.Token, error) {
		return &token.Token{AccessToken: "at", Expiry: time.Now().Add(time.Hour)}, nil
	}))
	c, err := token.NewCache(l2)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	ctx := context.Background()
	if _, err := c.Token(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Token(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
