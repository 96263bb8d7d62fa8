package memstore

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/sessionkit/sessions/internal/cleanup"
)

// DefaultCleanupInterval is how often the background cleanup removes
// expired records unless WithCleanupInterval says otherwise: one minute,
// as in every store package.
const DefaultCleanupInterval = cleanup.DefaultInterval

// An Option configures a Store. Options apply in order; a nil Option is
// ignored, and an invalid option value makes New return an error.
type Option func(*config) error

type config struct {
	cleanupInterval time.Duration
	maxEntries      int
	logger          *slog.Logger
}

// WithCleanupInterval sets how often a background goroutine removes expired
// records (default DefaultCleanupInterval). A d of zero or less turns
// background cleanup off: expired records are then never returned but stay
// in memory until they are overwritten, deleted, evicted or removed by
// DeleteExpired.
func WithCleanupInterval(d time.Duration) Option {
	return func(c *config) error { c.cleanupInterval = d; return nil }
}

// WithMaxEntries bounds the number of records the store holds (default 0:
// no bound). A negative n is invalid.
//
// The bound is split evenly across the shards. Saving a new key into a full
// shard first removes the shard's expired records; if none has expired, it
// evicts the record that expires first among a sample of 5 records of the
// shard. So a full store may drop a live session, most likely one close to
// its end. Overwriting an existing key never evicts anything.
func WithMaxEntries(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("WithMaxEntries(%d): the bound must not be negative (0 means no bound)", n)
		}
		c.maxEntries = n
		return nil
	}
}

// WithLogger sets the logger of the background cleanup, which logs how
// many expired records it removed at level Debug (it cannot fail). The
// default, and what a nil l means, is slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error { c.logger = l; return nil }
}
