package memstore

import "time"

// DefaultCleanupInterval is how often the sweeper runs unless
// WithCleanupInterval says otherwise.
const DefaultCleanupInterval = time.Minute

// An Option configures a Store.
type Option func(*config)

type config struct {
	cleanupInterval time.Duration
	maxEntries      int
}

// WithCleanupInterval sets how often a background goroutine removes expired
// records (default DefaultCleanupInterval). Zero or less turns it off:
// expired records are then never returned but stay in memory until they are
// overwritten, deleted, evicted or removed by DeleteExpired.
func WithCleanupInterval(d time.Duration) Option {
	return func(c *config) { c.cleanupInterval = max(d, 0) }
}

// WithMaxEntries bounds the number of records the store holds (default 0:
// no bound; a negative n also means no bound).
//
// The bound is split evenly across the shards. Saving a new key into a full
// shard first removes the shard's expired records; if none has expired, it
// evicts the record that expires first among a sample of 5 records of the
// shard. So a full store may drop a live session, most likely one close to
// its end. Overwriting an existing key never evicts anything.
func WithMaxEntries(n int) Option {
	return func(c *config) { c.maxEntries = max(n, 0) }
}
