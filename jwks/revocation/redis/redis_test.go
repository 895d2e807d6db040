package redis_test

import (
	"context"
	"errors"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	rediss "github.com/idbridge/idbridge/jwks/revocation/redis"
)

// Tests against a real Redis are in integration/revocationit; these cover
// what needs none.
func TestNew(t *testing.T) {
	if _, err := rediss.New(nil); err == nil {
		t.Fatal("nil client accepted")
	}
	c := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer c.Close()
	if _, err := rediss.New(c, func(o *rediss.Options) { o.MaxStaleness = -time.Second }); err == nil {
		t.Fatal("negative MaxStaleness accepted")
	}
	l, err := rediss.New(c, func(o *rediss.Options) { o.MaxStaleness = time.Minute })
	if err != nil {
		t.Fatal(err)
	}
	// Nothing loaded: not ready, and with MaxStaleness every token refused.
	if !errors.Is(l.Ready(), rediss.ErrStale) || !errors.Is(l.Check(context.Background(), nil), rediss.ErrStale) {
		t.Fatalf("before any load: Ready %v", l.Ready())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := l.WaitReady(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitReady = %v", err)
	}
	l.Close()
	l.Close()
}
