package redisstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/redis/rueidis"
)

// WithClientCache serves the Store's reads from rueidis' server-assisted
// client-side cache, keeping an entry for at most ttl (a second or two
// suits sessions): a read-only request for a session this process has
// seen recently costs no round trip. Redis tracks the keys the client
// cached and pushes an invalidation when any client changes or deletes
// one, so another process's Save, Renew or Destroy reaches this cache
// within a round trip. The client must have caching enabled (the rueidis
// default; not DisableCache). A ttl that is not positive makes New fail.
//
// Staleness bound: a Load never returns data that was replaced or deleted
// more than ttl ago, whatever happens to invalidations (the local entry
// lives at most ttl, and never past the key's own expiry). Writes made
// through this Store are read back from the server for ttl, so a process
// always reads its own writes.
//
// Reads through the cache never move an expiry: LoadVersion ignores its
// touch (see LoadVersion). Touch and LoadAndTouch go to the server, as do
// all writes; WithReplicas applies to the writes as without a cache.
func WithClientCache(ttl time.Duration) Option {
	return func(c *config) error {
		if ttl <= 0 {
			return fmt.Errorf("WithClientCache: the ttl %v is not positive", ttl)
		}
		c.cacheTTL = ttl
		return nil
	}
}

// clientCache is what WithClientCache adds to a Store: the TTL of cached
// entries, and the keys this Store wrote within the last TTL, whose reads
// skip the cache because the invalidation of the write may still be on
// its way. Its methods do nothing on a nil clientCache.
type clientCache struct {
	ttl time.Duration

	mu      sync.Mutex
	written map[string]time.Time // key -> until when reads bypass the cache
	pruned  time.Time            // when written was last swept
}

// newClientCache returns the cache of a Store for WithClientCache(ttl), or
// nil for a ttl of zero: no cache.
func newClientCache(ttl time.Duration) *clientCache {
	if ttl == 0 {
		return nil
	}
	return &clientCache{ttl: ttl, written: map[string]time.Time{}}
}

// read sends the read of key, which is serverKey on the server: from the
// server (GET) when this Store wrote key within the last ttl, else through
// the cache.
func (c *clientCache) read(ctx context.Context, client rueidis.Client, key, serverKey string) rueidis.RedisResult {
	if c.recentlyWritten(key) {
		return client.Do(ctx, client.B().Get().Key(serverKey).Build())
	}
	return client.DoCache(ctx, client.B().Get().Key(serverKey).Cache(), c.ttl)
}

// markWritten makes reads of key skip the cache for ttl: the invalidation of
// this process's own write may still be on its way.
func (c *clientCache) markWritten(key string) {
	if c == nil {
		return
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Sub(c.pruned) > c.ttl {
		c.pruned = now
		for k, until := range c.written {
			if now.After(until) {
				delete(c.written, k)
			}
		}
	}
	c.written[key] = now.Add(c.ttl)
}

// recentlyWritten reports whether reads of key skip the cache.
func (c *clientCache) recentlyWritten(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	until, ok := c.written[key]
	if ok && time.Now().After(until) {
		delete(c.written, key)
		return false
	}
	return ok
}

// clear forgets the written keys, for Close.
func (c *clientCache) clear() {
	if c == nil {
		return
	}
	c.mu.Lock()
	clear(c.written)
	c.mu.Unlock()
}
