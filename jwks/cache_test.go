package jwks_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/jwkstest"
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
