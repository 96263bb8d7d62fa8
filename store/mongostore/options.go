package mongostore

import (
	"errors"
	"log/slog"
	"time"
)

// DefaultCleanupInterval is how often the background cleanup runs on servers
// without TTL indexes, unless WithCleanupInterval says otherwise.
const DefaultCleanupInterval = time.Minute

// An Option configures a Store. An invalid option value makes New return an
// error.
type Option func(*config)

type config struct {
	cleanupInterval time.Duration
	logger          *slog.Logger
	err             error // the first invalid option value
}

// WithCleanupInterval sets how often expired records are deleted in the
// background (default DefaultCleanupInterval). A d of zero or less turns
// background cleanup off: expired records are then never returned but stay
// in the collection until they are overwritten, deleted or removed by
// DeleteExpired. The background cleanup runs only on servers without TTL
// indexes (FerretDB); on MongoDB the server's TTL monitor deletes expired
// documents and this option has no effect.
func WithCleanupInterval(d time.Duration) Option {
	return func(c *config) { c.cleanupInterval = max(d, 0) }
}

// WithLogger sets the logger that reports failures of the background
// cleanup, under the key "error". The default is slog.Default(); a nil
// logger is an error.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l == nil {
			c.fail(errors.New("mongostore: nil logger"))
			return
		}
		c.logger = l
	}
}

// fail records err unless an earlier option failed.
func (c *config) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}
