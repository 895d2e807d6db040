package jwks_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"

	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/jwkstest"
	"github.com/idbridge/idbridge/jwks/keyfuncset"
)

func TestCache(t *testing.T) {
	clk := newClock(testNow)
	idp := jwkstest.Start(t, func(o *jwkstest.Options) { o.Now = clk.Now })
	v := newValidator(t, idp, func(o *jwks.Options) {
		o.Now = clk.Now
		o.Cache = &jwks.CacheOptions{MaxEntries: 32}
	})
	ctx := context.Background()
	tok := idp.Mint(map[string]any{"aud": "api://orders", "exp": testNow.Add(10 * time.Minute).Unix()})
	c1 := mustValidate(t, v, tok)
	if c2 := mustValidate(t, v, tok); c2 != c1 {
		t.Fatal("cache hit returned different claims")
	}

	// The same signature with another header or payload is not a hit.
	parts := strings.Split(tok, ".")
	forged := b64(`{"alg":"RS256","kid":"`+idp.KeyID()+`","x":1}`) + "." + parts[1] + "." + parts[2]
	if _, err := v.Validate(ctx, forged); !errors.Is(err, jwks.ErrSignature) {
		t.Fatalf("forged header with a cached signature: %v", err)
	}
	forged = parts[0] + "." + b64(claimsJSON(idp.Issuer(), map[string]any{"sub": "admin"})) + "." + parts[2]
	if _, err := v.Validate(ctx, forged); !errors.Is(err, jwks.ErrSignature) {
		t.Fatalf("forged payload with a cached signature: %v", err)
	}

	// exp and nbf are re-checked on every hit.
	clk.Add(11 * time.Minute)
	if _, err := v.Validate(ctx, tok); !errors.Is(err, jwks.ErrExpired) {
		t.Fatalf("expired cached token: %v", err)
	}
	nbf := idp.Mint(map[string]any{"aud": "api://orders", "nbf": clk.Now().Add(30 * time.Second).Unix()})
	mustValidate(t, v, nbf) // inside the leeway
	clk.Add(-2 * time.Minute)
	if _, err := v.Validate(ctx, nbf); !errors.Is(err, jwks.ErrNotYetValid) {
		t.Fatalf("not yet valid cached token: %v", err)
	}
	clk.Add(2 * time.Minute)

	// Bounded: many tokens do not grow the cache beyond its limit.
	for i := 0; i < 200; i++ {
		mustValidate(t, v, idp.Mint(map[string]any{"aud": "api://orders", "jti": fmt.Sprint(i)}))
	}
	if n := jwks.CacheLen(v); n > 32 {
		t.Fatalf("cache holds %d entries, limit 32", n)
	}
}

func TestCacheByteBound(t *testing.T) {
	idp := jwkstest.Start(t)
	v := newValidator(t, idp, func(o *jwks.Options) { o.Cache = &jwks.CacheOptions{MaxBytes: 256 << 10} })
	pad := strings.Repeat("x", 2000)
	for i := 0; i < 100; i++ {
		mustValidate(t, v, idp.Mint(map[string]any{"aud": "api://orders", "jti": fmt.Sprint(i), "pad": pad}))
	}
	if n := jwks.CacheLen(v); n == 0 || n > 64 {
		t.Fatalf("cache holds %d entries of ~4 KiB under a 256 KiB bound", n)
	}
}

// swapKeys is a custom KeySet whose contents can be replaced, like a
// service's own refreshing key store: it does not retire keys.
type swapKeys struct {
	cur atomic.Pointer[jwks.StaticKeySet]
}

func (s *swapKeys) Key(ctx context.Context, kid, iss string) (*jwks.Key, error) {
	return s.cur.Load().Key(ctx, kid, iss)
}

