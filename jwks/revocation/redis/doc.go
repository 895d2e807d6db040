// Package redis shares a revocation list among the replicas of a service
// through Redis (or Valkey), with github.com/redis/go-redis/v9.
//
// Each replica keeps a local [revocation.List], so the check on the request
// path makes no network call. A revocation is applied locally, stored in
// Redis (a sorted set whose scores are the entries' expiry times, so Redis
// keeps no entry longer than it can matter) and published on a channel;
// the other replicas apply it from the channel, within milliseconds on a
// local network.
//
//	client := goredis.NewUniversalClient(&goredis.UniversalOptions{Addrs: addrs})
//	list, err := redis.New(client, func(o *redis.Options) {
//		o.Logger = slog.Default()
//		o.MaxStaleness = 5 * time.Minute // fail closed after 5 minutes without Redis
//	})
//	...
//	defer list.Close()
//	if err := list.WaitReady(ctx); err != nil { ... } // full copy loaded
//
// Any [goredis.UniversalClient] works: a single node, Sentinel or Cluster.
//
// # Start, reconnect and outages
//
// A replica subscribes first and then loads the whole list, so nothing
// published in between is missed; [List.Ready] reports ready only once
// the copy is complete. When Redis goes away the replica keeps its last
// copy and keeps refusing what it knows, reports the outage through Ready
// and Options.Logger, and reconnects with back-off; on reconnect it loads
// the whole list again (messages published during the outage are lost,
// the stored entries are not). Revocations made on a replica while Redis is
// down are applied locally at once and queued; they are stored and
// published before that replica reports ready again, so none is lost while
// the process lives. With Options.MaxStaleness, a replica whose copy is
// older than the bound refuses every token with [ErrStale] (class
// idp_unavailable, a 503 in middleware) instead of trusting an old copy.
//
// Entries survive a Redis restart only if Redis persists its data (AOF or
// RDB snapshots), as any Redis holding security state should.
package redis
