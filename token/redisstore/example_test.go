package redisstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/idbridge/idbridge/token"
	"github.com/idbridge/idbridge/token/redisstore"
)

// A token.Cache with Redis as its second level. Here no Redis answers (the
// port is closed), which a replica must survive: the token comes from the
// source under the store, and Ready reports the outage until Redis is
// back.
func ExampleStore_Source() {
	client := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true, MaxRetries: -1})
	defer client.Close()
	// Keys come from the application's secret store; list a new key first
	// and keep the old one until its entries have expired.
	keys := []redisstore.Key{{ID: "2026-12", Secret: bytes.Repeat([]byte{7}, 32)}}
	store, err := redisstore.New(client, keys)
	if err != nil {
		panic(err)
	}
	calls := 0
	idp := token.SourceFunc(func(context.Context) (*token.Token, error) {
		calls++ // a client credentials request, say
		return &token.Token{AccessToken: "eyJ0eXAi...", Expiry: time.Now().Add(time.Hour)}, nil
	})
	l2, err := store.Source("analytics-svc/api://lending/.default", idp)
	if err != nil {
		panic(err)
	}
	cache, err := token.NewCache(l2)
	if err != nil {
		panic(err)
	}
	defer cache.Close()

	ctx := context.Background()
	for range 3 {
		if _, err := cache.Token(ctx); err != nil {
			panic(err)
		}
	}
	fmt.Println("IdP requests:", calls)
	fmt.Println("Redis unavailable:", errors.Is(store.Ready(), redisstore.ErrUnavailable))
	// Output:
	// IdP requests: 1
	// Redis unavailable: true
}
