package fsstore

import (
	"fmt"
	"log/slog"
	"time"
)

// DefaultCleanupInterval is how often expired files are deleted unless
// WithCleanupInterval says otherwise.
const DefaultCleanupInterval = 5 * time.Minute

// An Option configures a Store. An invalid option value makes New return an
// error.
type Option func(*config)

type config struct {
	cleanupInterval time.Duration
	sync            bool
	logger          *slog.Logger
	err             error // the first invalid option value
}

// invalid records that an option was given an invalid value.
func (c *config) invalid(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf(format, args...)
	}
}

// apply applies opts (skipping nil ones) to the defaults.
func apply(opts []Option) (config, error) {
	cfg := config{cleanupInterval: DefaultCleanupInterval, sync: true, logger: slog.Default()}
	for _, opt := range opts {
		if opt != nil {
			opt(&cfg)
		}
	}
	if cfg.err != nil {
		return cfg, fmt.Errorf("fsstore: %w", cfg.err)
	}
	return cfg, nil
}

// WithCleanupInterval sets how often a background goroutine deletes expired
// files and temporary files left by crashed writers (default
// DefaultCleanupInterval). A d of zero or less turns background cleanup
// off, for example when another process sharing the directory does the
// cleanup; DeleteExpired still works.
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

// WithLogger sets the logger that errors of the background cleanup go to
// (default slog.Default()), at level Error with the error under the key
// "error". A failed cleanup is retried at the next interval. A nil logger
// is invalid.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l == nil {
			c.invalid("WithLogger: the logger is nil")
			return
		}
		c.logger = l
	}
}
