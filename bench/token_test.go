package bench

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idbridge/idbridge/token"
	"golang.org/x/oauth2"
)

// cachedAccessToken is what every cache hands out; it is an opaque test
// value, not a credential.
const cachedAccessToken = "bench-access-token"

// tokenGetter returns the cached access token.
type tokenGetter func(ctx context.Context) (string, error)

// tokenLib is one compared token cache over a source that counts its calls.
type tokenLib struct {
	name  string
	setup func(tb testing.TB, calls *atomic.Int32) tokenGetter
}

var tokenLibs = []tokenLib{
	{name: "raw", setup: func(tb testing.TB, calls *atomic.Int32) tokenGetter {
		// The floor of any cache that checks expiry on each call: one atomic
		// load and a comparison with the monotonic clock (time.Since of a
		// time.Now reading skips the wall clock).
		calls.Add(1)
		type entry struct {
			access string
			ttl    time.Duration // since base
		}
		base := time.Now()
		var p atomic.Pointer[entry]
		p.Store(&entry{access: cachedAccessToken, ttl: time.Hour})
		return func(context.Context) (string, error) {
			e := p.Load()
			if time.Since(base) >= e.ttl {
				return "", errors.New("bench: expired")
			}
			return e.access, nil
		}
	}},
	{name: "idbridge", setup: func(tb testing.TB, calls *atomic.Int32) tokenGetter {
		c := idbridgeCache(tb, calls)
		return func(ctx context.Context) (string, error) {
			t, err := c.Token(ctx)
			if err != nil {
				return "", err
			}
			return t.AccessToken, nil
		}
	}},
	{name: "idbridge_oauth2adapter", setup: func(tb testing.TB, calls *atomic.Int32) tokenGetter {
		// token.Cache seen as an oauth2.TokenSource, for code written
		// against golang.org/x/oauth2.
		ts := token.OAuth2(context.Background(), idbridgeCache(tb, calls))
		return func(context.Context) (string, error) {
			t, err := ts.Token()
			if err != nil {
				return "", err
			}
			return t.AccessToken, nil
		}
	}},
	{name: "oauth2_reuse", setup: func(tb testing.TB, calls *atomic.Int32) tokenGetter {
		src := sourceFunc(func() (*oauth2.Token, error) {
			calls.Add(1)
			return &oauth2.Token{AccessToken: cachedAccessToken, TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)}, nil
		})
		ts := oauth2.ReuseTokenSource(nil, src)
		return func(context.Context) (string, error) {
			t, err := ts.Token()
			if err != nil {
				return "", err
			}
			return t.AccessToken, nil
		}
	}},
}

// sourceFunc adapts a function to oauth2.TokenSource.
type sourceFunc func() (*oauth2.Token, error)

func (f sourceFunc) Token() (*oauth2.Token, error) { return f() }

// idbridgeCache is a token.Cache over a source that counts its calls and
// returns a one-hour token, as the client-credentials flow would.
func idbridgeCache(tb testing.TB, calls *atomic.Int32) *token.Cache {
	tb.Helper()
	src := token.SourceFunc(func(context.Context) (*token.Token, error) {
		calls.Add(1)
		return &token.Token{AccessToken: cachedAccessToken, TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)}, nil
	})
	c, err := token.NewCache(src)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// TestTokenSameResult checks that every compared cache hands out the same
// token and calls its source once, however often and from however many
// goroutines it is asked.
func TestTokenSameResult(t *testing.T) {
	ctx := context.Background()
	for _, lib := range tokenLibs {
		t.Run(lib.name, func(t *testing.T) {
			var calls atomic.Int32
			get := lib.setup(t, &calls)
			done := make(chan error, 8)
			for range cap(done) {
				go func() {
					for range 100 {
						tok, err := get(ctx)
						if err == nil && tok != cachedAccessToken {
							err = errors.New("wrong token")
						}
						if err != nil {
							done <- err
							return
						}
					}
					done <- nil
				}()
			}
			for range cap(done) {
				if err := <-done; err != nil {
					t.Fatal(err)
				}
			}
			if n := calls.Load(); n != 1 {
				t.Fatalf("source called %d times, want 1", n)
			}
		})
	}
}

// BenchmarkToken measures a cache hit: a fresh token already cached.
func BenchmarkToken(b *testing.B) {
	ctx := context.Background()
	for _, lib := range tokenLibs {
		var calls atomic.Int32
		get := lib.setup(b, &calls)
		if _, err := get(ctx); err != nil { // fill the cache
			b.Fatal(err)
		}
		b.Run(lib.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := get(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(lib.name+"_parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := get(ctx); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
