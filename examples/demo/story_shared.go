package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"sync"

	goredis "github.com/redis/go-redis/v9"

	"github.com/idbridge/idbridge/integration/idp"
	"github.com/idbridge/idbridge/integration/redistest"
	"github.com/idbridge/idbridge/token"
	"github.com/idbridge/idbridge/token/redisstore"
)

// sharedRefresh ends step 6: two replicas of lending-web keep a second
// session of Amit's in Redis (token/redisstore) and renew it at the same
// moment; one redeems the rotating refresh token, the other takes its
// tokens. Without redis-server it says so and moves on.
func (s *story) sharedRefresh(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "idbridge-demo-redis-")
	if err != nil {
		return err
	}
	srv, err := redistest.NewServer(dir)
	if err != nil {
		os.RemoveAll(dir)
		if !errors.Is(err, redistest.ErrNotInstalled) {
			return err
		}
		s.say("redis-server is not installed: skipping two replicas sharing a session (apt-get install redis-server to see it)")
		return nil
	}
	s.onClose(func() { srv.Stop(); os.RemoveAll(dir) })
	sess, _, err := s.signInAs(ctx, idp.UserAmit, idp.AmitPassword)
	if err != nil {
		return err
	}
	rt, err := sess.store.Load(ctx, sess.key)
	if err != nil {
		return err
	}
	// In production the key comes from the service's secret store.
	key := redisstore.Key{ID: "demo", Secret: make([]byte, 32)}
	rand.Read(key.Secret)
	p := s.idp
	client := token.Client{ID: idp.ClientLendingWeb, TokenURL: p.TokenURL(), Auth: token.ClientSecretBasic(idp.LendingWebSecret)}
	var caches [2]*token.Cache
	for i := range caches {
		c := goredis.NewClient(&goredis.Options{Addr: srv.Addr, ContextTimeoutEnabled: true})
		s.onClose(func() { c.Close() })
		store, err := redisstore.New(c, []redisstore.Key{key})
		if err != nil {
			return err
		}
		if i == 0 {
			if err := store.Store(ctx, sess.key, rt); err != nil {
				return err
			}
		}
		opts := tokenOptions(p, s.auditFor(fmt.Sprintf("lending-web-%d", i+1)))
		r, err := token.NewRefresh(client, store, sess.key, nil, func(o *token.RefreshOptions) { o.Options = opts })
		if err != nil {
			return err
		}
		if caches[i], err = token.NewCache(r, func(o *token.CacheOptions) { o.Audit = opts.Audit }); err != nil {
			return err
		}
		s.onClose(func() { caches[i].Close() })
	}
	before := s.idp.Requests(idp.EndpointToken)
	var toks [2]*token.Token
	var errs [2]error
	var wg sync.WaitGroup
	for i, c := range caches {
		wg.Go(func() { toks[i], errs[i] = c.Token(ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return err
	}
	s.say("two replicas of lending-web share the session in Redis (sealed with AES-GCM) and renew it at once: %d token request, same token: %v, no invalid_grant",
		s.idp.Requests(idp.EndpointToken)-before, toks[0].AccessToken == toks[1].AccessToken)
	return nil
}
