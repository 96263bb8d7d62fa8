package mongostore

import (
	"log/slog"
	"time"

	"github.com/sessionkit/sessions/internal/cleanup"
)

// DefaultCleanupInterval is how often the background cleanup runs on servers
// without TTL indexes, unless WithCleanupInterval says otherwise: one
// minute, as in every store package (and as MongoDB's TTL monitor).
const DefaultCleanupInterval = cleanup.DefaultInterval

// An Option configures a Store. Options apply in order; a nil Option is
// ignored, and an invalid option value makes New return an error.
type Option func(*config) error

type config struct {
	cleanupInterval time.Duration
	logger          *slog.Logger
}

// WithCleanupInterval sets how often expired records are deleted in the
// background (default DefaultCleanupInterval). A d of zero or less turns
// background cleanup off: expired records are then never returned but stay
// in the collection until they are overwritten, deleted or removed by
// DeleteExpired. The background cleanup runs only on servers without TTL
// indexes (FerretDB); on MongoDB the server's TTL monitor deletes expired
// documents and this option has no effect.
func WithCleanupInterval(d time.Duration) Option {
	return func(c *config) error { c.cleanupInterval = d; return nil }
}

// WithLogger sets the logger of the background cleanup, which logs a
// failed run at level Warn with the error under the key "error" (the next
// run retries) and how many records a run deleted at level Debug. The
// default, and what a nil l means, is slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error { c.logger = l; return nil }
}
