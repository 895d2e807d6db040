package redisstore_test

import (
	"errors"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/token"
	"github.com/idbridge/idbridge/token/redisstore"
)

// Tests against a real Redis and the provider are in integration/tokenit;
// these cover what needs none.
func TestNew(t *testing.T) {
	c := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer c.Close()
	key := redisstore.Key{ID: "k1", Secret: make([]byte, 32)}
	tests := []struct {
		name   string
		client goredis.UniversalClient
		keys   []redisstore.Key
	}{
		{"nil client", nil, []redisstore.Key{key}},
		{"no key", c, nil},
		{"AES-128 key", c, []redisstore.Key{{ID: "k1", Secret: make([]byte, 16)}}},
	}
	for _, tt := range tests {
		if _, err := redisstore.New(tt.client, tt.keys); !errors.Is(err, idbridge.ErrInvalidOptions) {
			t.Errorf("%s: err = %v", tt.name, err)
		}
	}
	s, err := redisstore.New(c, []redisstore.Key{key})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Source("", token.SourceFunc(nil)); !errors.Is(err, idbridge.ErrInvalidOptions) {
		t.Errorf("Source without key: %v", err)
	}
}
