package redisstore

import (
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/idbridge/idbridge/token"
)

// BenchmarkOpenRecord is the CPU part of a second-level hit: AES-GCM open
// of a 1.5 KB Entra-sized access token and decoding it (the rest is one
// GET on the network; tokenit's BenchmarkRedisL2Hit measures both).
func BenchmarkOpenRecord(b *testing.B) {
	c := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	s, err := New(c, []Key{testKeyA})
	if err != nil {
		b.Fatal(err)
	}
	tok := &token.Token{AccessToken: strings.Repeat("x", 1500), TokenType: "Bearer", Expiry: time.Now().Add(time.Hour), Scopes: []string{"api://lending/Loans.Read"}}
	env := s.sealRecord(newRecord(tok, "", time.Now()), "k")
	b.ReportAllocs()
	for b.Loop() {
		r, err := s.openRecord(env, "k")
		if err != nil || r.token() == nil {
			b.Fatal(err)
		}
	}
}
