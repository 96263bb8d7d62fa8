package redisstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/redis/rueidis"

	"github.com/sessionkit/sessions/store"
)

// CachedStore is a Store whose reads are served from rueidis'
// server-assisted client-side cache: a read-only request for a session
// this process has seen recently costs no round trip. Redis tracks the keys
// the client cached and pushes an invalidation when any client changes or
// deletes one, so another process's Save, Renew or Destroy reaches this
// cache within a round trip.
//
// Staleness bound: a Load never returns data that was replaced or deleted
// more than ttl ago, whatever happens to invalidations (the local entry
// lives at most ttl, and never past the key's own expiry). Writes made
// through this CachedStore are read back from the server for ttl, so a
// process always reads its own writes.
//
// CachedStore implements store.Versioned, but its LoadVersion never
// touches (Touched is always false), and it deliberately does not implement
// store.LoadToucher: GETEX cannot be cached. With an idle timeout the
// manager slides the expiry with an occasional rewrite instead, so reads
// stay local. A version read from the cache may be stale; SaveIf checks it
// on the server, so a stale version only costs a conflict, never a lost
// write. The client must have caching enabled (the rueidis default; not
// DisableCache).
type CachedStore struct {
	s   *Store
	ttl time.Duration

	mu      sync.Mutex
	written map[string]time.Time // key -> until when reads bypass the cache
	pruned  time.Time            // when written was last swept
}

var (
	_ store.Store     = (*CachedStore)(nil)
	_ store.Versioned = (*CachedStore)(nil)
	_ store.Toucher   = (*CachedStore)(nil)
)

// NewCached returns a CachedStore that uses client and keeps entries in the
// local cache for at most ttl (a second or two suits sessions). The client
// stays the caller's to close. The options are those of New (WithReplicas
// applies to the writes). NewCached does no I/O; it fails when client is
// nil, ttl is not positive or an option is invalid.
func NewCached(client rueidis.Client, ttl time.Duration, opts ...Option) (*CachedStore, error) {
	if ttl <= 0 {
		return nil, fmt.Errorf("redisstore: cache ttl %v is not positive", ttl)
	}
	s, err := New(client, opts...)
	if err != nil {
		return nil, err
	}
	return &CachedStore{s: s, ttl: ttl, written: map[string]time.Time{}}, nil
}

// Load returns the record under key, from the local cache when it holds it.
func (c *CachedStore) Load(ctx context.Context, key string) ([]byte, bool, error) {
	l, err := c.load(ctx, key, "load")
	return l.Data, l.Found(), err
}

// LoadVersion returns the record under key with its version, from the
// local cache when it holds it. It never moves the expiry, whatever touch
// says, and so never reports Touched.
func (c *CachedStore) LoadVersion(ctx context.Context, key string, _ time.Time) (store.Loaded, error) {
	return c.load(ctx, key, "load version")
}

// load reads key for op: from the server when this store wrote it within
// the last ttl, else through the cache.
func (c *CachedStore) load(ctx context.Context, key, op string) (store.Loaded, error) {
	if err := c.s.check(op); err != nil {
		return store.Loaded{}, err
	}
	if c.recentlyWritten(key) {
		return c.s.get(ctx, key, op)
	}
	cmd := c.s.client.B().Get().Key(c.s.prefix + key).Cache()
	return loaded(c.s.client.DoCache(ctx, cmd, c.ttl), false, op)
}

// Save stores data under key until expiresAt, like Store.Save.
func (c *CachedStore) Save(ctx context.Context, key string, data []byte, expiresAt time.Time) error {
	defer c.markWritten(key)
	return c.s.Save(ctx, key, data, expiresAt)
}

// SaveIf stores data under key until expiresAt if the live record has the
// given version, like Store.SaveIf. The check runs on the server. Like a
// Save, and even after a conflict, it sends this process's reads of key to
// the server for ttl, so a caller that reloads after a conflict sees the
// record that won.
func (c *CachedStore) SaveIf(ctx context.Context, key string, data []byte, expiresAt time.Time, version store.Version) (store.Version, error) {
	defer c.markWritten(key)
	return c.s.SaveIf(ctx, key, data, expiresAt, version)
}

// Delete removes the record under key, like Store.Delete.
func (c *CachedStore) Delete(ctx context.Context, key string) error {
	defer c.markWritten(key)
	return c.s.Delete(ctx, key)
}

// Touch moves the record's expiry, like Store.Touch.
func (c *CachedStore) Touch(ctx context.Context, key string, expiresAt time.Time) error {
	defer c.markWritten(key)
	return c.s.Touch(ctx, key, expiresAt)
}

// Close marks the store closed: later calls return an error wrapping
// store.ErrClosed. Entries already in the client's cache stay there until
// they expire. Close never closes the client, which stays the caller's.
// Calling Close again does nothing.
func (c *CachedStore) Close() error {
	err := c.s.Close()
	c.mu.Lock()
	clear(c.written)
	c.mu.Unlock()
	return err
}

// markWritten makes reads of key skip the cache for ttl: the invalidation of
// this process's own write may still be on its way.
func (c *CachedStore) markWritten(key string) {
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

func (c *CachedStore) recentlyWritten(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	until, ok := c.written[key]
	if ok && time.Now().After(until) {
		delete(c.written, key)
		return false
	}
	return ok
}