// TestCacheKeyLeftTheSet: a cached token whose key is no longer in its key
// set must fail as the uncached token would, whatever kind of key set it
// is: the remote one retires keys itself, keyfunc's storage and custom key
// sets are asked again on a hit.
func TestCacheKeyLeftTheSet(t *testing.T) {
	ctx := context.Background()
	idp := jwkstest.Start(t)
	key, err := jwks.NewKey(idp.KeyID(), "", idp.PublicKey())
	if err != nil {
		t.Fatal(err)
	}

	store := jwkset.NewMemoryStorage()
	jwk, err := jwkset.NewJWKFromKey(idp.PublicKey(), jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: idp.KeyID(), USE: jwkset.UseSig}})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.KeyWrite(ctx, jwk); err != nil {
		t.Fatal(err)
	}
	kf, err := keyfunc.New(keyfunc.Options{Storage: store})
	if err != nil {
		t.Fatal(err)
	}
	custom := &swapKeys{}
	custom.cur.Store(jwks.NewStaticKeySet(key))

	tests := []struct {
		name   string
		keys   jwks.KeySet
		remove func()
	}{
		{"keyfunc", keyfuncset.New(kf), func() {
			if ok, err := store.KeyDelete(ctx, idp.KeyID()); !ok || err != nil {
				t.Fatalf("KeyDelete = %v, %v", ok, err)
			}
		}},
		{"custom key set", custom, func() { custom.cur.Store(jwks.NewStaticKeySet()) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := jwks.NewValidator(func(o *jwks.Options) {
				o.Issuers = []jwks.Issuer{{Issuer: idp.Issuer(), Keys: tt.keys}}
				o.Audiences = []string{"api://orders"}
				o.Algorithms = []string{"RS256"}
				o.Cache = &jwks.CacheOptions{}
			})
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			tok := idp.Mint(map[string]any{"aud": "api://orders"})
			c1 := mustValidate(t, v, tok)
			if c2 := mustValidate(t, v, tok); c2 != c1 {
				t.Fatal("second validation was not a cache hit")
			}
			tt.remove()
			if _, err := v.Validate(ctx, tok); !errors.Is(err, jwks.ErrUnknownKey) {
				t.Fatalf("cached token of a removed key: %v, want unknown_key", err)
			}
			if n := jwks.CacheLen(v); n != 0 {
				t.Fatalf("%d entries left after the key was removed", n)
			}
		})
	}

	// A custom key set that republishes the same key as a new *Key keeps
	// the cache entries verified with it.
	custom.cur.Store(jwks.NewStaticKeySet(key))
	v := newValidator(t, idp, func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: idp.Issuer(), Keys: custom}}
		o.Cache = &jwks.CacheOptions{}
	})
	tok := idp.Mint(map[string]any{"aud": "api://orders"})
	c1 := mustValidate(t, v, tok)
	same, _ := jwks.NewKey(idp.KeyID(), "", idp.PublicKey())
	custom.cur.Store(jwks.NewStaticKeySet(same))
	if c2 := mustValidate(t, v, tok); c2 != c1 {
		t.Fatal("republishing the same key purged the cache entry")
	}
}

// TestCacheSweepsRetiredKeys: after a hard rotation the entries of the old
// key are released at the next cold validation, not only when each old
// token comes back.
func TestCacheSweepsRetiredKeys(t *testing.T) {
	clk := newClock(testNow)
	idp := jwkstest.Start(t, func(o *jwkstest.Options) { o.Now = clk.Now })
	v := newValidator(t, idp, func(o *jwks.Options) { o.Now = clk.Now; o.Cache = &jwks.CacheOptions{} })
	for i := 0; i < 5; i++ {
		mustValidate(t, v, idp.Mint(map[string]any{"aud": "api://orders", "jti": fmt.Sprint(i)}))
	}
	if n := jwks.CacheLen(v); n != 5 {
		t.Fatalf("%d entries, want 5", n)
	}
	idp.Rotate(true)
	clk.Add(jwks.DefaultUnknownKIDInterval)
	mustValidate(t, v, idp.Mint(map[string]any{"aud": "api://orders"}))
	if n := jwks.CacheLen(v); n != 1 {
		t.Fatalf("%d entries after a hard rotation, want only the new token's", n)
	}
}

// TestCacheSameSignatureNeverShares: a token reusing a cached signature
// with another header or payload of the very same length is never a hit.
func TestCacheSameSignatureNeverShares(t *testing.T) {
	idp := jwkstest.Start(t, func(o *jwkstest.Options) { o.Now = fixedNow })
	v := newValidator(t, idp, func(o *jwks.Options) { o.Now = fixedNow; o.Cache = &jwks.CacheOptions{} })
	tok := idp.Mint(map[string]any{"aud": "api://orders", "sub": "user-1", "roles": []string{"Reader"}})
	mustValidate(t, v, tok)
	parts := strings.Split(tok, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	header, _ := base64.RawURLEncoding.DecodeString(parts[0])
	for name, forged := range map[string]string{
		"payload": parts[0] + "." + b64(strings.Replace(string(payload), `"Reader"`, `"Admin!"`, 1)) + "." + parts[2],
		"header":  b64(strings.Replace(string(header), `"JWT"`, `"JWS"`, 1)) + "." + parts[1] + "." + parts[2],
	} {
		if len(forged) != len(tok) || forged == tok {
			t.Fatalf("%s: forged token must differ with the same length", name)
		}
		if _, err := v.Validate(context.Background(), forged); !errors.Is(err, jwks.ErrSignature) {
			t.Fatalf("%s changed, cached signature kept: %v", name, err)
		}
	}
}

// TestCacheUseIsAudited: token.validated says whether the verified-token
// cache answered (cache: hit) or the token was validated in full (miss),
// which is what an operator's cache hit ratio is counted from.
func TestCacheUseIsAudited(t *testing.T) {
	idp := jwkstest.Start(t)
	// Synchronized: the key set's first fetch publishes its keys before it
	// records jwks.refreshed, so validation may run while it writes.
	buf := &syncWriter{w: &bytes.Buffer{}}
	v := newValidator(t, idp, func(o *jwks.Options) {
		o.Cache = &jwks.CacheOptions{MaxEntries: 32}
		o.Audit = slog.NewJSONHandler(buf, nil)
	})
	tok := idp.Mint(map[string]any{"aud": "api://orders"})
	mustValidate(t, v, tok)
	mustValidate(t, v, tok)
	_, _ = v.Validate(context.Background(), "not-a-token")
	var got []string
	for line := range strings.Lines(buf.String()) {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(ev["event"].(string), "token.") {
			c, _ := ev["cache"].(string)
			got = append(got, ev["event"].(string)+":"+c)
		}
	}
	if want := []string{"token.validated:miss", "token.validated:hit", "token.rejected:"}; !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}
