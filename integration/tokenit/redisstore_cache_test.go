package tokenit

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/integration/idp"
	"github.com/idbridge/idbridge/integration/redistest"
	"github.com/idbridge/idbridge/token"
	"github.com/idbridge/idbridge/token/redisstore"
)

const cacheKey = "analytics-svc/lending"

// replicaCache is one replica's token.Cache of the analytics daemon's
// token for the lending API, with Redis as its second level.
func replicaCache(t testing.TB, p *idp.Provider, st *redisstore.Store) *token.Cache {
	t.Helper()
	l2, err := st.Source(cacheKey, analytics(t, p))
	if err != nil {
		t.Fatal(err)
	}
	c, err := token.NewCache(l2, cacheOpts(p, nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// analytics is the analytics daemon's client credentials source for the
// lending API.
func analytics(t testing.TB, p *idp.Provider) token.Source {
	t.Helper()
	cc, err := token.NewClientCredentials(token.Client{ID: idp.ClientAnalyticsSvc, TokenURL: p.TokenURL(), Auth: token.ClientSecretBasic(idp.AnalyticsSvcSecret)},
		[]string{idp.ResourceLending + "/.default"}, opts(p, nil))
	if err != nil {
		t.Fatal(err)
	}
	return cc
}

// askAll has callers goroutines per cache ask for the token at once and
// returns the tokens they got.
func askAll(t *testing.T, caches []*token.Cache, callers int) map[string]int {
	t.Helper()
	ctx := testContext(t)
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for _, c := range caches {
		for range callers {
			wg.Go(func() {
				tok, err := c.Token(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				seen[tok.AccessToken]++
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	return seen
}

// TestFleetOneTokenRequest: 8 replicas x 64 callers on one cold key make
// one token request, counted by the provider; when every replica drops
// its token (a revoked token), the fleet makes one more.
func TestFleetOneTokenRequest(t *testing.T) {
	srv := redistest.Start(t)
	p := idp.StartTest(t)
	caches := make([]*token.Cache, 8)
	for i := range caches {
		caches[i] = replicaCache(t, p, replicaStore(t, srv.Addr, []redisstore.Key{keyA}))
	}
	p.ResetRequests()
	if seen := askAll(t, caches, 64); len(seen) != 1 || p.Requests(idp.EndpointToken) != 1 {
		t.Fatalf("8 x 64 callers on a cold key: %d distinct tokens, %d token requests, want 1 and 1", len(seen), p.Requests(idp.EndpointToken))
	}
	for _, c := range caches {
		c.Invalidate()
	}
	if seen := askAll(t, caches, 64); len(seen) != 1 || p.Requests(idp.EndpointToken) != 2 {
		t.Fatalf("after Invalidate everywhere: %d distinct tokens, %d token requests in all, want 1 and 2", len(seen), p.Requests(idp.EndpointToken))
	}
	// A new replica whose keys were rotated to B (sealing) and A (opening
	// the old entries) takes the token from Redis.
	late := replicaCache(t, p, replicaStore(t, srv.Addr, []redisstore.Key{keyB, keyA}))
	if _, err := late.Token(testContext(t)); err != nil || p.Requests(idp.EndpointToken) != 2 {
		t.Fatalf("rotated replica: %v after %d requests", err, p.Requests(idp.EndpointToken))
	}
}

// TestTamperedEntriesAreRefetched: an entry changed in Redis is never
// served; the replica fetches from the IdP and overwrites it.
func TestTamperedEntriesAreRefetched(t *testing.T) {
	srv := redistest.Start(t)
	p := idp.StartTest(t)
	ctx := testContext(t)
	rc := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	t.Cleanup(func() { rc.Close() })
	entry := func(key string) string {
		t.Helper()
		// Fill the entry of key through a store, then find its Redis key
		// (the only one: each case starts from an empty Redis).
		src, _ := replicaStore(t, srv.Addr, []redisstore.Key{keyA}).Source(key, analytics(t, p))
		if _, err := src.Token(ctx); err != nil {
			t.Fatal(err)
		}
		keys, err := rc.Keys(ctx, "{"+redisstore.DefaultPrefix+":at:*}:rec").Result()
		if err != nil || len(keys) == 0 {
			t.Fatalf("entries %v: %v", keys, err)
		}
		return keys[0]
	}
	tests := []struct {
		name   string
		tamper func(k string, v []byte) []byte
		keys   []redisstore.Key
	}{
		{"flipped byte", func(_ string, v []byte) []byte { v[len(v)/2] ^= 0x40; return v }, nil},
		{"flipped tag", func(_ string, v []byte) []byte { v[len(v)-1] ^= 1; return v }, nil},
		{"truncated", func(_ string, v []byte) []byte { return v[:len(v)-5] }, nil},
		{"garbage", func(string, []byte) []byte { return []byte("not an envelope") }, nil},
		{"unknown key", func(_ string, v []byte) []byte { return v }, []redisstore.Key{keyB}},
		{"moved from another cache key", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := rc.FlushAll(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			var k string
			if tt.tamper == nil {
				// Another cache key's valid entry under cacheKey's name.
				other := entry("someone-else")
				v, _ := rc.Get(ctx, other).Bytes()
				rc.Del(ctx, other)
				k = entry(cacheKey)
				rc.Set(ctx, k, v, 0)
			} else {
				k = entry(cacheKey)
				v, _ := rc.Get(ctx, k).Bytes()
				rc.Set(ctx, k, tt.tamper(k, v), 0)
			}
			stored, _ := rc.Get(ctx, k).Bytes()
			log := &syncLog{}
			keys := tt.keys
			if keys == nil {
				keys = []redisstore.Key{keyA}
			}
			st := replicaStore(t, srv.Addr, keys, func(o *redisstore.Options) { o.Logger = slog.New(slog.NewTextHandler(log, nil)) })
			p.ResetRequests()
			tok, err := replicaCache(t, p, st).Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if p.Requests(idp.EndpointToken) != 1 {
				t.Fatalf("%d token requests, want 1: the tampered entry was served", p.Requests(idp.EndpointToken))
			}
			if !strings.Contains(log.String(), "refused an entry") || strings.Contains(log.String(), tok.AccessToken) {
				t.Fatalf("log: %s", log.String())
			}
			if now, _ := rc.Get(ctx, k).Bytes(); string(now) == string(stored) {
				t.Fatal("tampered entry not overwritten")
			}
		})
	}
}

// TestRedisStoppedAndRestarted: with Redis killed mid-run the replicas
// serve and fetch on their own, Ready says why and the log says it once;
// when Redis is back they share tokens again by themselves.
func TestRedisStoppedAndRestarted(t *testing.T) {
	srv := redistest.Start(t)
	p := idp.StartTest(t)
	ctx := testContext(t)
	log := &syncLog{}
	st := replicaStore(t, srv.Addr, []redisstore.Key{keyA}, func(o *redisstore.Options) {
		o.Timeout = time.Second
		o.Logger = slog.New(slog.NewTextHandler(log, nil))
	})
	caches := []*token.Cache{replicaCache(t, p, st), replicaCache(t, p, replicaStore(t, srv.Addr, []redisstore.Key{keyA}))}
	if seen := askAll(t, caches, 8); len(seen) != 1 {
		t.Fatalf("%d tokens", len(seen))
	}

	srv.Stop()
	// A cached token is served without Redis.
	if _, err := caches[0].Token(ctx); err != nil || st.Ready() != nil {
		t.Fatalf("L1 hit with Redis down: %v, Ready %v", err, st.Ready())
	}
	for range 5 {
		caches[0].Invalidate()
		if _, err := caches[0].Token(ctx); err != nil {
			t.Fatalf("Redis down: %v", err)
		}
	}
	if err := st.Ready(); !errors.Is(err, redisstore.ErrUnavailable) || idbridge.ReasonOf(err) != "idp_unavailable" {
		t.Fatalf("Ready with Redis down = %v", err)
	}
	if n := strings.Count(log.String(), "Redis unavailable"); n != 1 {
		t.Fatalf("outage logged %d times:\n%s", n, log)
	}

	srv.Restart(t)
	// Ready probes Redis itself once the store has left it alone for a
	// second, so it recovers with no token due.
	waitFor(t, "recovery", func() bool { return st.Ready() == nil })
	if !strings.Contains(log.String(), "Redis reachable again") {
		t.Fatalf("recovery not logged:\n%s", log)
	}
	// The other replica takes the token the first stores now.
	caches[0].Invalidate()
	want, _ := caches[0].Token(ctx)
	p.ResetRequests()
	caches[1].Invalidate()
	if got, err := caches[1].Token(ctx); err != nil || got.AccessToken != want.AccessToken || p.Requests(idp.EndpointToken) != 0 {
		t.Fatalf("after recovery: %v, %d requests, same token %v", err, p.Requests(idp.EndpointToken), err == nil && got.AccessToken == want.AccessToken)
	}
}

// TestRedisHangingOrGarbage: a server that accepts and never answers, or
// answers what is not RESP, costs a caller at most the Timeout: the
// token comes from the IdP and Ready reports the outage.
func TestRedisHangingOrGarbage(t *testing.T) {
	p := idp.StartTest(t)
	for name, answer := range map[string][]byte{"hanging": nil, "garbage": []byte("\x00\xffnot RESP\r\n")} {
		t.Run(name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ln.Close() })
			go func() {
				for {
					conn, err := ln.Accept()
					if err != nil {
						return
					}
					t.Cleanup(func() { conn.Close() })
					if answer != nil {
						go func() {
							buf := make([]byte, 4096)
							for {
								if _, err := conn.Read(buf); err != nil {
									return
								}
								conn.Write(answer)
							}
						}()
					}
				}
			}()
			st := replicaStore(t, ln.Addr().String(), []redisstore.Key{keyA}, func(o *redisstore.Options) { o.Timeout = 100 * time.Millisecond })
			p.ResetRequests()
			if _, err := replicaCache(t, p, st).Token(testContext(t)); err != nil || p.Requests(idp.EndpointToken) != 1 {
				t.Fatalf("Token = %v after %d requests", err, p.Requests(idp.EndpointToken))
			}
			if err := st.Ready(); !errors.Is(err, redisstore.ErrUnavailable) {
				t.Fatalf("Ready = %v", err)
			}
		})
	}
}

// TestFleetOnBehalfOf: the on-behalf-of caches of two replicas of
// lending-api share through Redis: amit's token exchanged for the core
// banking API by 2 x 16 callers costs one request.
func TestFleetOnBehalfOf(t *testing.T) {
	srv := redistest.Start(t)
	p := idp.StartTest(t)
	ctx := testContext(t)
	incoming := signIn(t, p, idp.UserAmit, idp.AmitPassword, idp.ResourceLending+"/Loans.Read").AccessToken
	var xs []*token.Exchange
	for range 2 {
		st := replicaStore(t, srv.Addr, []redisstore.Key{keyA})
		x, err := token.NewOnBehalfOf(lendingAPI(p), exchangeOpts(p, nil), func(o *token.ExchangeOptions) { o.SecondLevel = st.SecondLevel })
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { x.Close() })
		xs = append(xs, x)
	}
	p.ResetRequests()
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for _, x := range xs {
		for range 16 {
			wg.Go(func() {
				tok, err := x.Token(ctx, incoming, []string{idp.ResourceCBS + "/.default"})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				seen[tok.AccessToken] = true
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	if len(seen) != 1 || p.Requests(idp.EndpointToken) != 1 {
		t.Fatalf("2 replicas x 16 callers: %d tokens, %d requests, want 1 and 1", len(seen), p.Requests(idp.EndpointToken))
	}
	// Redis holds no subject token in its key names.
	rc := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	defer rc.Close()
	keys, _ := rc.Keys(ctx, "*").Result()
	for _, k := range keys {
		if strings.Contains(k, incoming[:20]) || strings.Contains(k, idp.ClientLendingAPI) {
			t.Fatalf("Redis key %q names the subject", k)
		}
	}
}

// TestDeadLockHolder: a replica that died holding an entry's lock (or
// hangs in its fetch) holds the others up for Options.Wait only: they
// fetch for themselves. A refresh lock is different: the others fail with
// ErrBusy rather than redeem a refresh token that may be in flight.
func TestDeadLockHolder(t *testing.T) {
	srv := redistest.Start(t)
	p := idp.StartTest(t)
	ctx := testContext(t)
	rc := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	t.Cleanup(func() { rc.Close() })
	lockOf := func(kind, key string) string {
		h := sha256.Sum256([]byte(key))
		return "{" + redisstore.DefaultPrefix + ":" + kind + ":" + hex.EncodeToString(h[:16]) + "}:lock"
	}
	short := func(o *redisstore.Options) { o.Wait = 100 * time.Millisecond }

	rc.Set(ctx, lockOf("at", cacheKey), "999", time.Minute)
	p.ResetRequests()
	if _, err := replicaCache(t, p, replicaStore(t, srv.Addr, []redisstore.Key{keyA}, short)).Token(ctx); err != nil || p.Requests(idp.EndpointToken) != 1 {
		t.Fatalf("cache behind a dead holder: %v after %d requests", err, p.Requests(idp.EndpointToken))
	}

	st := replicaStore(t, srv.Addr, []redisstore.Key{keyA}, short)
	if err := st.Store(ctx, "k", "rt-in-flight"); err != nil {
		t.Fatal(err)
	}
	rc.Set(ctx, lockOf("rt", "k"), "999", time.Minute)
	c := lendingWeb()
	c.TokenURL = p.TokenURL()
	r, _ := token.NewRefresh(c, st, "k", nil, refreshOpts(p, nil))
	p.ResetRequests()
	if _, err := r.Token(ctx); !errors.Is(err, redisstore.ErrBusy) || idbridge.ReasonOf(err) != "idp_unavailable" || p.Requests(idp.EndpointToken) != 0 {
		t.Fatalf("refresh behind a dead holder: %v after %d requests", err, p.Requests(idp.EndpointToken))
	}
}
