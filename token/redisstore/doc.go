// Package redisstore shares tokens among the replicas of a service through
// Redis (or Valkey), with github.com/redis/go-redis/v9, so that the fleet
// asks the IdP once per token rather than once per replica, and a rotating
// refresh token is redeemed by one replica at a time.
//
//	rdb := goredis.NewClient(&goredis.Options{Addr: addr, ContextTimeoutEnabled: true})
//	store, err := redisstore.New(rdb, []redisstore.Key{{ID: "2026-12", Secret: key32}})
//
//	// A refresh token shared by every replica (token.SharedRefreshStore):
//	r, err := token.NewRefresh(webApp, store, "lending-web/"+sessionID, nil)
//
//	// A token.Cache whose second level is Redis:
//	cc, err := token.NewClientCredentials(daemon, []string{"api://lending/.default"})
//	l2, err := store.Source("analytics-svc/lending", cc)
//	cache, err := token.NewCache(l2)
//
//	// The on-behalf-of cache of a token.Exchange:
//	obo, err := token.NewOnBehalfOf(api, func(o *token.ExchangeOptions) { o.SecondLevel = store.SecondLevel })
//
// Any [goredis.UniversalClient] works: a single node, Sentinel or Cluster.
//
// # Refresh tokens
//
// [Store] implements [token.SharedRefreshStore], which [token.Refresh]
// finds by type assertion. A refresh reads the refresh token and its
// version, redeems it while holding a short lock (its fencing token is
// checked when writing), and stores the rotated token only if the version
// is unchanged. A replica that finds the lock taken waits (up to
// Options.Wait) and then uses the winner's access token instead of
// redeeming a refresh token the IdP has already rotated, which it would
// answer with invalid_grant or, with reuse detection, by revoking the
// user's sessions.
//
// # Two-level cache
//
// [Store.Source] puts Redis between a token.Cache (the first level, whose
// hits stay lock-free and allocation-free) and the source it caches. One
// replica fetches a given token, under the key's lock; the others wait
// briefly for it, and keep serving their own valid copy meanwhile. An
// entry lives in Redis for the token's remaining life.
//
// # Encryption
//
// Every entry is sealed with AES-256-GCM under the first of the
// application's [Key]s, whose ID it carries, and bound to its cache key as
// associated data, so an entry copied to another key does not open. Any
// listed key opens, so a new key is rolled out by listing it first and
// keeping the old one until the old entries expire. An entry that fails to
// open (flipped bytes, truncated, moved, an unknown key) is never served:
// it counts as missing, and the token is fetched again and overwritten.
// Redis key names carry a hash of the cache key, not the key itself.
//
// # Redis outages
//
// Each command is bounded by Options.Timeout; for a hanging server to be
// bounded too, configure the client with ContextTimeoutEnabled (or a read
// timeout no longer than Options.Timeout). When a command fails, the store
// logs it once, [Store.Ready] reports it, and Redis is left alone for a
// second: the token.Cache serves its tokens (never past their expiry) and
// fetches from the IdP. The first command that succeeds again is logged
// and Ready returns nil. A refresh token lives only in Redis, so a refresh
// during an outage fails with an error of class idp_unavailable and the
// token.Cache retries with back-off while its token is valid.
//
// A full Redis (maxmemory reached, noeviction) refuses writes; that counts
// as an outage like any other. An evicting Redis only costs the cache
// entries it drops, which are fetched again; but a refresh token it drops
// signs the user out, so keep refresh tokens on a Redis whose
// maxmemory-policy is noeviction (they carry a TTL, which volatile-*
// policies would evict), or persist it (AOF) so a restart loses nothing.
package redisstore
