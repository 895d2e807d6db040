package tokenit

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/idbridge/idbridge/integration/idp"
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

// BenchmarkFleetRequestsPerLifetime reports how many token requests
// replicas make per token lifetime, each with a token.Cache renewing ahead
// of expiry and 4 callers asking all the time (3 s tokens, watched for 4
// lifetimes): one replica alone, 8 sharing through Redis, 8 without it.
// A Cache renews a token this short half way through its life, so one
// replica makes about 2 per lifetime. It runs in real time, so it is a
// measurement, not a test:
//
//	go test -run X -bench FleetRequests -benchtime 1x ./tokenit
func BenchmarkFleetRequestsPerLifetime(b *testing.B) {
	const life = 3 * time.Second
	srv := redistest.Start(b)
	p := idp.StartTest(b, func(o *idp.Options) { o.AccessTokenLifetime = life })
	for _, bc := range []struct {
		name     string
		replicas int
		redis    bool
	}{{"1 replica", 1, true}, {"8 replicas with Redis", 8, true}, {"8 replicas without Redis", 8, false}} {
		b.Run(bc.name, func(b *testing.B) {
			caches := make([]*token.Cache, bc.replicas)
			for i := range caches {
				if bc.redis {
					caches[i] = replicaCache(b, p, replicaStore(b, srv.Addr, []redisstore.Key{keyA}))
					continue
				}
				c, err := token.NewCache(analytics(b, p), cacheOpts(p, nil))
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { c.Close() })
				caches[i] = c
			}
			for b.Loop() {
				p.ResetRequests()
				ctx, cancel := context.WithTimeout(context.Background(), 4*life)
				var wg sync.WaitGroup
				for _, c := range caches {
					for range 4 {
						wg.Go(func() {
							for ctx.Err() == nil {
								if _, err := c.Token(ctx); err != nil && ctx.Err() == nil {
									b.Error(err)
									return
								}
								time.Sleep(time.Millisecond)
							}
						})
					}
				}
				wg.Wait()
				cancel()
				b.ReportMetric(float64(p.Requests(idp.EndpointToken))/4, "requests/lifetime")
			}
		})
	}
}
