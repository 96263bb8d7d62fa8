package fsstore

import "time"

// DefaultCleanupInterval is how often expired files are deleted unless
// WithCleanupInterval says otherwise.
const DefaultCleanupInterval = 5 * time.Minute

// An Option configures a Store.
type Option func(*config)

type config struct {
	cleanupInterval time.Duration
	sync            bool
}

// WithCleanupInterval sets how often a background goroutine deletes expired
// files and temporary files left by crashed writers (default
// DefaultCleanupInterval). Zero or less turns it off, for example when
// another process sharing the directory does the cleanup; DeleteExpired
// still works.
func WithCleanupInterval(d time.Duration) Option {
	return func(c *config) { c.cleanupInterval = max(d, 0) }
}

// WithSync sets whether a file is flushed to stable storage (fsync) before
// it replaces a record (default true). With sync, a machine crash leaves
// either the old or the new record; without it, writes are much faster but
// a crash may leave an empty or damaged file, which then reads as not
// found.
func WithSync(sync bool) Option {
	return func(c *config) { c.sync = sync }
}
