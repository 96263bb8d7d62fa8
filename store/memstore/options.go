package memstore

import (
	"fmt"
	"log/slog"
	"time"
)

// DefaultCleanupInterval is how often the sweeper runs unless
// WithCleanupInterval says otherwise.
const DefaultCleanupInterval = time.Minute

// An Option configures a Store. An invalid option value makes New return an
// error.
type Option func(*config)

type config struct {
	cleanupInterval time.Duration
	maxEntries      int
	logger          *slog.Logger
	err             error // the first invalid option value
}

func defaultConfig() config {
	return config{cleanupInterval: DefaultCleanupInterval, logger: slog.Default()}
}

// invalid records that an option was given an invalid value.
func (c *config) invalid(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf(format, args...)
	}
}

// apply applies opts (skipping nil ones) to the defaults.
func apply(opts []Option) (config, error) {
	cfg := defaultConfig()
	for _, opt := range opts {
		if opt != nil {
			opt(&cfg)
		}
	}
	if cfg.err != nil {
		return cfg, fmt.Errorf("memstore: %w", cfg.err)
	}
	return cfg, nil
}

// WithCleanupInterval sets how often a background goroutine removes expired
// records (default DefaultCleanupInterval). A d of zero or less turns
// background cleanup off: expired records are then never returned but stay
// in memory until they are overwritten, deleted, evicted or removed by
// DeleteExpired.
func WithCleanupInterval(d time.Duration) Option {
	return func(c *config) { c.cleanupInterval = max(d, 0) }
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
	return func(c *config) {
		if n < 0 {
			c.invalid("WithMaxEntries(%d): the bound must not be negative (0 means no bound)", n)
			return
		}
		c.maxEntries = n
	}
}

// WithLogger sets the logger of the background cleanup (default
// slog.Default()). The sweeper cannot fail; it logs how many expired
// records it removed at level Debug. A nil logger is invalid.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l == nil {
			c.invalid("WithLogger: the logger is nil")
			return
		}
		c.logger = l
	}
}
